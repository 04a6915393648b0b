package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  private final RetryPolicy p =
      RetryPolicy.builder()
          .initialBackoff(Duration.ofMillis(100))
          .maxBackoff(Duration.ofSeconds(1))
          .multiplier(2)
          .jitter(0.2)
          .build();

  @Test
  void backoff_growsExponentially_withoutJitterAtMidpoint() {
    assertEquals(Duration.ofMillis(100), p.backoff(1, () -> 0.5));
    assertEquals(Duration.ofMillis(200), p.backoff(2, () -> 0.5));
    assertEquals(Duration.ofMillis(400), p.backoff(3, () -> 0.5));
  }

  @Test
  void backoff_jitterSpreadsWithinBounds() {
    assertEquals(Duration.ofMillis(80), p.backoff(1, () -> 0.0));
    assertEquals(Duration.ofMillis(120), p.backoff(1, () -> 1.0));
  }

  @Test
  void backoff_isCappedAtMaxBackoff_evenWithJitter() {
    assertEquals(Duration.ofSeconds(1), p.backoff(10, () -> 1.0));
    assertEquals(Duration.ofMillis(800), p.backoff(50, () -> 0.0));
  }

  @Test
  void builder_rejectsNonsense() {
    assertThrows(IllegalArgumentException.class, () -> RetryPolicy.builder().maxAttempts(0));
    assertThrows(IllegalArgumentException.class, () -> RetryPolicy.builder().jitter(1.5));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            RetryPolicy.builder()
                .initialBackoff(Duration.ofSeconds(5))
                .maxBackoff(Duration.ofSeconds(1))
                .build());
  }
}
