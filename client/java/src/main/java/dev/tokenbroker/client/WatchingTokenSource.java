package dev.tokenbroker.client;

import dev.tokenbroker.v1.WatchAccessTokensRequest;
import dev.tokenbroker.v1.WatchAccessTokensResponse;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link TokenSource} of {@link TokenbrokerClient#tokenSource(String)}.
 *
 * <p>Design: the current token lives in one volatile immutable {@link Cached}, so the hot path
 * is a volatile read and a clock read. Three things replace it, all through {@link #offer}: the
 * {@code WatchAccessTokens} stream (the normal way: the broker pushes each token it mints ahead
 * of expiry), a fallback timer at 80 % of the token's lifetime that asks {@code GetAccessToken}
 * for a token outliving the current one (when the stream is down or the broker did not
 * refresh), and a blocking fetch when a caller finds no usable token (first use, or after every
 * refresh failed). A token replaces the current one only if it does not expire earlier, so a
 * late answer never rolls the cache back. Blocking fetches hold {@code fetchLock}, which makes
 * concurrent callers share one RPC; {@code this} guards the stream and timer state and is never
 * held during an RPC.
 */
final class WatchingTokenSource implements TokenSource {
  /** Fraction of the lifetime after which the fallback timer asks for a newer token. */
  static final double FALLBACK_AT = 0.8;
  /**
   * The server's default rule (server/broker/refresh_policy.cc), applied when no minimum validity
   * is set, so that the cache and the server agree on when a token is too old to hand out: 60 s,
   * capped at 10 % of the token's lifetime.
   */
  static final Duration SERVER_MIN_VALIDITY = Duration.ofSeconds(60);

  static final double SERVER_MIN_VALIDITY_FRACTION = 0.1;

  /** Re-arming waits of the watch: 200 ms doubling to 30 s, jittered; reset by a token. */
  static final RetryPolicy WATCH_BACKOFF =
      RetryPolicy.builder()
          .initialBackoff(Duration.ofMillis(200))
          .maxBackoff(Duration.ofSeconds(30))
          .build();

  private static final System.Logger LOG = System.getLogger("tokenbroker");

  /** A token and the instant (epoch ms) until which it is handed out. */
  private record Cached(Token token, long usableUntilMillis) {}

  /** Headers built for one token and one template, reused until either changes. */
  private record Built(Token token, Map<String, String> template, RequestHeaders headers) {}

  private final TokenbrokerClient client;
  private final String name;
  /** The user's minimum validity, or null: the server's rule. */
  private final Duration minValidity;
  private final Clock clock;

  private volatile Cached current;
  /** The integration's headers other than Authorization; null until first needed. */
  private volatile Map<String, String> template;

  private volatile Built built;

  private final Object fetchLock = new Object();
  private final Object templateLock = new Object();

  // Guarded by this (closed is also read without the lock).
  private volatile boolean closed;
  private ClientCallStreamObserver<WatchAccessTokensRequest> stream;
  private ScheduledFuture<?> fallback;
  private ScheduledFuture<?> reconnect;
  private int streamFailures;
  private TokenbrokerException lastError;

  // For tests and diagnostics.
  private final AtomicLong streamTokens = new AtomicLong();
  private final AtomicLong fetchedTokens = new AtomicLong();
  private final AtomicLong watchRestarts = new AtomicLong();

  WatchingTokenSource(TokenbrokerClient client, String name, Duration minValidity, Clock clock) {
    this.client = client;
    this.name = name;
    this.minValidity = minValidity;
    this.clock = clock;
    startWatch();
  }

  @Override
  public Token token() {
    return usable().token();
  }

  @Override
  public RequestHeaders requestHeaders() {
    Cached c = usable();
    Built b = built;
    Map<String, String> tpl = template;
    if (b != null && b.token == c.token && b.template == tpl) {
      return b.headers;
    }
    if (tpl == null) {
      tpl = fetchTemplate();
    }
    Map<String, String> h = new LinkedHashMap<>();
    h.put(RequestHeaders.AUTHORIZATION, c.token.authorizationHeader());
    h.putAll(tpl);
    RequestHeaders headers = new RequestHeaders(h, c.token.expireTime());
    built = new Built(c.token, tpl, headers);
    return headers;
  }

  @Override
  public Token invalidate(String rejectedAccessToken) {
    synchronized (fetchLock) {
      checkOpen();
      Cached c = current;
      if (c != null
          && !c.token.accessToken().equals(rejectedAccessToken)
          && clock.millis() < c.usableUntilMillis) {
        return c.token;
      }
      Token fresh = client.refreshAccessToken(name);
      fetchedTokens.incrementAndGet();
      offer(fresh);
      Cached now = current;
      return now != null ? now.token : fresh;
    }
  }

  @Override
  public void close() {
    ClientCallStreamObserver<WatchAccessTokensRequest> s;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      s = stream;
      stream = null;
      cancel(fallback);
      cancel(reconnect);
    }
    if (s != null) {
      s.cancel("TokenSource closed", null);
    }
  }

  @Override
  public String toString() {
    Cached c = current;
    return "TokenSource{"
        + name
        + ", token="
        + (c == null ? "none" : c.token)
        + ", streamTokens="
        + streamTokens
        + ", fetchedTokens="
        + fetchedTokens
        + ", watchRestarts="
        + watchRestarts
        + '}';
  }

  /** Tokens received on the stream so far. */
  long streamTokens() {
    return streamTokens.get();
  }

  /** Tokens obtained by RPCs (blocking fetches, fallback timer, invalidate) so far. */
  long fetchedTokens() {
    return fetchedTokens.get();
  }

  /** Watch streams that ended and were reopened so far. */
  long watchRestarts() {
    return watchRestarts.get();
  }

  synchronized TokenbrokerException lastError() {
    return lastError;
  }

  // --- The cache ------------------------------------------------------------------------------

  private Cached usable() {
    if (closed) {
      throw new IllegalStateException("TokenSource for " + name + " is closed");
    }
    Cached c = current;
    if (c != null && clock.millis() < c.usableUntilMillis) {
      return c;
    }
    return fetch(c);
  }

  /** Blocking fetch, shared by concurrent callers that all saw {@code seen}. */
  private Cached fetch(Cached seen) {
    synchronized (fetchLock) {
      checkOpen();
      Cached c = current;
      if (c != null && c != seen && clock.millis() < c.usableUntilMillis) {
        return c;
      }
      Token t = client.getAccessToken(name, minValidity);
      fetchedTokens.incrementAndGet();
      offer(t);
      c = current;
      if (c == null) {
        c = new Cached(t, 0);
      }
      // The broker guarantees at least our reserve, so this is usable unless the clocks
      // disagree; then a token that is still valid beats an error (the next call asks again),
      // but an expired one is never handed out.
      if (!c.token.isValidAt(clock.instant())) {
        throw TokenbrokerException.local(
            Status.Code.UNAVAILABLE,
            "the broker's token for "
                + name
                + " expired at "
                + c.token.expireTime()
                + " by the local clock (clock skew?)",
            null);
      }
      return c;
    }
  }

  /** Makes {@code t} current unless the current token expires later. */
  private void offer(Token t) {
    boolean rotated;
    synchronized (this) {
      if (closed) {
        return;
      }
      Cached c = current;
      if (c != null
          && (t.expireTime().isBefore(c.token.expireTime())
              || t.accessToken().equals(c.token.accessToken()))) {
        return;
      }
      long now = clock.millis();
      long expire = t.expireTime().toEpochMilli();
      long issue = t.issueTime().toEpochMilli();
      if (issue <= 0 || issue > expire) {
        issue = Math.min(now, expire); // No usable issue time: count the lifetime from now.
      }
      long lifetime = expire - issue;
      current = new Cached(t, expire - reserveMillis(lifetime));
      rotated = c != null;
      long fallbackAt = issue + (long) (lifetime * FALLBACK_AT);
      scheduleFallback(t, Math.max(0, fallbackAt - now));
    }
    if (rotated && template != null) {
      // The static headers may have changed with the integration: refresh them off the hot path.
      runInBackground(this::refreshTemplate);
    }
  }

  /** The validity kept in reserve for a token living {@code lifetimeMillis}. */
  private long reserveMillis(long lifetimeMillis) {
    if (minValidity != null) {
      return minValidity.toMillis();
    }
    return Math.min(
        SERVER_MIN_VALIDITY.toMillis(), (long) (lifetimeMillis * SERVER_MIN_VALIDITY_FRACTION));
  }

  private Map<String, String> fetchTemplate() {
    synchronized (templateLock) {
      Map<String, String> tpl = template;
      if (tpl == null) {
        tpl = templateOf(client.getRequestHeaders(name));
        template = tpl;
      }
      return tpl;
    }
  }

  private void refreshTemplate() {
    try {
      Map<String, String> tpl = templateOf(client.getRequestHeaders(name));
      if (!tpl.equals(template)) {
        template = tpl;
      }
    } catch (TokenbrokerException e) {
      recordError(e); // Keep the old template.
    }
  }

  private static Map<String, String> templateOf(RequestHeaders h) {
    Map<String, String> tpl = new LinkedHashMap<>();
    h.headers()
        .forEach(
            (k, v) -> {
              if (!k.equalsIgnoreCase(RequestHeaders.AUTHORIZATION)) {
                tpl.put(k, v);
              }
            });
    return Collections.unmodifiableMap(tpl);
  }

  // --- Fallback timer -------------------------------------------------------------------------

  /** Guarded by this. */
  private void scheduleFallback(Token expected, long delayMillis) {
    cancel(fallback);
    fallback = schedule(() -> fallbackRefresh(expected), delayMillis);
  }

  /**
   * Still holding {@code expected} late in its life: ask for a token that outlives it, which
   * makes the broker mint one if it has not. On failure, try again at a quarter of the remaining
   * time (at least 100 ms, at most 30 s) while the token is valid.
   */
  private void fallbackRefresh(Token expected) {
    Cached c = current;
    if (c == null || c.token != expected) {
      return;
    }
    long now = clock.millis();
    long remaining = expected.expireTime().toEpochMilli() - now;
    if (remaining <= 0) {
      return; // Expired: the next caller fetches.
    }
    long lifetime = Math.max(remaining, expected.lifetime().toMillis());
    long slack = Math.max(1, Math.min(1000, lifetime / 20));
    try {
      Token t = client.getAccessToken(name, Duration.ofMillis(remaining + slack));
      fetchedTokens.incrementAndGet();
      offer(t);
    } catch (TokenbrokerException e) {
      recordError(e);
    }
    synchronized (this) {
      if (!closed && current != null && current.token == expected) {
        long left = expected.expireTime().toEpochMilli() - clock.millis();
        if (left > 0) {
          scheduleFallback(expected, Math.max(100, Math.min(30_000, left / 4)));
        }
      }
    }
  }

  // --- The stream -----------------------------------------------------------------------------

  private void startWatch() {
    synchronized (this) {
      if (closed) {
        return;
      }
      reconnect = null;
    }
    WatchAccessTokensRequest req = WatchAccessTokensRequest.newBuilder().setName(name).build();
    client
        .tokensAsync()
        .watchAccessTokens(
            req,
            new ClientResponseObserver<WatchAccessTokensRequest, WatchAccessTokensResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<WatchAccessTokensRequest> s) {
                synchronized (WatchingTokenSource.this) {
                  stream = s;
                }
              }

              @Override
              public void onNext(WatchAccessTokensResponse value) {
                synchronized (WatchingTokenSource.this) {
                  streamFailures = 0;
                }
                streamTokens.incrementAndGet();
                offer(Token.fromProto(value.getToken()));
              }

              @Override
              public void onError(Throwable t) {
                onStreamEnd(TokenbrokerException.from(t));
              }

              @Override
              public void onCompleted() {
                onStreamEnd(null);
              }
            });
    ClientCallStreamObserver<WatchAccessTokensRequest> s = null;
    synchronized (this) {
      if (closed) {
        s = stream;
        stream = null;
      }
    }
    if (s != null) {
      s.cancel("TokenSource closed", null);
    }
  }

  /**
   * Re-arms the watch after a jittered, growing wait (reset once a token arrives), for as long as
   * the source is open; a deleted integration also empties the cache. Each restart is counted and
   * logged at warning level to the {@code tokenbroker} logger.
   */
  private void onStreamEnd(TokenbrokerException error) {
    synchronized (this) {
      if (closed) {
        return;
      }
      stream = null;
      if (error != null) {
        lastError = error;
        if (error.code() == Status.Code.NOT_FOUND) {
          current = null;
          template = null;
          built = null;
          cancel(fallback);
        }
      }
      streamFailures++;
      Duration wait =
          WATCH_BACKOFF.backoff(streamFailures, ThreadLocalRandom.current()::nextDouble);
      watchRestarts.incrementAndGet();
      LOG.log(
          System.Logger.Level.WARNING,
          "token watch of {0} ended ({1}); reopening in {2} ms",
          name,
          error != null ? error.code() : "completed",
          wait.toMillis());
      reconnect = schedule(this::startWatch, wait.toMillis());
    }
  }

  // --- Helpers --------------------------------------------------------------------------------

  private synchronized void recordError(TokenbrokerException e) {
    lastError = e;
  }

  private synchronized void checkOpen() {
    if (closed) {
      throw new IllegalStateException("TokenSource for " + name + " is closed");
    }
  }

  private ScheduledFuture<?> schedule(Runnable r, long delayMillis) {
    try {
      return client.scheduler().schedule(r, delayMillis, TimeUnit.MILLISECONDS);
    } catch (IllegalStateException | RejectedExecutionException e) {
      return null; // The client is closed: nothing more to refresh.
    }
  }

  private void runInBackground(Runnable r) {
    schedule(r, 0);
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }
}
