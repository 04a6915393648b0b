// TokenbrokerClient: one channel to a tokenbroker server, with the
// connection options (plaintext, TLS, mTLS, caller token), per-call
// deadlines, retries of UNAVAILABLE, typed errors and the token source.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import {
  credentials as grpcCredentials,
  Metadata,
  status as GrpcStatus,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ClientOptions as GrpcClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from "@grpc/grpc-js";
import type { Duration } from "./gen/google/protobuf/duration.js";
import type { Integration } from "./gen/tokenbroker/v1/integration.js";
import {
  IntegrationServiceClient,
  type ListIntegrationsResponse,
} from "./gen/tokenbroker/v1/integration_service.js";
import {
  TokenServiceClient,
  type AccessToken as PbAccessToken,
  type WatchAccessTokensResponse,
} from "./gen/tokenbroker/v1/token_service.js";
import { TokenbrokerError } from "./errors.js";
import { backoffDelayMs, resolveRetry, sleep, type ResolvedRetryOptions, type RetryOptions } from "./retry.js";
import { TokenSource, type TokenSourceOptions } from "./token_source.js";

/** The default server, as tokenctl: $TOKENBROKER_SERVER, else 127.0.0.1:50051. */
export const DEFAULT_TARGET = "127.0.0.1:50051";

/** TLS towards the server. Omitted CA: the system's roots. */
export interface TlsOptions {
  /** PEM CA bundle to verify the server with (file path). */
  caFile?: string;
  /** PEM CA bundle to verify the server with (contents). */
  ca?: string | Buffer;
  /** mTLS: the client certificate chain, PEM (file path). Needs keyFile/key. */
  certFile?: string;
  /** mTLS: the client certificate chain, PEM (contents). */
  cert?: string | Buffer;
  /** mTLS: the client private key, PEM (file path). */
  keyFile?: string;
  /** mTLS: the client private key, PEM (contents). */
  key?: string | Buffer;
  /** Verify the server certificate for this name instead of the target's host. */
  serverNameOverride?: string;
}

/** Options of a TokenbrokerClient. Every field is optional. */
export interface ClientOptions {
  /** `host:port` (or any grpc-js target). Default $TOKENBROKER_SERVER, else 127.0.0.1:50051. */
  target?: string;
  /**
   * Transport security. `false`/omitted: plaintext (loopback or a mesh that
   * encrypts); `true`: TLS with the system roots; an object: TLS with a CA
   * file and/or a client certificate (mTLS).
   */
  tls?: boolean | TlsOptions;
  /** Sent as `authorization: Bearer <token>` on every call. */
  callerToken?: string;
  /**
   * A file holding the caller token (e.g. a Kubernetes projected service
   * account token); re-read every `callerTokenRefreshMs` so rotations are
   * picked up.
   */
  callerTokenFile?: string;
  /** How often callerTokenFile is re-read, in ms. Default 60000. */
  callerTokenRefreshMs?: number;
  /** Default deadline of each call (all retries included), in ms; Infinity for none. Default 10000. */
  timeoutMs?: number;
  /** Retries of UNAVAILABLE for unary calls; `false` disables them. */
  retry?: RetryOptions | false;
  /** Extra grpc-js channel options (e.g. `grpc.keepalive_time_ms`). */
  channelOptions?: Partial<GrpcClientOptions>;
  /** grpc-js client interceptors (metrics, logging). */
  interceptors?: Interceptor[];
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline of this call (all retries included), in ms. */
  timeoutMs?: number;
  /** Cancels the call (and its retries); it then rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Retries of this call, overriding the client's. */
  retry?: RetryOptions | false;
  /** Extra metadata to send. */
  metadata?: Metadata;
}

/** An IMS access token. */
export interface Token {
  /** The bearer token. Secret: do not log it. */
  accessToken: string;
  /** Always `bearer`. */
  tokenType: string;
  /** When IMS issued it. */
  issueTime: Date;
  /** When it stops being valid. */
  expireTime: Date;
  /** `integrations/{id}`. */
  integration: string;
}

/** What GetRequestHeaders returns. */
export interface RequestHeaders {
  /** Header name → value, in the server's order: `Authorization`, `x-api-key`, ... */
  headers: Record<string, string>;
  /** When the token in `Authorization` expires. */
  expireTime: Date;
}

/** Options of getAccessToken / getRequestHeaders. */
export interface TokenCallOptions extends CallOptions {
  /** The token returned stays valid at least this long (ms). Default: the server's. */
  minRemainingValidityMs?: number;
}

/** An integration to create: `credentials` set, output-only fields omitted. */
export type IntegrationInput = Partial<Omit<Integration, "credentials">> & {
  credentials?: { clientSecrets?: string[]; privateKeyPem?: string };
};

/** `demo` or `integrations/demo` → `integrations/demo`. */
export function integrationName(idOrName: string): string {
  return idOrName.startsWith("integrations/") ? idOrName : `integrations/${idOrName}`;
}

type UnaryMethod<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: Partial<GrpcCallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/**
 * A client of one tokenbroker server: TokenService and IntegrationService on
 * one channel. Safe for any number of concurrent callers. Every method
 * rejects with a TokenbrokerError. Call close() when done (a watch stream or
 * token source keeps the process alive until then).
 */
export class TokenbrokerClient {
  /** The generated TokenService stub, for anything this class does not wrap. */
  readonly tokenService: TokenServiceClient;
  /** The generated IntegrationService stub (same channel). */
  readonly integrationService: IntegrationServiceClient;
  readonly target: string;
  private readonly timeoutMs: number;
  private readonly retry: ResolvedRetryOptions;
  private readonly callerToken: CallerToken | undefined;
  private readonly sources = new Set<TokenSource>();

  constructor(options: ClientOptions = {}) {
    this.target = options.target ?? process.env["TOKENBROKER_SERVER"] ?? DEFAULT_TARGET;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retry = resolveRetry(options.retry);
    if (options.callerToken !== undefined && options.callerTokenFile !== undefined) {
      throw new TypeError("set callerToken or callerTokenFile, not both");
    }
    this.callerToken =
      options.callerToken !== undefined
        ? new CallerToken(options.callerToken)
        : options.callerTokenFile !== undefined
          ? new CallerToken(undefined, options.callerTokenFile, options.callerTokenRefreshMs ?? 60_000)
          : undefined;
    const creds = channelCredentials(options.tls);
    const clientOptions: Partial<GrpcClientOptions> = { ...options.channelOptions };
    if (typeof options.tls === "object" && options.tls.serverNameOverride !== undefined) {
      clientOptions["grpc.ssl_target_name_override"] = options.tls.serverNameOverride;
    }
    if (options.interceptors) clientOptions.interceptors = options.interceptors;
    this.tokenService = new TokenServiceClient(this.target, creds, clientOptions);
    this.integrationService = new IntegrationServiceClient(this.target, creds, {
      ...clientOptions,
      channelOverride: this.tokenService.getChannel(),
    });
  }

  // ---- TokenService ------------------------------------------------------

  /** A valid access token of the integration (`id` or `integrations/id`). */
  async getAccessToken(integration: string, options: TokenCallOptions = {}): Promise<Token> {
    const res = await this.unary(
      this.tokenService.getAccessToken.bind(this.tokenService),
      { name: integrationName(integration), minRemainingValidity: durationOf(options.minRemainingValidityMs) },
      options,
    );
    return toToken(res.token);
  }

  /** The headers an Adobe API call needs: Authorization, x-api-key, ... */
  async getRequestHeaders(integration: string, options: TokenCallOptions = {}): Promise<RequestHeaders> {
    const res = await this.unary(
      this.tokenService.getRequestHeaders.bind(this.tokenService),
      { name: integrationName(integration), minRemainingValidity: durationOf(options.minRemainingValidityMs) },
      options,
    );
    const headers: Record<string, string> = {};
    for (const h of res.headers) headers[h.name] = h.value;
    return { headers, expireTime: res.expireTime ?? new Date(0) };
  }

  /** Mints a new token now (concurrent refreshes share one exchange). */
  async refreshAccessToken(integration: string, options: CallOptions = {}): Promise<Token> {
    const res = await this.unary(
      this.tokenService.refreshAccessToken.bind(this.tokenService),
      { name: integrationName(integration) },
      options,
    );
    return toToken(res.token);
  }

  /**
   * The integration's current token, then every new one, until the loop
   * breaks, `signal` aborts, or the stream fails (a TokenbrokerError; NOT_FOUND
   * when the integration is deleted). No deadline and no retries: a token
   * source reconnects for you.
   */
  async *watchAccessTokens(
    integration: string,
    options: Omit<CallOptions, "timeoutMs" | "retry"> = {},
  ): AsyncGenerator<Token, void, undefined> {
    const md = await this.metadata(options.metadata);
    const call = this.tokenService.watchAccessTokens({ name: integrationName(integration) }, md);
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const msg of call as AsyncIterable<WatchAccessTokensResponse>) {
        yield toToken(msg.token);
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw TokenbrokerError.from(err);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  /**
   * Opens the raw WatchAccessTokens stream (grpc-js events). Used by
   * TokenSource; prefer watchAccessTokens().
   */
  async openWatchStream(integration: string): Promise<ClientReadableStream<WatchAccessTokensResponse>> {
    const md = await this.metadata();
    return this.tokenService.watchAccessTokens({ name: integrationName(integration) }, md);
  }

  /**
   * A token source for one integration: caches the token, follows the watch
   * stream, refreshes ahead of expiry, and shares one request among
   * concurrent callers. Closed with the client.
   */
  tokenSource(integration: string, options: TokenSourceOptions = {}): TokenSource {
    const source = new TokenSource(this, integrationName(integration), options);
    this.sources.add(source);
    source.onClose(() => this.sources.delete(source));
    return source;
  }

  // ---- IntegrationService ------------------------------------------------

  /** Registers an integration with its credentials. Returns it without secrets. */
  async createIntegration(id: string, integration: IntegrationInput, options: CallOptions = {}): Promise<Integration> {
    const res = await this.unary(
      this.integrationService.createIntegration.bind(this.integrationService),
      { integrationId: id, integration: fullIntegration(integration) },
      options,
    );
    return res.integration!;
  }

  /** One integration, without secrets. */
  async getIntegration(integration: string, options: CallOptions = {}): Promise<Integration> {
    const res = await this.unary(
      this.integrationService.getIntegration.bind(this.integrationService),
      { name: integrationName(integration) },
      options,
    );
    return res.integration!;
  }

  /** One page of integrations, in id order. */
  async listIntegrations(
    page: { pageSize?: number; pageToken?: string } = {},
    options: CallOptions = {},
  ): Promise<ListIntegrationsResponse> {
    return this.unary(
      this.integrationService.listIntegrations.bind(this.integrationService),
      { pageSize: page.pageSize ?? 0, pageToken: page.pageToken ?? "" },
      options,
    );
  }

  /** Every integration, fetching pages as the loop goes. */
  async *listAllIntegrations(options: CallOptions & { pageSize?: number } = {}): AsyncGenerator<Integration> {
    let pageToken = "";
    do {
      const page = await this.listIntegrations({ pageSize: options.pageSize ?? 0, pageToken }, options);
      yield* page.integrations;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** Changes the fields named in `updateMask` (e.g. ["display_name"]). */
  async updateIntegration(
    integration: IntegrationInput & { name: string },
    updateMask: string[],
    options: CallOptions = {},
  ): Promise<Integration> {
    const res = await this.unary(
      this.integrationService.updateIntegration.bind(this.integrationService),
      {
        integration: fullIntegration({ ...integration, name: integrationName(integration.name) }),
        updateMask,
      },
      options,
    );
    return res.integration!;
  }

  /** Deletes the integration (only if `etag` matches, when given). */
  async deleteIntegration(integration: string, options: CallOptions & { etag?: string } = {}): Promise<void> {
    await this.unary(
      this.integrationService.deleteIntegration.bind(this.integrationService),
      { name: integrationName(integration), etag: options.etag ?? "" },
      options,
    );
  }

  /** Closes the token sources and the channel. Pending calls are cancelled. */
  close(): void {
    for (const s of [...this.sources]) s.close();
    this.tokenService.close();
  }

  // ---- internals ---------------------------------------------------------

  /** The call metadata: the caller's, plus the caller token. */
  async metadata(extra?: Metadata): Promise<Metadata> {
    const md = extra ? extra.clone() : new Metadata();
    if (this.callerToken) md.set("authorization", `Bearer ${await this.callerToken.get()}`);
    return md;
  }

  /**
   * Runs one unary call with the deadline (covering all attempts), the
   * retries of UNAVAILABLE, cancellation and the error mapping.
   */
  async unary<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, options: CallOptions): Promise<Res> {
    const retry = options.retry === undefined ? this.retry : resolveRetry(options.retry);
    const deadline = Date.now() + (options.timeoutMs ?? this.timeoutMs);
    const signal = options.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        const md = await this.metadata(options.metadata);
        // A number deadline (ms since the epoch); Infinity means none.
        return await callOnce(method, req, md, deadline, signal);
      } catch (e) {
        const err = TokenbrokerError.from(e);
        if (!err.retryable || attempt >= retry.maxAttempts || signal?.aborted) throw err;
        const delay = backoffDelayMs(attempt, retry, err.retryDelayMs);
        if (Date.now() + delay >= deadline) throw err;
        try {
          await sleep(delay, signal);
        } catch {
          throw cancelled(err);
        }
      }
    }
  }
}

function callOnce<Req, Res>(
  method: UnaryMethod<Req, Res>,
  req: Req,
  md: Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const call = method(req, md, { deadline }, (err, res) => {
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(res);
    });
    const onAbort = () => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function cancelled(cause?: unknown): TokenbrokerError {
  return new TokenbrokerError({ code: GrpcStatus.CANCELLED, details: "call cancelled by the caller", cause });
}

function channelCredentials(tls: ClientOptions["tls"]): ChannelCredentials {
  if (!tls) return grpcCredentials.createInsecure();
  const t: TlsOptions = tls === true ? {} : tls;
  const read = (contents: string | Buffer | undefined, file: string | undefined) =>
    contents !== undefined ? Buffer.from(contents) : file !== undefined ? readFileSync(file) : null;
  const ca = read(t.ca, t.caFile);
  const cert = read(t.cert, t.certFile);
  const key = read(t.key, t.keyFile);
  if ((cert === null) !== (key === null)) throw new TypeError("mTLS needs both a client certificate and its key");
  return grpcCredentials.createSsl(ca, key, cert);
}

function durationOf(ms: number | undefined): Duration | undefined {
  if (ms === undefined) return undefined;
  if (!(ms >= 0)) throw new RangeError("minRemainingValidityMs must be >= 0");
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function toToken(t: PbAccessToken | undefined): Token {
  if (!t || !t.expireTime) {
    throw new TokenbrokerError({ code: GrpcStatus.INTERNAL, details: "server sent no token" });
  }
  return {
    accessToken: t.accessToken,
    tokenType: t.tokenType,
    issueTime: t.issueTime ?? new Date(0),
    expireTime: t.expireTime,
    integration: t.integration,
  };
}

function fullIntegration(i: IntegrationInput): Integration {
  return {
    name: "",
    displayName: "",
    authMethod: 0,
    clientId: "",
    orgId: "",
    technicalAccountId: "",
    scopes: [],
    metascopes: [],
    imsUrl: "",
    sandboxName: "",
    state: 0,
    etag: "",
    includeOrgHeader: false,
    ...i,
    credentials: i.credentials
      ? { clientSecrets: i.credentials.clientSecrets ?? [], privateKeyPem: i.credentials.privateKeyPem ?? "" }
      : undefined,
  } as Integration;
}

/** The caller token, fixed or re-read from a file now and then. */
class CallerToken {
  private value: string | undefined;
  private readAt = 0;
  private pending: Promise<string> | undefined;

  constructor(
    fixed: string | undefined,
    private readonly file?: string,
    private readonly refreshMs = 60_000,
  ) {
    if (fixed !== undefined) {
      this.value = fixed.trim();
      this.readAt = Infinity;
    } else {
      // Read once now so a missing file fails at construction, not mid-call.
      this.value = readFileSync(file!, "utf8").trim();
      this.readAt = Date.now();
    }
  }

  get(): string | Promise<string> {
    if (Date.now() - this.readAt < this.refreshMs) return this.value!;
    this.pending ??= readFile(this.file!, "utf8")
      .then(
        (v) => {
          this.value = v.trim();
          return this.value;
        },
        // Keep the last good token when the file is briefly missing mid-rotation.
        () => this.value!,
      )
      .finally(() => {
        this.readAt = Date.now();
        this.pending = undefined;
      });
    return this.pending;
  }
}
