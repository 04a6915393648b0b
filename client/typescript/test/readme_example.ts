// The README's examples, compiled by `npm run build:test` (never run) so that
// they keep type-checking against the published API.
import axios from "axios";
import {
  TokenbrokerClient,
  TokenbrokerError,
  adobeAxiosInterceptor,
  createAdobeFetch,
  installAdobeAxiosInterceptor,
} from "@tokenbroker/client";

export async function tenLines(): Promise<void> {
  const client = new TokenbrokerClient({ target: "127.0.0.1:50051", plaintext: true }); // a broker on loopback
  const adobeFetch = createAdobeFetch(client.tokenSource("demo")); // cached, refreshed ahead of expiry
  try {
    const res = await adobeFetch("https://platform.adobe.io/data/foundation/catalog/dataSets");
    console.log(res.status, await res.json());
  } catch (e) {
    if (e instanceof TokenbrokerError) console.error(e.codeName, e.reason, e.imsError, e.xDebugId);
  } finally { client.close(); }
}

export function withAxios(client: TokenbrokerClient): () => void {
  const source = client.tokenSource("demo");
  const api = axios.create({ baseURL: "https://platform.adobe.io" });
  api.interceptors.request.use(adobeAxiosInterceptor(source));
  return installAdobeAxiosInterceptor(api, source);
}

export function options(): TokenbrokerClient {
  return new TokenbrokerClient({
    target: "tokenbroker.tokenbroker.svc:50051",
    tls: { caFile: "/etc/tokenbroker/ca.pem" },
    callerTokenFile: "/var/run/secrets/tokens/tokenbroker",
    callerTokenReloadMs: 5_000,
    callTimeoutMs: 10_000,
    retry: { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2000, multiplier: 2 },
    channelOptions: { "grpc.keepalive_time_ms": 120_000 },
    interceptors: [],
  });
}
