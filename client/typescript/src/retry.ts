// Retries of UNAVAILABLE with bounded exponential backoff and full jitter.

/** How unary calls are retried. Only UNAVAILABLE is retried. */
export interface RetryOptions {
  /** Attempts in all, the first included. 1 disables retries. Default 4. */
  maxAttempts?: number;
  /** Backoff before the second attempt, in ms. Default 100. */
  initialBackoffMs?: number;
  /** Upper bound of any one backoff, in ms. Default 2000. */
  maxBackoffMs?: number;
  /** Growth factor of the backoff per attempt. Default 2. */
  multiplier?: number;
}

/** RetryOptions with every field set. */
export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = Object.freeze({
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 2000,
  multiplier: 2,
});

export function resolveRetry(opts: RetryOptions | false | undefined): ResolvedRetryOptions {
  if (opts === false) return { ...DEFAULT_RETRY, maxAttempts: 1 };
  const r = { ...DEFAULT_RETRY, ...stripUndefined(opts ?? {}) };
  if (!(r.maxAttempts >= 1)) throw new RangeError("retry.maxAttempts must be >= 1");
  if (!(r.initialBackoffMs >= 0) || !(r.maxBackoffMs >= 0)) throw new RangeError("retry backoffs must be >= 0");
  if (!(r.multiplier >= 1)) throw new RangeError("retry.multiplier must be >= 1");
  return r;
}

/**
 * The delay before attempt `attempt + 1` (attempt counts from 1): full jitter
 * over an exponentially growing ceiling, capped at maxBackoffMs. A server's
 * RetryInfo hint, when larger, wins (still capped at maxBackoffMs).
 * `random` is a seam for tests.
 */
export function backoffDelayMs(
  attempt: number,
  r: ResolvedRetryOptions,
  serverHintMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(r.maxBackoffMs, r.initialBackoffMs * r.multiplier ** (attempt - 1));
  const jittered = ceiling * random();
  const hinted = serverHintMs !== undefined ? Math.max(jittered, serverHintMs) : jittered;
  return Math.min(r.maxBackoffMs, hinted);
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
