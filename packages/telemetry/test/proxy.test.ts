// Proxies: HTTP_PROXY (absolute-form), HTTPS_PROXY (CONNECT tunnel, TLS inside), NO_PROXY, a refusing proxy —
// through a real forward proxy on loopback and the real detached sender.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { startFakeCollector, tempDir } from "../src/testing.js";
import { post } from "../src/http.js";
import { bypassesProxy, proxyFor } from "../src/proxy.js";
import { hostEnv, runHost } from "./fixtures/run-host.js";

interface ForwardProxy {
  url: string;
  log: string[];
  close(): Promise<void>;
}

/** A minimal forward proxy: absolute-form requests are forwarded, CONNECT is tunnelled. Logs what it saw. */
async function startProxy(): Promise<ForwardProxy> {
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? "");
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? "").split(":");
    const up = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on("error", () => client.destroy());
    client.on("error", () => up.destroy());
  });
  server.on("connection", (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

test("NO_PROXY matching and proxy choice follow curl's rules", () => {
  const u = new URL("https://telemetry.example.com:8443/v1/batch");
  assert.equal(bypassesProxy(u, "example.com"), true);
  assert.equal(bypassesProxy(u, ".example.com"), true);
  assert.equal(bypassesProxy(u, "*.example.com"), true);
  assert.equal(bypassesProxy(u, "ample.com"), false);
  assert.equal(bypassesProxy(u, "example.com:443"), false);
  assert.equal(bypassesProxy(u, "example.com:8443"), true);
  assert.equal(bypassesProxy(u, "*"), true);
  assert.equal(bypassesProxy(new URL("http://127.0.0.1:9/"), "localhost, 127.0.0.1"), true);
  assert.equal(proxyFor(u, { HTTPS_PROXY: "http://proxy:3128" })?.host, "proxy:3128");
  assert.equal(proxyFor(u, { https_proxy: "proxy:3128" })?.href, "http://proxy:3128/");
  assert.equal(proxyFor(u, { HTTP_PROXY: "http://proxy:3128" }), undefined, "https targets use HTTPS_PROXY only");
  assert.equal(proxyFor(u, { HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "example.com" }), undefined);
});

test("HTTP_PROXY: the sender sends through the proxy (absolute-form) and the event arrives", async () => {
  const rx = await startFakeCollector();
  const proxy = await startProxy();
  try {
    const h = hostEnv(rx.url);
    await runHost(["1"], { ...h.env, HTTP_PROXY: proxy.url });
    await rx.waitForEvents(1);
    assert.deepEqual(proxy.log, [`POST ${rx.url}/v1/batch`]);
  } finally {
    await rx.close();
    await proxy.close();
  }
});

test("HTTPS_PROXY: a CONNECT tunnel, TLS to the endpoint inside it", async () => {
  const dir = tempDir("proxy-tls-");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  const bodies: string[] = [];
  let answered!: () => void;
  const got = new Promise<void>((r) => (answered = r));
  const tlsServer = createHttpsServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
    let b = "";
    req.on("data", (c: Buffer) => (b += c.toString()));
    req.on("end", () => {
      bodies.push(`${req.url} ${b}`);
      res.end('{"success":true}');
      answered();
    });
  });
  await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
  const port = (tlsServer.address() as AddressInfo).port;
  const proxy = await startProxy();
  try {
    const h = hostEnv(`https://127.0.0.1:${port}`);
    await runHost(["1"], { ...h.env, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") });
    await got;
    assert.deepEqual(proxy.log, [`CONNECT 127.0.0.1:${port}`]);
    assert.match(bodies[0] ?? "", /^\/v1\/batch \{"batch":\[\{"type":"track"/);
  } finally {
    tlsServer.closeAllConnections();
    await new Promise((r) => tlsServer.close(r));
    await proxy.close();
  }
});

test("NO_PROXY: a listed endpoint is reached directly", async () => {
  const rx = await startFakeCollector();
  const proxy = await startProxy();
  try {
    const h = hostEnv(rx.url);
    await runHost(["1"], { ...h.env, HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" });
    await rx.waitForEvents(1);
    assert.deepEqual(proxy.log, []);
  } finally {
    await rx.close();
    await proxy.close();
  }
});

test("a proxy that refuses fails fast, like any other network error", async () => {
  const closed = await startFakeCollector("refuse");
  const o = await post({
    url: "http://127.0.0.1:9/v1/batch",
    body: "{}",
    timeoutMs: 20_000,
    env: { HTTP_PROXY: closed.url },
  });
  assert.deepEqual(o, { kind: "network", code: "ECONNREFUSED" });
});
