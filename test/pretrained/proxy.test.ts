// Downloads honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY: a tiny proxy on 127.0.0.1 (CONNECT tunnels and plain
// forwarding, to 127.0.0.1 only, so nothing can reach the internet) sees the request, or does not.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { download } from "../../src/pretrained/download-node.ts";
import { fashionMnistDir } from "../../src/train/data/fashion-mnist-fetch-node.ts";

const BODY = randomBytes(50_000);
const SHA = createHash("sha256").update(BODY).digest("hex");
const GZ = gzipSync(Buffer.from("not really idx, but the bytes whose MD5 is checked"));
const tmp = mkdtempSync(join(tmpdir(), "convnext-proxy-"));

/** Local ports of the proxy's connections to the origin: how the origin tells a proxied request. */
const proxyPorts = new Set<number>();
/** Requests the origin server answered, and those of them that came through the proxy. */
const served: string[] = [];
const servedViaProxy: string[] = [];
const origin = createServer((req, res) => {
  served.push(req.url ?? "");
  if (proxyPorts.has(req.socket.remotePort ?? -1)) servedViaProxy.push(req.url ?? "");
  const body = req.url?.endsWith(".gz") ? GZ : BODY;
  res.writeHead(200, { "content-length": body.length }).end(body);
});

/** What the proxy was asked for: `CONNECT host:port` or `GET http://…`. */
const proxied: string[] = [];
const isLocal = (host: string) => /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host);
const proxy = createServer((req, res) => {
  // Plain forwarding: the request line holds the absolute URL.
  proxied.push(`${req.method} ${req.url}`);
  const target = new URL(req.url ?? "");
  if (!isLocal(target.host)) {
    res.writeHead(403).end();
    return;
  }
  const upstream = request(target, { method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on("socket", (s) => s.on("connect", () => proxyPorts.add(s.localPort ?? -1)));
  req.pipe(upstream);
});
proxy.on("connect", (req, socket, head) => {
  proxied.push(`CONNECT ${req.url}`);
  if (!isLocal(req.url ?? "")) {
    socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
    return;
  }
  const [host, port] = (req.url ?? "").split(":");
  const upstream = connect(Number(port), host, () => {
    proxyPorts.add(upstream.localPort ?? -1);
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on("error", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
});

let originBase = "";
let proxyUrl = "";
const PROXY_VARS = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));

function setEnv(vars: Record<string, string>) {
  for (const k of PROXY_VARS) delete process.env[k];
  Object.assign(process.env, vars);
}

before(async () => {
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  originBase = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterEach(() => {
  for (const k of PROXY_VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  proxied.length = 0;
  served.length = 0;
  servedViaProxy.length = 0;
});
after(() => {
  origin.close();
  proxy.close();
  rmSync(tmp, { recursive: true, force: true });
});

const originHost = () => new URL(originBase).host;

test("HTTP_PROXY (either case): an http download goes through the proxy and arrives intact", async () => {
  for (const vars of [{ HTTP_PROXY: proxyUrl }, { http_proxy: proxyUrl }] as Record<string, string>[]) {
    setEnv(vars);
    const path = `/via-${Object.keys(vars)[0]}.bin`;
    const dest = join(tmp, path);
    await download(`${originBase}${path}`, dest, { sha256: SHA, offline: false, retries: 0 });
    assert.deepEqual(readFileSync(dest), BODY);
    assert.ok(servedViaProxy.includes(path), `${JSON.stringify(vars)}: not through the proxy`);
  }
});

test("HTTPS_PROXY: an https download asks the proxy for a CONNECT tunnel to the host", async () => {
  setEnv({ HTTPS_PROXY: proxyUrl });
  // The origin speaks plain HTTP, so TLS fails inside the tunnel: what matters is that the tunnel was asked for.
  const url = `https://${originHost()}/weights.bin`;
  await assert.rejects(download(url, join(tmp, "tls.bin"), { offline: false, retries: 0 }));
  assert.deepEqual(proxied, [`CONNECT ${originHost()}`]);
});

test("NO_PROXY names the host: the download bypasses the proxy", async () => {
  setEnv({ HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, NO_PROXY: "example.org,127.0.0.1" });
  const dest = join(tmp, "direct.bin");
  await download(`${originBase}/direct.bin`, dest, { sha256: SHA, offline: false, retries: 0 });
  assert.deepEqual(readFileSync(dest), BODY);
  assert.deepEqual(proxied, []);
  assert.deepEqual(served, ["/direct.bin"]);
  assert.deepEqual(servedViaProxy, []);
});

test("a proxy that refuses the connection fails the download in one line naming the URL", async () => {
  // A port nothing listens on: the proxy is set but unreachable, so a direct connection must not be tried.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const deadProxy = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  setEnv({ HTTP_PROXY: deadProxy });
  const url = `${originBase}/unreachable.bin`;
  await assert.rejects(
    download(url, join(tmp, "unreachable.bin"), { offline: false, retries: 0 }),
    (e: Error) => {
      assert.ok(e.message.startsWith(`download failed: ${url}: `), e.message);
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
  assert.deepEqual(served, []);
});

test("the Fashion-MNIST download honours the proxy too", async () => {
  setEnv({ HTTP_PROXY: proxyUrl });
  const name = "t10k-labels-idx1-ubyte.gz";
  const dir = await fashionMnistDir({
    env: { CONVNEXT_CACHE: join(tmp, "cache"), CONVNEXT_FASHION_MNIST_URL: `${originBase}/fm/` },
    systemDir: join(tmp, "no-system-copy"),
    files: { [name]: createHash("md5").update(GZ).digest("hex") },
    offline: false,
  });
  assert.deepEqual(readFileSync(join(dir, name)), GZ);
  assert.deepEqual(servedViaProxy, [`/fm/${name}`]);
});
