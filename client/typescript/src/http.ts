// Helpers that put tokenbroker's headers on outgoing Adobe API requests:
// fetch (Node >= 18's global fetch, or any compatible one) and axios (an
// optional peer dependency: typed structurally, never imported).

/** What `new Headers()` accepts (HeadersInit, without needing the DOM lib). */
export type HeadersInitLike = ConstructorParameters<typeof Headers>[0];

/** Anything with headers(): a TokenSource, or your own (tests, caching). */
export interface HeaderSource {
  headers(): Promise<Record<string, string>>;
}

/**
 * A Headers object with the Adobe headers set over `init` (the
 * token source's values win: `Authorization`, `x-api-key`, ...).
 */
export async function adobeHeaders(source: HeaderSource, init?: HeadersInitLike): Promise<Headers> {
  const headers = new Headers(init);
  for (const [name, value] of Object.entries(await source.headers())) headers.set(name, value);
  return headers;
}

/** `init` with the Adobe headers merged into its headers. */
export async function withAdobeHeaders(source: HeaderSource, init: RequestInit = {}): Promise<RequestInit> {
  return { ...init, headers: await adobeHeaders(source, init.headers) };
}

/**
 * A fetch that adds the Adobe headers to every request:
 *
 *   const adobeFetch = createAdobeFetch(client.tokenSource("demo"));
 *   const res = await adobeFetch("https://platform.adobe.io/data/foundation/catalog/dataSets");
 *
 * Headers of a Request passed as `input` are kept (unless `init.headers` is
 * given, as with fetch itself).
 */
export function createAdobeFetch(source: HeaderSource, baseFetch: typeof fetch = globalThis.fetch): typeof fetch {
  if (typeof baseFetch !== "function") throw new TypeError("no fetch: pass one (Node >= 18 has it built in)");
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const base = init?.headers ?? (input instanceof Request ? input.headers : undefined);
    return baseFetch(input, { ...init, headers: await adobeHeaders(source, base) });
  };
}

/** The part of an axios request config the interceptor touches. */
export interface AxiosLikeRequestConfig {
  headers?: unknown;
}

/**
 * An axios request interceptor that sets the Adobe headers:
 *
 *   axios.interceptors.request.use(adobeAxiosInterceptor(client.tokenSource("demo")));
 */
export function adobeAxiosInterceptor(source: HeaderSource): <C extends AxiosLikeRequestConfig>(config: C) => Promise<C> {
  return async (config) => {
    const values = await source.headers();
    const h = config.headers as { set?: (name: string, value: string) => unknown } | Record<string, string> | undefined;
    if (h && typeof (h as { set?: unknown }).set === "function") {
      // axios >= 1: an AxiosHeaders instance (case-insensitive).
      for (const [name, value] of Object.entries(values)) (h as { set: (n: string, v: string) => unknown }).set(name, value);
    } else {
      config.headers = { ...((h as Record<string, string> | undefined) ?? {}), ...values };
    }
    return config;
  };
}

/** The part of an axios instance installAdobeAxiosInterceptor uses. */
export interface AxiosLikeInstance {
  interceptors: {
    request: {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      use(onFulfilled: (config: any) => any): number;
      eject(id: number): void;
    };
  };
}

/** Installs adobeAxiosInterceptor on `instance`; returns a function that removes it. */
export function installAdobeAxiosInterceptor(instance: AxiosLikeInstance, source: HeaderSource): () => void {
  const id = instance.interceptors.request.use(adobeAxiosInterceptor(source));
  return () => instance.interceptors.request.eject(id);
}
