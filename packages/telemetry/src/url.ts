/** True when the URL takes one message per request (Segment's `/v1/track`). */
export function isSingleUrl(url: string): boolean {
  try {
    return /\/v1\/track\/?$/.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/**
 * A URL fit to print: credentials in it (`https://user:password@host/`) become `<redacted>@`, as the write key is
 * redacted. Text that does not parse as a URL is redacted up to its last `@`, to be safe.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === "" && u.password === "") return url;
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1<redacted>@");
  } catch {
    return url.replace(/^(.*?\/\/)?.*@/s, (_m, scheme: string | undefined) => `${scheme ?? ""}<redacted>@`);
  }
}
