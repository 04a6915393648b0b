package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  private final RetryPolicy p =
      RetryPolicy.builder()
          .initialBackoff(Duration.ofMillis(100))
          .maxBackoff(Duration.ofSeconds(1))
          .multiplier(2)
          .build();

  @Test
  void backoff_growsExponentially_atTheTopOfTheJitterRange() {
    assertEquals(Duration.ofMillis(100), p.backoff(1, () -> 1.0));
    assertEquals(Duration.ofMillis(200), p.backoff(2, () -> 1.0));
    assertEquals(Duration.ofMillis(400), p.backoff(3, () -> 1.0));
  }

  @Test
  void backoff_isDrawnFromHalfToAllOfTheNominalWait() {
    assertEquals(Duration.ofMillis(50), p.backoff(1, () -> 0.0));
    assertEquals(Duration.ofMillis(75), p.backoff(1, () -> 0.5));
    assertEquals(Duration.ofMillis(100), p.backoff(1, () -> 1.0));
  }

  @Test
  void backoff_isCappedAtMaxBackoff() {
    assertEquals(Duration.ofSeconds(1), p.backoff(10, () -> 1.0));
    assertEquals(Duration.ofMillis(500), p.backoff(50, () -> 0.0));
    assertEquals(Duration.ofSeconds(1), p.backoff(Integer.MAX_VALUE, () -> 1.0));
  }

  @Test
  void defaults_areTheContractsRetryAndTimingDefaults() {
    RetryPolicy d = RetryPolicy.defaults();
    assertEquals(4, d.maxAttempts());
    assertEquals(Duration.ofMillis(100), d.initialBackoff());
    assertEquals(2.0, d.multiplier());
    assertEquals(Duration.ofSeconds(2), d.maxBackoff());
    TokenbrokerOptions o = TokenbrokerOptions.builder("127.0.0.1:1").build();
    assertEquals(TokenbrokerOptions.Security.TLS, o.security());
    assertEquals(Duration.ofSeconds(10), o.deadline());
    assertEquals(Duration.ofSeconds(5), o.callerTokenReload());
    assertNull(o.tokenMinValidity());
  }

  @Test
  void watchBackoff_growsFrom200msTo30s() {
    RetryPolicy w = WatchingTokenSource.WATCH_BACKOFF;
    assertEquals(Duration.ofMillis(200), w.backoff(1, () -> 1.0));
    assertEquals(Duration.ofMillis(100), w.backoff(1, () -> 0.0));
    assertEquals(Duration.ofSeconds(30), w.backoff(30, () -> 1.0));
  }

  @Test
  void builder_rejectsNonsense() {
    assertThrows(IllegalArgumentException.class, () -> RetryPolicy.builder().maxAttempts(0));
    assertThrows(IllegalArgumentException.class, () -> RetryPolicy.builder().multiplier(0.5));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            RetryPolicy.builder()
                .initialBackoff(Duration.ofSeconds(5))
                .maxBackoff(Duration.ofSeconds(1))
                .build());
  }
}
