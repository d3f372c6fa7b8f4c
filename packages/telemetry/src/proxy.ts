/**
 * `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (and their lower-case twins), as curl reads them: the proxy for a
 * target URL, or none. NO_PROXY entries are host names or domain suffixes (`example.com`, `.example.com`,
 * `*.example.com`), optionally with `:port`, IP addresses, or `*` for everything; CIDR ranges are not supported.
 */

function envOf(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function defaultPort(protocol: string): string {
  return protocol === "https:" ? "443" : "80";
}

/** Whether NO_PROXY exempts this target. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = target.port || defaultPort(target.protocol);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    let entryPort: string | undefined;
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (m) {
      entry = m[1]!;
      entryPort = m[2];
    }
    entry = entry.replace(/^\[|\]$/g, "").replace(/^\*?\./, "");
    if (entryPort !== undefined && entryPort !== port) continue;
    if (host === entry || host.endsWith("." + entry)) return true;
  }
  return false;
}

/** The proxy URL to use for `target`, or undefined for a direct connection. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const raw = target.protocol === "https:" ? envOf(env, "https_proxy") : envOf(env, "http_proxy");
  if (!raw || bypassesProxy(target, envOf(env, "no_proxy"))) return undefined;
  try {
    const u = new URL(raw.includes("://") ? raw : `http://${raw}`);
    return u.protocol === "http:" || u.protocol === "https:" ? u : undefined;
  } catch {
    return undefined;
  }
}

/** `Proxy-Authorization` for a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { "proxy-authorization": "Basic " + Buffer.from(creds).toString("base64") };
}
