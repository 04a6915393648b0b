// Retries of UNAVAILABLE with bounded exponential backoff and jitter
// (client/BEHAVIOUR.md, section 3).

/**
 * How unary calls are retried. Only UNAVAILABLE is retried. A retry that the
 * call's deadline ends returns the UNAVAILABLE it was made for, not DEADLINE_EXCEEDED.
 */
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
 * The wait before attempt `attempt + 1` (attempt counts from 1): the nominal
 * wait b = initialBackoffMs * multiplier^(attempt-1), capped at maxBackoffMs,
 * drawn uniformly from [b/2, b]. A server's RetryInfo delay wins when it is
 * longer (it is not capped: the server knows when it can answer; the
 * deadline still bounds it). `random` is a seam for tests.
 */
export function backoffDelayMs(
  attempt: number,
  r: ResolvedRetryOptions,
  serverHintMs?: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(r.maxBackoffMs, r.initialBackoffMs * r.multiplier ** (attempt - 1));
  const jittered = nominal * (0.5 + 0.5 * random());
  return serverHintMs !== undefined && serverHintMs > jittered ? serverHintMs : jittered;
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
