// TokenSource: a client-side cache of one integration's token, kept fresh
// ahead of expiry (client/BEHAVIOUR.md, section 4).
//
// Design note. The server already caches and refreshes tokens; this cache
// saves the round trip (a cached token() costs no I/O) and keeps a token in
// hand while the server is briefly unreachable. Freshness comes from two
// mechanisms, so that either alone suffices:
//   1. push: the WatchAccessTokens stream delivers each token the server
//      mints (the server refreshes watched integrations at ~65-75 % of the
//      lifetime); a stream that ends is reopened after 200 ms → 30 s of
//      jittered backoff, reset once a token arrives;
//   2. pull: if nothing newer has arrived once `refreshAheadFraction` of the
//      lifetime remains (default: at 80 %), a timer asks GetAccessToken with
//      min_remaining_validity = half a lifetime, which makes the server mint
//      a successor if it has none.
// A caller is never handed a token with less than the minimum validity left:
// the user's `minValidityMs`, else the server's rule (60 s, capped at 10 % of
// the lifetime). It then waits for a GetAccessToken that asks for that much.
// Every fetch is single-flight: any number of concurrent callers share one
// request.
import { status as GrpcStatus, type ClientReadableStream, type StatusObject } from "@grpc/grpc-js";
import type { CallOptions, Token, TokenbrokerClient } from "./client.js";
import { TokenbrokerError } from "./errors.js";
import { logger } from "./log.js";
import type { WatchAccessTokensResponse } from "./gen/tokenbroker/v1/token_service.js";

/** Options of a TokenSource. */
export interface TokenSourceOptions {
  /** Follow the WatchAccessTokens stream. Default true. */
  watch?: boolean;
  /**
   * Ask GetAccessToken for a successor once this fraction of the token's
   * lifetime remains and the stream has brought nothing newer. Default 0.2.
   */
  refreshAheadFraction?: number;
  /**
   * Never hand out a token with less than this left, in ms; callers then wait
   * for a new one, asked for with this min_remaining_validity. Unset (the
   * default): the server's rule, 60 s capped at 10 % of the token's lifetime,
   * and the first request sends none.
   */
  minValidityMs?: number;
  /** The clock the freshness decisions read, in epoch ms. Default Date.now; for tests. */
  now?: () => number;
  /** Deadline, retries and metadata of the GetAccessToken / GetRequestHeaders calls. */
  callOptions?: Omit<CallOptions, "signal">;
  /** Called with every new token (from a fetch or the stream). */
  onToken?: (token: Token) => void;
  /** Called with background failures (stream errors, ahead-of-expiry refreshes). */
  onError?: (error: TokenbrokerError) => void;
}

/** Counters, for tests and metrics. */
export interface TokenSourceStats {
  /** GetAccessToken calls made. */
  fetches: number;
  /** GetRequestHeaders calls made. */
  headerFetches: number;
  /** Tokens received on the watch stream (including ones already known). */
  streamTokens: number;
  /** Watch streams opened. */
  streamsOpened: number;
  /** Watch streams that ended (or failed to open) and were reopened later. */
  watchRestarts: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_MIN_VALIDITY_MS = 12 * 3600 * 1000;
const STREAM_BACKOFF_INITIAL_MS = 200;
/** The server's rule for the minimum validity (server/broker/refresh_policy.cc). */
const SERVER_MIN_VALIDITY_MS = 60_000;
const SERVER_MIN_VALIDITY_FRACTION = 0.1;
const STREAM_BACKOFF_MAX_MS = 30_000;

interface HeaderTemplate {
  generation: number;
  headers: Record<string, string>;
  authorizationKey: string;
}

/**
 * A cached, self-refreshing token of one integration. Create it with
 * `client.tokenSource(id)`; close it (or the client) when done: the watch
 * stream keeps the process alive until then. Safe for concurrent callers.
 */
export class TokenSource {
  readonly integration: string;
  readonly stats: TokenSourceStats = { fetches: 0, headerFetches: 0, streamTokens: 0, streamsOpened: 0, watchRestarts: 0 };
  /** The minimum validity the user set; undefined: the server's rule. */
  readonly minValidityMs: number | undefined;

  private readonly watch: boolean;
  private readonly refreshAheadFraction: number;
  private readonly now: () => number;
  private readonly callOptions: Omit<CallOptions, "signal">;
  private readonly onTokenCb: ((t: Token) => void) | undefined;
  private readonly onErrorCb: ((e: TokenbrokerError) => void) | undefined;

  private current: Token | undefined;
  private refreshAt = 0; // epoch ms: from here on, look for a successor
  private usableUntil = 0; // epoch ms: from here on, do not hand it out
  private generation = 0; // bumped on every new token
  private inflight: Promise<Token> | undefined;
  private template: HeaderTemplate | undefined;
  private templateInflight: { generation: number; promise: Promise<HeaderTemplate> } | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stream: ClientReadableStream<WatchAccessTokensResponse> | undefined;
  private streamStarting = false;
  private streamTimer: NodeJS.Timeout | undefined;
  private streamFailures = 0;
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];

  /** Use `client.tokenSource()`. */
  constructor(
    private readonly client: TokenbrokerClient,
    integration: string,
    options: TokenSourceOptions = {},
  ) {
    this.integration = integration;
    this.watch = options.watch ?? true;
    this.refreshAheadFraction = options.refreshAheadFraction ?? 0.2;
    if (!(this.refreshAheadFraction > 0 && this.refreshAheadFraction < 1)) {
      throw new RangeError("refreshAheadFraction must be in (0, 1)");
    }
    this.minValidityMs = options.minValidityMs;
    if (this.minValidityMs !== undefined && !(this.minValidityMs >= 0)) {
      throw new RangeError("minValidityMs must be >= 0");
    }
    this.now = options.now ?? Date.now;
    this.callOptions = options.callOptions ?? {};
    this.onTokenCb = options.onToken;
    this.onErrorCb = options.onError;
  }

  /**
   * A valid token: the cached one when it is fresh (no I/O), else one fetched
   * by a single request shared with every concurrent caller.
   */
  async token(): Promise<Token> {
    if (this.closed) throw closedError();
    this.ensureWatching();
    const t = this.current;
    if (t !== undefined) {
      const now = this.now();
      if (now < this.refreshAt) return t;
      if (now < this.usableUntil) {
        this.refreshInBackground();
        return t;
      }
    }
    return this.fetch();
  }

  /** The bearer token string of token(). */
  async accessToken(): Promise<string> {
    return (await this.token()).accessToken;
  }

  /**
   * The headers an Adobe API call needs (`Authorization`, `x-api-key`, and
   * `x-gw-ims-org-id` / `x-sandbox-name` where configured), as a new object.
   * The non-token headers come from GetRequestHeaders, asked again whenever
   * the token changes (so integration updates show up); `Authorization`
   * always carries token()'s token.
   */
  async headers(): Promise<Record<string, string>> {
    const t = await this.token();
    const generation = this.generation;
    let tpl = this.template;
    if (tpl === undefined || tpl.generation < generation) tpl = await this.fetchTemplate(generation);
    const out = { ...tpl.headers };
    out[tpl.authorizationKey] = `Bearer ${t.accessToken}`;
    return out;
  }

  /** Stops the stream and timers; later calls reject with CANCELLED. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.streamTimer);
    this.stream?.cancel();
    this.stream = undefined;
    for (const l of this.closeListeners.splice(0)) l();
  }

  /** @internal Called once on close (the client forgets the source). */
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  // ---- fetching ----------------------------------------------------------

  /** GetAccessToken, single-flight. Resolves with the newest token known. */
  private fetch(): Promise<Token> {
    if (this.inflight) return this.inflight;
    const minRemainingValidityMs = this.requestedValidityMs(this.current, this.now());
    this.stats.fetches++;
    const p = this.client
      .getAccessToken(this.integration, {
        ...this.callOptions,
        ...(minRemainingValidityMs !== undefined ? { minRemainingValidityMs } : {}),
      })
      .then((t) => {
        if (this.closed) throw closedError();
        this.accept(t);
        return this.current!;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    this.inflight = p;
    return p;
  }

  /**
   * The min_remaining_validity to ask for: the user's minimum, else none
   * before the first token and the server's rule for the cached token's
   * lifetime after it (so that a server with a lower --min-validity cannot
   * answer with a token this cache would refuse). Refreshing ahead, while the
   * cached token is still usable: half a lifetime, so that the server returns
   * (or mints) a successor, not the same token.
   */
  private requestedValidityMs(cur: Token | undefined, now: number): number | undefined {
    if (cur === undefined) return this.minValidityMs;
    const needed = this.minValidityFor(cur);
    if (now >= this.usableUntil) return needed;
    return Math.max(needed, Math.min(MAX_MIN_VALIDITY_MS, Math.ceil(this.lifetimeMs(cur) / 2)));
  }

  /** The user's minimum validity, else the server's rule for `t`'s lifetime. */
  private minValidityFor(t: Token): number {
    if (this.minValidityMs !== undefined) return this.minValidityMs;
    return Math.min(SERVER_MIN_VALIDITY_MS, SERVER_MIN_VALIDITY_FRACTION * this.lifetimeMs(t));
  }

  private refreshInBackground(): void {
    if (this.inflight || this.closed) return;
    this.fetch().then(
      () => this.afterBackgroundRefresh(),
      (err) => {
        this.report(TokenbrokerError.from(err));
        this.afterBackgroundRefresh();
      },
    );
  }

  /** When a background refresh brought nothing newer, try again later. */
  private afterBackgroundRefresh(): void {
    const cur = this.current;
    if (this.closed || cur === undefined) return;
    const now = this.now();
    if (now < this.refreshAt) return; // a successor arrived: accept() scheduled the timer
    const remaining = cur.expireTime.getTime() - now;
    if (remaining <= 0) return; // expired: the next caller fetches
    this.setRefreshTimer(Math.min(30_000, Math.max(500, remaining / 4)));
  }

  private fetchTemplate(generation: number): Promise<HeaderTemplate> {
    const pending = this.templateInflight;
    if (pending && pending.generation >= generation) return pending.promise;
    this.stats.headerFetches++;
    const promise = this.client
      .getRequestHeaders(this.integration, this.callOptions)
      .then((r) => {
        const authorizationKey = Object.keys(r.headers).find((k) => k.toLowerCase() === "authorization");
        const tpl: HeaderTemplate = { generation, headers: r.headers, authorizationKey: authorizationKey ?? "Authorization" };
        if (this.template === undefined || this.template.generation <= generation) this.template = tpl;
        return tpl;
      })
      .finally(() => {
        if (this.templateInflight?.promise === promise) this.templateInflight = undefined;
      });
    this.templateInflight = { generation, promise };
    return promise;
  }

  /** Takes `t` if it is newer than the cached token. Returns whether it did. */
  private accept(t: Token): boolean {
    const cur = this.current;
    if (cur !== undefined && t.expireTime.getTime() <= cur.expireTime.getTime()) return false;
    const expire = t.expireTime.getTime();
    const lifetime = this.lifetimeMs(t);
    this.current = t;
    this.generation++;
    this.usableUntil = expire - this.minValidityFor(t);
    // Never serve from the fast path past the minimum validity.
    this.refreshAt = Math.min(expire - this.refreshAheadFraction * lifetime, this.usableUntil);
    this.setRefreshTimer(this.refreshAt - this.now());
    if (this.onTokenCb) {
      try {
        this.onTokenCb(t);
      } catch {
        // A listener's failure is its own.
      }
    }
    return true;
  }

  private lifetimeMs(t: Token): number {
    const issue = t.issueTime.getTime();
    const expire = t.expireTime.getTime();
    return Math.max(1, expire - (issue > 0 && issue < expire ? issue : this.now()));
  }

  private setRefreshTimer(delayMs: number): void {
    clearTimeout(this.refreshTimer);
    if (this.closed) return;
    // unref: a pending refresh alone does not keep the process alive.
    this.refreshTimer = setTimeout(() => this.onRefreshTimer(), Math.min(MAX_TIMER_MS, Math.max(0, delayMs)));
    this.refreshTimer.unref();
  }

  private onRefreshTimer(): void {
    if (this.closed || this.current === undefined) return;
    if (this.now() < this.refreshAt) {
      this.setRefreshTimer(this.refreshAt - this.now());
      return;
    }
    this.refreshInBackground();
  }

  /** Forgets the cached token (the server said the integration is gone or unusable). */
  private invalidate(): void {
    this.current = undefined;
    this.template = undefined;
    this.generation++;
    this.refreshAt = this.usableUntil = 0;
    clearTimeout(this.refreshTimer);
  }

  // ---- the watch stream --------------------------------------------------

  private ensureWatching(): void {
    if (!this.watch || this.stream || this.streamStarting || this.streamTimer || this.closed) return;
    this.streamStarting = true;
    this.client.openWatchStream(this.integration).then(
      (call) => {
        this.streamStarting = false;
        if (this.closed) {
          call.cancel();
          return;
        }
        this.attach(call);
      },
      (err) => {
        this.streamStarting = false;
        const e = TokenbrokerError.from(err);
        this.report(e);
        this.reconnectLater(e);
      },
    );
  }

  private attach(call: ClientReadableStream<WatchAccessTokensResponse>): void {
    this.stats.streamsOpened++;
    this.stream = call;
    let error: unknown;
    call.on("data", (msg: WatchAccessTokensResponse) => {
      this.streamFailures = 0;
      this.stats.streamTokens++;
      const t = msg.token;
      if (t?.expireTime === undefined) return;
      this.accept({
        accessToken: t.accessToken,
        tokenType: t.tokenType,
        issueTime: t.issueTime ?? new Date(0),
        expireTime: t.expireTime,
        integration: t.integration,
      });
    });
    call.on("error", (err: unknown) => {
      error = err;
    });
    // grpc-js emits "status" last, after "error" when the status is not OK.
    call.on("status", (s: StatusObject) => {
      if (this.stream === call) this.stream = undefined;
      if (this.closed) return;
      let e: TokenbrokerError | undefined;
      if (s.code !== GrpcStatus.OK) {
        e = TokenbrokerError.from(error ?? Object.assign(new Error(s.details), s));
        if (
          e.code === GrpcStatus.NOT_FOUND ||
          e.code === GrpcStatus.FAILED_PRECONDITION ||
          e.code === GrpcStatus.PERMISSION_DENIED ||
          e.code === GrpcStatus.UNAUTHENTICATED
        ) {
          this.invalidate();
        }
        this.report(e);
      }
      this.reconnectLater(e);
    });
  }

  /** Reopens the stream after a jittered, growing wait; counted and logged. */
  private reconnectLater(cause?: TokenbrokerError): void {
    if (this.closed) return;
    this.streamFailures++;
    this.stats.watchRestarts++;
    const ceiling = Math.min(STREAM_BACKOFF_MAX_MS, STREAM_BACKOFF_INITIAL_MS * 2 ** (this.streamFailures - 1));
    const delay = ceiling * (0.5 + 0.5 * Math.random());
    const why = cause ? ` (${cause.codeName})` : "";
    logger().warn(`${this.integration}: watch stream ended${why}, reopening in ${Math.round(delay)} ms`);
    this.streamTimer = setTimeout(() => {
      this.streamTimer = undefined;
      this.ensureWatching();
    }, delay);
    this.streamTimer.unref();
  }

  private report(err: TokenbrokerError): void {
    if (!this.onErrorCb) return;
    try {
      this.onErrorCb(err);
    } catch {
      // A listener's failure is its own.
    }
  }
}

function closedError(): TokenbrokerError {
  return new TokenbrokerError({ code: GrpcStatus.CANCELLED, details: "token source is closed" });
}
