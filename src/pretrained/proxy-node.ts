/**
 * HTTP(S) through the proxy the environment names. Node's own fetch ignores HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY, which curl, pip and huggingface_hub all honour, so behind a corporate proxy every download would
 * fail; undici's EnvHttpProxyAgent reads them as curl does (lower case first, NO_PROXY hosts, suffixes and
 * ports go direct). undici is loaded only when a proxy variable is set: a direct download costs no start-up.
 */
type Env = Record<string, string | undefined>;

/** The proxy settings of `env`, curl's way: the lower-case name wins. */
function proxySettings(env: Env) {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  return { httpProxy: pick("http_proxy"), httpsProxy: pick("https_proxy"), noProxy: pick("no_proxy") };
}

export function proxyConfigured(env: Env = process.env): boolean {
  const s = proxySettings(env);
  return s.httpProxy !== undefined || s.httpsProxy !== undefined;
}

let agent: { key: string; dispatcher: import("undici").Dispatcher } | undefined;

/** `fetch`, through the environment's proxy when one is set. */
export async function fetchWithProxy(
  url: string,
  init: RequestInit,
  env: Env = process.env,
): Promise<Response> {
  if (!proxyConfigured(env)) return fetch(url, init);
  const undici = await import("undici");
  const settings = proxySettings(env);
  const key = JSON.stringify(settings);
  // One agent per setting keeps its connections alive across the files of one run.
  if (agent?.key !== key) {
    await agent?.dispatcher.close();
    agent = { key, dispatcher: new undici.EnvHttpProxyAgent(settings) };
  }
  // undici's fetch, not Node's: a dispatcher from a newer undici than Node bundles is not Node's to drive.
  const res = await undici.fetch(url, {
    ...(init as import("undici").RequestInit),
    dispatcher: agent.dispatcher,
  });
  return res as unknown as Response;
}
