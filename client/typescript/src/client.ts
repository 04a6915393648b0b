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
  type ImportIntegrationsResponse,
  type ListClientSecretsResponse,
  type ListIntegrationsResponse,
  type RotateClientSecretResponse,
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

/** The channel options every client starts from (channelOptions overrides them). */
export const CHANNEL_DEFAULTS: Readonly<Partial<GrpcClientOptions>> = Object.freeze({ "grpc.use_local_subchannel_pool": 1 });

/** The default deadline of a call, retries included: 10 s. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** How long a read of `callerTokenFile` stays in use before the file is read again: 5 s. */
export const DEFAULT_CALLER_TOKEN_RELOAD_MS = 5_000;

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
   * `true`: plaintext gRPC, no TLS. Only when asked for, never inferred from
   * the target: the tokens and the caller token then cross the wire in clear,
   * which is acceptable only to loopback or a Unix socket. Default false.
   */
  plaintext?: boolean;
  /**
   * TLS is the default transport, verified against the system roots. These
   * options give it a CA, a client certificate (mTLS) or the name to expect.
   * Not with `plaintext`.
   */
  tls?: TlsOptions;
  /** Sent as `authorization: Bearer <token>` on every call. */
  callerToken?: string;
  /**
   * A file holding the caller token (e.g. a Kubernetes projected service
   * account token), read again once the copy in memory is older than
   * `callerTokenReloadMs`, so rotations are picked up. A file that cannot be
   * read fails the call with UNAUTHENTICATED.
   */
  callerTokenFile?: string;
  /** How long a read of callerTokenFile stays in use, in ms. Default 5000. */
  callerTokenReloadMs?: number;
  /** @deprecated Use callerTokenReloadMs. */
  callerTokenRefreshMs?: number;
  /** Default deadline of each call (all retries included), in ms; Infinity for none. Default 10000. */
  callTimeoutMs?: number;
  /** @deprecated Use callTimeoutMs. */
  timeoutMs?: number;
  /** Retries of UNAVAILABLE for unary calls; `false` disables them. */
  retry?: RetryOptions | false;
  /**
   * Extra grpc-js channel options (e.g. `grpc.keepalive_time_ms`), over
   * CHANNEL_DEFAULTS (a subchannel pool of the client's own).
   */
  channelOptions?: Partial<GrpcClientOptions>;
  /** grpc-js client interceptors (metrics, logging). */
  interceptors?: Interceptor[];
}

/** What a client runs with, every default filled in. */
export interface ClientSettings {
  readonly target: string;
  /** False unless the client was made with `plaintext: true`. */
  readonly plaintext: boolean;
  readonly callTimeoutMs: number;
  readonly retry: Readonly<ResolvedRetryOptions>;
  readonly callerTokenReloadMs: number;
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

/** What importIntegrations imports: the file, and the optional fields of ImportIntegrationsRequest. */
export interface ImportIntegrationsInput {
  /**
   * The Adobe Developer Console "Download JSON" of a workspace
   * (`project.workspace.details.credentials[]`) or an AEM as a Cloud Service
   * service credential: its bytes, or its text (sent as UTF-8). Its secrets
   * are stored by the server, never returned or logged.
   */
  credentialFile: Uint8Array | string;
  /** The id of the integration to create; only when one credential is imported. Default: from the credential's name. */
  integrationId?: string;
  /** Import only the credential of this name (`credentials[].name`). */
  credentialName?: string;
  /** Write nothing: the response shows what would be created or updated. */
  validateOnly?: boolean;
  /** Replace an integration that exists (same auth method) instead of ALREADY_EXISTS. */
  allowUpdate?: boolean;
  /** The rotation period of every imported integration, in ms; 0: never. Unset: the server's. */
  secretRotationPeriodMs?: number;
}

/** What migrateIntegration needs besides the integration. */
export interface MigrateIntegrationInput {
  /** The OAuth scopes of the Server-to-Server credential (they replace the metascopes), e.g. ["openid", "AdobeID"]. */
  scopes: string[];
  /**
   * The client secret of the Server-to-Server credential (read it again from
   * the Developer Console). Unset: the JWT integration's stored one(s). Never
   * returned or logged.
   */
  clientSecret?: string;
  /** Migrate only if the integration's etag still matches (else ABORTED). */
  etag?: string;
}

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
  /** The options this client runs with, defaults filled in. */
  readonly settings: ClientSettings;
  private readonly callerToken: CallerToken | undefined;
  private readonly sources = new Set<TokenSource>();

  constructor(options: ClientOptions = {}) {
    this.settings = resolveSettings(options);
    this.target = this.settings.target;
    this.callerToken = callerTokenOf(options, this.settings.callerTokenReloadMs);
    const creds = channelCredentials(options);
    // A connection of its own (grpc-js shares subchannels between channels
    // to the same target by default): a new client does not inherit another
    // one's reconnect backoff after a server restart.
    const clientOptions: Partial<GrpcClientOptions> = { ...CHANNEL_DEFAULTS, ...options.channelOptions };
    if (options.tls?.serverNameOverride !== undefined) {
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
  //
  // Each call goes through the client like the token calls: its deadline,
  // its caller token, TokenbrokerError errors, and retries of UNAVAILABLE,
  // except for the calls that change integrations in a way a second attempt
  // would not repeat (create, update, delete, import, migrate): those are made
  // once, whatever the retry options. Integration arguments are an id or
  // `integrations/{id}`. Results never hold a secret: the server returns none.

  /**
   * Registers an integration with its credentials. Returns it without secrets.
   * Made once (not retried).
   * Errors: INVALID_ARGUMENT (a field, see `field`), ALREADY_EXISTS, PERMISSION_DENIED.
   */
  async createIntegration(id: string, integration: IntegrationInput, options: CallOptions = {}): Promise<Integration> {
    const res = await this.unary(
      this.integrationService.createIntegration.bind(this.integrationService),
      { integrationId: id, integration: fullIntegration(integration) },
      options,
      ONCE,
    );
    return res.integration!;
  }

  /**
   * One integration, without secrets.
   * Errors: INVALID_ARGUMENT (bad name), NOT_FOUND, PERMISSION_DENIED.
   */
  async getIntegration(integration: string, options: CallOptions = {}): Promise<Integration> {
    const res = await this.unary(
      this.integrationService.getIntegration.bind(this.integrationService),
      { name: integrationName(integration) },
      options,
    );
    return res.integration!;
  }

  /**
   * One page of integrations, in id order (pageSize 0: the server's 50), and
   * `nextPageToken`, "" after the last page.
   * Errors: INVALID_ARGUMENT (negative page size, bad page token), PERMISSION_DENIED.
   */
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

  /**
   * Changes the fields named in `updateMask` (e.g. ["display_name"]) to their
   * values in `integration`, whose `name` (an id or a name) says which one;
   * with `etag` set, only if it matches. Returns it as stored. Made once.
   * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch), PERMISSION_DENIED.
   */
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
      ONCE,
    );
    return res.integration!;
  }

  /**
   * Deletes the integration, its credentials and its cached tokens (only if
   * `etag` matches, when given). Made once.
   * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch), PERMISSION_DENIED.
   */
  async deleteIntegration(integration: string, options: CallOptions & { etag?: string } = {}): Promise<void> {
    await this.unary(
      this.integrationService.deleteIntegration.bind(this.integrationService),
      { name: integrationName(integration), etag: options.etag ?? "" },
      options,
      ONCE,
    );
  }

  /**
   * Creates (or, with `allowUpdate`, replaces) one integration per credential
   * of an Adobe Developer Console download or an AEM service credential
   * (`credentialFile`), all or none; with `validateOnly`, writes nothing and
   * answers what would be. Returns what was (or would be) imported and what was
   * skipped, without secrets. Made once (not retried).
   * Errors: INVALID_ARGUMENT (the file: the message names the JSON path; or no
   * credential to import), ALREADY_EXISTS (an id exists, no `allowUpdate`),
   * NOT_FOUND (`credentialName` matches none), FAILED_PRECONDITION
   * (`allowUpdate` of an integration of another auth method), ABORTED
   * (changed concurrently), PERMISSION_DENIED.
   */
  async importIntegrations(
    input: ImportIntegrationsInput,
    options: CallOptions = {},
  ): Promise<ImportIntegrationsResponse> {
    const file = input.credentialFile;
    return this.unary(
      this.integrationService.importIntegrations.bind(this.integrationService),
      {
        // Bytes are sent as they are (a view, not a copy of the secrets).
        credentialFile:
          typeof file === "string" ? Buffer.from(file, "utf8") : Buffer.from(file.buffer, file.byteOffset, file.byteLength),
        integrationId: input.integrationId ?? "",
        credentialName: input.credentialName ?? "",
        validateOnly: input.validateOnly ?? false,
        allowUpdate: input.allowUpdate ?? false,
        secretRotationPeriod: durationOf(input.secretRotationPeriodMs, "secretRotationPeriodMs"),
      },
      options,
      ONCE,
    );
  }

  /**
   * The credential's client secrets at the Adobe Developer Console (never
   * their values), each matched with the ones the broker stores
   * (`held`, `inUse`, `fingerprint`), and `heldUnmatchedCount`. Retried on
   * UNAVAILABLE like a read.
   * Errors: INVALID_ARGUMENT, NOT_FOUND (the integration, or the credential at
   * the Console), FAILED_PRECONDITION (not OAuth S2S, no console credential,
   * IMS or the Console refused: the message says what to do), UNAVAILABLE (IMS
   * or the Console unreachable, after the retries), PERMISSION_DENIED.
   */
  async listClientSecrets(integration: string, options: CallOptions = {}): Promise<ListClientSecretsResponse> {
    return this.unary(
      this.integrationService.listClientSecrets.bind(this.integrationService),
      { parent: integrationName(integration) },
      options,
    );
  }

  /**
   * Rotates the credential's client secret at the Developer Console. The
   * server resumes an interrupted rotation (a second call continues the same
   * one), so UNAVAILABLE is retried like a read. `state` STATE_WAITING
   * (`RotationState.STATE_WAITING`): the new secret is in use, the old one
   * waits for the grace period; call again later to finish. `immediate`
   * (a leaked secret): the old secret is deleted as soon as the new one works.
   * Errors: as listClientSecrets; FAILED_PRECONDITION also for a credential
   * holding 2 secrets, a JWT → S2S migration in progress or missing API
   * permissions; UNAVAILABLE also when IMS does not accept the new secret yet
   * (call again); ABORTED (a concurrent rotation).
   */
  async rotateClientSecret(
    integration: string,
    options: CallOptions & { immediate?: boolean } = {},
  ): Promise<RotateClientSecretResponse> {
    return this.unary(
      this.integrationService.rotateClientSecret.bind(this.integrationService),
      { parent: integrationName(integration), immediate: options.immediate ?? false },
      options,
    );
  }

  /**
   * Converts a JWT integration to OAuth Server-to-Server: same client id,
   * organization and technical account; `scopes` replace the metascopes; the
   * private key is dropped. The server mints a token with the S2S flow first:
   * refused or unreachable, nothing changes. Returns the integration as
   * stored, without secrets. Made once (not retried). Needs the admin role.
   * Errors: INVALID_ARGUMENT (a field, named), NOT_FOUND, FAILED_PRECONDITION
   * (not a JWT integration, or IMS refused the S2S credential: see `imsError`,
   * `xDebugId`), UNAVAILABLE (IMS unreachable), ABORTED (etag mismatch, or
   * changed concurrently), PERMISSION_DENIED.
   */
  async migrateIntegration(
    integration: string,
    migration: MigrateIntegrationInput,
    options: CallOptions = {},
  ): Promise<Integration> {
    const res = await this.unary(
      this.integrationService.migrateIntegration.bind(this.integrationService),
      {
        name: integrationName(integration),
        scopes: migration.scopes,
        clientSecret: migration.clientSecret ?? "",
        etag: migration.etag ?? "",
      },
      options,
      ONCE,
    );
    return res.integration!;
  }

  /** Closes the token sources and the channel. Pending calls are cancelled. */
  close(): void {
    for (const s of [...this.sources]) s.close();
    this.tokenService.close();
  }

  // ---- internals ---------------------------------------------------------

  /** The call metadata: the caller's, plus the caller token. */
  metadata(extra?: Metadata): Metadata | Promise<Metadata> {
    const md = extra ? extra.clone() : new Metadata();
    if (this.callerToken === undefined) return md;
    // Synchronous unless the caller-token file is due for a read (the hot path).
    const authorization = this.callerToken.get();
    if (typeof authorization === "string") {
      md.set("authorization", authorization);
      return md;
    }
    return authorization.then((value) => {
      md.set("authorization", value);
      return md;
    });
  }

  /**
   * Runs one unary call with the deadline (covering all attempts), the
   * retries of UNAVAILABLE, cancellation and the error mapping. The first
   * attempt is made without an async frame of its own (the hot path); a
   * failure continues in retry(). `idempotent` false (ONCE): one attempt,
   * whatever the retry options, for a call a second attempt after a lost
   * response would not repeat.
   */
  unary<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, options: CallOptions, idempotent = true): Promise<Res> {
    const call: PendingCall<Req, Res> = {
      method,
      req,
      options,
      retry: !idempotent
        ? NO_RETRY
        : options.retry === undefined
          ? this.settings.retry
          : resolveRetry(options.retry),
      // A number deadline (ms since the epoch); Infinity means none.
      deadline: Date.now() + (options.timeoutMs ?? this.settings.callTimeoutMs),
    };
    return this.attempt(call).catch((e: unknown) => this.retry(call, e));
  }

  private attempt<Req, Res>(c: PendingCall<Req, Res>): Promise<Res> {
    const md = this.metadata(c.options.metadata);
    if (md instanceof Promise) return md.then((m) => callOnce(c.method, c.req, m, c.deadline, c.options.signal));
    return callOnce(c.method, c.req, md, c.deadline, c.options.signal);
  }

  /** After attempt 1 failed with `first`: waits and tries again while the policy and the deadline allow. */
  private async retry<Req, Res>(c: PendingCall<Req, Res>, first: unknown): Promise<Res> {
    const signal = c.options.signal;
    let error = first;
    for (let attempt = 1; ; attempt++) {
      const err = TokenbrokerError.from(error);
      if (!err.retryable || attempt >= c.retry.maxAttempts || signal?.aborted) throw err;
      const delay = backoffDelayMs(attempt, c.retry, err.retryDelayMs);
      // A retry that cannot finish before the deadline would only turn a
      // meaningful UNAVAILABLE into DEADLINE_EXCEEDED.
      if (Date.now() + delay >= c.deadline) throw err;
      try {
        await sleep(delay, signal);
      } catch {
        throw cancelled(err);
      }
      // A retry that the deadline ends (in the sleep or the attempt) returns the UNAVAILABLE too.
      if (Date.now() >= c.deadline) throw err;
      try {
        return await this.attempt(c);
      } catch (e) {
        if (endedByDeadline(e, c.deadline)) throw err;
        error = e;
      }
    }
  }
}

/**
 * How early against Date.now() a Node timer, grpc-js's deadline timer
 * included, may fire: up to 1 ms (its clock is monotonic, rounded apart).
 */
const TIMER_SLACK_MS = 5;

/** Whether an attempt ended DEADLINE_EXCEEDED because the call's deadline passed. */
function endedByDeadline(e: unknown, deadline: number): boolean {
  return TokenbrokerError.from(e).code === GrpcStatus.DEADLINE_EXCEEDED && Date.now() >= deadline - TIMER_SLACK_MS;
}

/** `unary(..., ONCE)`: a call made once, never retried. */
const ONCE = false;
const NO_RETRY: Readonly<ResolvedRetryOptions> = Object.freeze(resolveRetry(false));

/** One unary call in flight, across its attempts. */
interface PendingCall<Req, Res> {
  method: UnaryMethod<Req, Res>;
  req: Req;
  options: CallOptions;
  retry: ResolvedRetryOptions;
  deadline: number;
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

function resolveSettings(options: ClientOptions): ClientSettings {
  const callTimeoutMs = options.callTimeoutMs ?? options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  if (!(callTimeoutMs > 0)) throw new RangeError("callTimeoutMs must be > 0");
  const callerTokenReloadMs =
    options.callerTokenReloadMs ?? options.callerTokenRefreshMs ?? DEFAULT_CALLER_TOKEN_RELOAD_MS;
  if (!(callerTokenReloadMs >= 0)) throw new RangeError("callerTokenReloadMs must be >= 0");
  return Object.freeze({
    target: options.target ?? process.env["TOKENBROKER_SERVER"] ?? DEFAULT_TARGET,
    plaintext: options.plaintext === true,
    callTimeoutMs,
    retry: Object.freeze(resolveRetry(options.retry)),
    callerTokenReloadMs,
  });
}

function callerTokenOf(options: ClientOptions, reloadMs: number): CallerToken | undefined {
  if (options.callerToken !== undefined && options.callerTokenFile !== undefined) {
    throw new TypeError("set callerToken or callerTokenFile, not both");
  }
  if (options.callerToken !== undefined) return CallerToken.fixed(options.callerToken);
  if (options.callerTokenFile !== undefined) return CallerToken.fromFile(options.callerTokenFile, reloadMs);
  return undefined;
}

/** TLS unless `plaintext: true`; never chosen from the target. */
function channelCredentials(options: ClientOptions): ChannelCredentials {
  const tls: unknown = options.tls;
  if (typeof tls === "boolean") {
    throw new TypeError("tls takes TlsOptions: TLS is the default, plaintext needs `plaintext: true`");
  }
  if (options.plaintext === true) {
    if (tls !== undefined) throw new TypeError("set plaintext or tls, not both");
    return grpcCredentials.createInsecure();
  }
  const t: TlsOptions = options.tls ?? {};
  const read = (contents: string | Buffer | undefined, file: string | undefined) =>
    contents !== undefined ? Buffer.from(contents) : file !== undefined ? readFileSync(file) : null;
  const ca = read(t.ca, t.caFile);
  const cert = read(t.cert, t.certFile);
  const key = read(t.key, t.keyFile);
  if ((cert === null) !== (key === null)) throw new TypeError("mTLS needs both a client certificate and its key");
  return grpcCredentials.createSsl(ca, key, cert);
}

function durationOf(ms: number | undefined, what = "minRemainingValidityMs"): Duration | undefined {
  if (ms === undefined) return undefined;
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`${what} must be a finite number >= 0`);
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

/**
 * The caller token: fixed, or read from a file and read again once the copy
 * in memory is older than `reloadMs` (concurrent calls share one read). A
 * file that cannot be read, or is empty, fails the call with UNAUTHENTICATED
 * naming the file; its contents never reach an error.
 */
class CallerToken {
  private header = "";
  private readAt = -Infinity;
  private pending: Promise<string> | undefined;

  private constructor(
    private readonly file: string | undefined,
    private readonly reloadMs: number,
  ) {}

  static fixed(token: string): CallerToken {
    const t = new CallerToken(undefined, Infinity);
    t.header = `Bearer ${token.trim()}`;
    return t;
  }

  static fromFile(file: string, reloadMs: number): CallerToken {
    return new CallerToken(file, reloadMs);
  }

  /** The `authorization` value. */
  get(): string | Promise<string> {
    if (this.file === undefined || Date.now() - this.readAt < this.reloadMs) return this.header;
    this.pending ??= this.read(this.file).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async read(file: string): Promise<string> {
    let token: string;
    try {
      token = (await readFile(file, "utf8")).trim();
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code ?? "unreadable";
      throw unauthenticated(`cannot read the caller token file '${file}' (${reason})`);
    }
    if (token === "") throw unauthenticated(`the caller token file '${file}' is empty`);
    this.header = `Bearer ${token}`;
    this.readAt = Date.now();
    return this.header;
  }
}

function unauthenticated(details: string): TokenbrokerError {
  return new TokenbrokerError({ code: GrpcStatus.UNAUTHENTICATED, details });
}
