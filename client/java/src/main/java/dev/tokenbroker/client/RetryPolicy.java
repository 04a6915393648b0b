package dev.tokenbroker.client;

import java.time.Duration;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * How the client retries calls that failed with {@code UNAVAILABLE}: bounded exponential backoff
 * with jitter, within the call's deadline.
 *
 * <p>Before the n-th retry the nominal wait is {@code b = min(maxBackoff, initialBackoff *
 * multiplier^(n-1))}; the wait is drawn uniformly from {@code [b/2, b]}. A server's
 * {@code google.rpc.RetryInfo} lengthens the wait, never shortens it. No retry starts when the
 * wait would end past the deadline, and a retry that the deadline ends (during the wait or the
 * attempt) throws the {@code UNAVAILABLE} that caused it, with its retry delay, not {@code
 * DEADLINE_EXCEEDED}. Only reads and idempotent token calls are retried; {@code
 * CreateIntegration}, {@code UpdateIntegration} and {@code DeleteIntegration} are not.
 *
 * <p>Immutable and thread-safe.
 */
public final class RetryPolicy {
  private static final RetryPolicy DEFAULTS = builder().build();

  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final double multiplier;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.multiplier = b.multiplier;
  }

  /** 4 attempts, 100 ms initial backoff doubling up to 2 s, each wait drawn from [b/2, b]. */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /** One attempt: no retries. */
  public static RetryPolicy none() {
    return builder().maxAttempts(1).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public int maxAttempts() {
    return maxAttempts;
  }

  public Duration initialBackoff() {
    return initialBackoff;
  }

  public Duration maxBackoff() {
    return maxBackoff;
  }

  public double multiplier() {
    return multiplier;
  }

  /**
   * The wait before retry number {@code retry} (1 for the first retry).
   *
   * @param random a source of uniform values in [0, 1)
   */
  public Duration backoff(int retry, DoubleSupplier random) {
    // Cap the exponent: 2^60 of anything is past any maxBackoff.
    int exponent = Math.min(Math.max(0, retry - 1), 60);
    double nominal = initialBackoff.toNanos() * Math.pow(multiplier, exponent);
    nominal = Math.min(nominal, maxBackoff.toNanos());
    double u = Math.min(1, Math.max(0, random.getAsDouble()));
    return Duration.ofNanos((long) (nominal * (0.5 + 0.5 * u)));
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxAttempts="
        + maxAttempts
        + ", initialBackoff="
        + initialBackoff
        + ", maxBackoff="
        + maxBackoff
        + ", multiplier="
        + multiplier
        + '}';
  }

  /** Builds a {@link RetryPolicy}; every setter validates its argument. */
  public static final class Builder {
    private int maxAttempts = 4;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(2);
    private double multiplier = 2.0;

    private Builder() {}

    /** Attempts in all, the first included; at least 1. */
    public Builder maxAttempts(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1, got " + n);
      }
      this.maxAttempts = n;
      return this;
    }

    public Builder initialBackoff(Duration d) {
      this.initialBackoff = positive(d, "initialBackoff");
      return this;
    }

    public Builder maxBackoff(Duration d) {
      this.maxBackoff = positive(d, "maxBackoff");
      return this;
    }

    /** At least 1. */
    public Builder multiplier(double m) {
      if (!(m >= 1)) {
        throw new IllegalArgumentException("multiplier must be >= 1, got " + m);
      }
      this.multiplier = m;
      return this;
    }

    public RetryPolicy build() {
      if (initialBackoff.compareTo(maxBackoff) > 0) {
        throw new IllegalArgumentException("initialBackoff must not exceed maxBackoff");
      }
      return new RetryPolicy(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, got " + d);
      }
      return d;
    }
  }
}
