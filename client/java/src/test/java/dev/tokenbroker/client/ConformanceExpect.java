package dev.tokenbroker.client;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.grpc.Status;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * The {@code expect} object of a conformance step (client/conformance/README.md, "Expectations")
 * checked against one call's outcome. Every key is checked; an unknown key fails.
 */
final class ConformanceExpect {
  static final Set<String> KEYS =
      Set.of(
          "ok",
          "code",
          "typed",
          "reason",
          "ims_error",
          "http_status",
          "x_debug_id",
          "retry_delay_min_ms",
          "message_excludes",
          "min_elapsed_ms",
          "max_elapsed_ms");

  /** The per-code subclasses of {@link TokenbrokerException}: the Java "typed" check. */
  private static final Map<Status.Code, Class<? extends TokenbrokerException>> TYPED =
      Map.of(
          Status.Code.NOT_FOUND, NotFoundException.class,
          Status.Code.PERMISSION_DENIED, PermissionDeniedException.class,
          Status.Code.UNAUTHENTICATED, UnauthenticatedException.class,
          Status.Code.FAILED_PRECONDITION, FailedPreconditionException.class,
          Status.Code.UNAVAILABLE, UnavailableException.class,
          Status.Code.RESOURCE_EXHAUSTED, ResourceExhaustedException.class,
          Status.Code.INVALID_ARGUMENT, InvalidArgumentException.class);

  /** What a call gave: a non-empty result (when it succeeded) or its error, and its wall time. */
  record Outcome(boolean nonEmptyResult, TokenbrokerException error, Duration elapsed) {}

  private ConformanceExpect() {}

  /** Throws AssertionError naming the first expectation of {@code expect} that fails. */
  static void check(JsonObject expect, Outcome outcome) {
    ConformanceTest.checkKeys(expect, "expect", KEYS);
    for (Map.Entry<String, JsonElement> e : expect.entrySet()) {
      checkOne(e.getKey(), e.getValue(), outcome);
    }
  }

  private static void checkOne(String key, JsonElement want, Outcome o) {
    switch (key) {
      case "ok" -> checkOk(want.getAsBoolean(), o);
      case "min_elapsed_ms" ->
          require(o.elapsed.toMillis() >= want.getAsLong(), key, want, o.elapsed.toMillis());
      case "max_elapsed_ms" ->
          require(o.elapsed.toMillis() <= want.getAsLong(), key, want, o.elapsed.toMillis());
      default -> checkError(key, want, error(key, o));
    }
  }

  private static void checkOk(boolean want, Outcome o) {
    if (!want) {
      throw new AssertionError("expect.ok must be true (use code for a failure)");
    }
    if (o.error != null) {
      throw new AssertionError("expected success, got " + o.error, o.error);
    }
    require(o.nonEmptyResult, "ok (a non-empty result)", true, false);
  }

  private static TokenbrokerException error(String key, Outcome o) {
    if (o.error == null) {
      throw new AssertionError("expected an error (" + key + "), the call succeeded");
    }
    return o.error;
  }

  private static void checkError(String key, JsonElement want, TokenbrokerException e) {
    switch (key) {
      case "code" -> require(e.code().name().equals(want.getAsString()), key, want, e);
      case "typed" -> checkTyped(want.getAsBoolean(), e);
      case "reason" -> require(want.getAsString().equals(e.reason()), key, want, e);
      case "ims_error" -> require(want.getAsString().equals(e.imsError()), key, want, e);
      case "http_status" ->
          require(want.getAsString().equals(String.valueOf(e.httpStatus())), key, want, e);
      case "x_debug_id" -> checkXDebugId(want.getAsString(), e);
      case "retry_delay_min_ms" ->
          require(
              e.retryDelay() != null && e.retryDelay().toMillis() >= want.getAsLong(),
              key,
              want,
              e.retryDelay());
      case "message_excludes" -> checkExcludes(want.getAsString(), e);
      default -> throw new AssertionError("unknown expect key: " + key);
    }
  }

  private static void checkTyped(boolean want, TokenbrokerException e) {
    if (!want) {
      throw new AssertionError("expect.typed must be true");
    }
    Class<?> expected = TYPED.getOrDefault(e.code(), TokenbrokerException.class);
    require(e.getClass() == expected, "typed", expected.getSimpleName(), e.getClass());
  }

  private static void checkXDebugId(String want, TokenbrokerException e) {
    if (!want.equals("nonempty")) {
      throw new AssertionError("unknown x_debug_id expectation: " + want);
    }
    require(e.xDebugId() != null && !e.xDebugId().isEmpty(), "x_debug_id", want, e);
  }

  private static void checkExcludes(String secret, TokenbrokerException e) {
    boolean leaks =
        String.valueOf(e.getMessage()).contains(secret) || e.toString().contains(secret);
    if (leaks) {
      // Not the message itself: it holds the very text that must not be logged.
      throw new AssertionError("the error's message or string form contains the excluded text");
    }
  }

  private static void require(boolean holds, String key, Object want, Object got) {
    if (!holds) {
      throw new AssertionError("expect." + key + ": want " + want + ", got " + got);
    }
  }
}
