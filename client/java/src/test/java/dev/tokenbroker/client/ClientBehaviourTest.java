package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client behaviour the real broker cannot be made to show on demand (retries, RetryInfo, a
 * broken stream, the caller token on the wire, client certificates), against {@link FakeBroker}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClientBehaviourTest {
  @TempDir Path tmp;
  private FakeBroker fake;

  @BeforeEach
  void startFake() throws Exception {
    fake = FakeBroker.start();
  }

  @AfterEach
  void stopFake() throws Exception {
    fake.close();
  }

  private TokenbrokerOptions.Builder options() {
    return TokenbrokerOptions.builder(fake.target())
        .plaintext()
        .retryPolicy(
            RetryPolicy.builder()
                .maxAttempts(4)
                .initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofMillis(100))
                .build());
  }

  @Test
  void getAccessToken_retriesUnavailable_thenSucceeds() {
    fake.failuresLeft.set(3);
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build())) {
      assertTrue(client.getAccessToken("demo").accessToken().startsWith("fake-token-"));
      assertEquals(4, fake.getCalls.get());
    }
  }

  @Test
  void getAccessToken_stopsAfterMaxAttempts() {
    fake.failuresLeft.set(10);
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build())) {
      TokenbrokerException e =
          assertThrows(TokenbrokerException.class, () -> client.getAccessToken("demo"));
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertEquals("IMS_UNAVAILABLE", e.reason());
      assertEquals(4, fake.getCalls.get());
    }
  }

  @Test
  void getAccessToken_noRetries_withRetryPolicyNone() {
    fake.failuresLeft.set(1);
    try (TokenbrokerClient client =
        TokenbrokerClient.create(options().retryPolicy(RetryPolicy.none()).build())) {
      assertThrows(TokenbrokerException.class, () -> client.getAccessToken("demo"));
      assertEquals(1, fake.getCalls.get());
    }
  }

  @Test
  void getAccessToken_honoursRetryInfo_andGivesUpWhenItPassesTheDeadline() {
    fake.failuresLeft.set(1);
    fake.retryDelay = Duration.ofMillis(300);
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build())) {
      long start = System.nanoTime();
      client.getAccessToken("demo");
      assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) >= 300);

      fake.failuresLeft.set(1);
      fake.retryDelay = Duration.ofSeconds(5);
      TokenbrokerException e =
          assertThrows(
              TokenbrokerException.class,
              () -> client.withDeadline(Duration.ofSeconds(1)).getAccessToken("demo"));
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertEquals(Duration.ofSeconds(5), e.retryDelay());
    }
  }

  @Test
  void getAccessToken_retryEndedByTheDeadline_throwsTheUnavailableThatCausedIt() {
    try (TokenbrokerClient client = connected()) {
      fake.failuresLeft.set(1);
      fake.retryDelay = Duration.ofMillis(50);
      fake.getSilent = true; // the retry gets no answer: the 300 ms deadline ends it
      UnavailableException e =
          assertThrows(
              UnavailableException.class,
              () -> client.withDeadline(Duration.ofMillis(300)).getAccessToken("demo"));
      assertEquals("IMS_UNAVAILABLE", e.reason());
      assertEquals(Duration.ofMillis(50), e.retryDelay());
      assertEquals(2, fake.getCalls.get());
    }
  }

  @Test
  void getAccessToken_firstAttemptEndedByTheDeadline_isDeadlineExceeded() {
    try (TokenbrokerClient client = connected()) {
      fake.getSilent = true;
      TokenbrokerException e =
          assertThrows(
              TokenbrokerException.class,
              () -> client.withDeadline(Duration.ofMillis(300)).getAccessToken("demo"));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
      assertEquals(1, fake.getCalls.get());
    }
  }

  /**
   * A client whose channel is connected (one call made, then the fake's counter reset), so that a
   * short deadline is spent on the attempts, not on connecting.
   */
  private TokenbrokerClient connected() {
    TokenbrokerClient client = TokenbrokerClient.create(options().build());
    client.getAccessToken("demo");
    fake.getCalls.set(0);
    return client;
  }

  @Test
  void callerToken_isSentAsBearerMetadata() {
    try (TokenbrokerClient client =
        TokenbrokerClient.create(options().callerToken("caller-secret").build())) {
      client.getAccessToken("demo");
      assertEquals(List.of("Bearer caller-secret"), fake.authorizations);
    }
  }

  @Test
  void callerTokenFile_isReadAgainAfterTheReloadInterval() throws Exception {
    Path file = tmp.resolve("token");
    Files.writeString(file, "first-token\n");
    try (TokenbrokerClient client =
        TokenbrokerClient.create(
            options().callerTokenFile(file).callerTokenReload(Duration.ofMillis(100)).build())) {
      client.getAccessToken("demo");
      Files.writeString(file, "second-token\n");
      // The file is read again after 100 ms: call until a call carries the new token.
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      do {
        assertTrue(System.nanoTime() < end, "the new caller token was not sent within 5 s");
        client.getAccessToken("demo");
        Thread.sleep(50); // the polling interval
      } while (!fake.authorizations.get(fake.authorizations.size() - 1).equals(
          "Bearer second-token"));
      List<String> sent = List.copyOf(fake.authorizations);
      assertEquals("Bearer first-token", sent.get(0));
      assertTrue(
          sent.stream()
              .allMatch(a -> a.equals("Bearer first-token") || a.equals("Bearer second-token")),
          "only the two tokens were sent: " + sent);
    }
  }

  @Test
  void callerTokenFile_missing_failsCallsWithUnauthenticated() {
    try (TokenbrokerClient client =
        TokenbrokerClient.create(
            options().callerTokenFile(tmp.resolve("absent")).retryPolicy(RetryPolicy.none()).build())) {
      TokenbrokerException e =
          assertThrows(TokenbrokerException.class, () -> client.getAccessToken("demo"));
      assertEquals(Status.Code.UNAUTHENTICATED, e.code());
      assertTrue(e.getMessage().contains("absent"), e.getMessage());
    }
  }

  @Test
  void callerTokenFile_malformed_failsWithUnauthenticated_namingTheFileNotItsContent()
      throws Exception {
    Path file = tmp.resolve("token");
    Files.writeString(file, "secret-part-one secret-part-two\n");
    try (TokenbrokerClient client =
        TokenbrokerClient.create(
            options().callerTokenFile(file).retryPolicy(RetryPolicy.none()).build())) {
      TokenbrokerException e =
          assertThrows(TokenbrokerException.class, () -> client.getAccessToken("demo"));
      assertEquals(Status.Code.UNAUTHENTICATED, e.code());
      assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
      assertFalse(e.toString().contains("secret-part"), e.toString());
    }
  }

  @Test
  void tokenSource_rotatesOnPushedToken_withoutRpcs() throws Exception {
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build());
        TokenSource source = client.tokenSource("demo")) {
      WatchingTokenSource w = (WatchingTokenSource) source;
      awaitTrue(() -> w.streamTokens() >= 1, "first token on the stream");
      Token first = source.token();
      fake.push(fake.newToken("integrations/demo"));
      awaitTrue(() -> source.token() != first, "pushed token becomes current");
      assertEquals(0, w.fetchedTokens(), "no RPC: " + source);
      assertEquals(0, fake.getCalls.get());
    }
  }

  @Test
  void tokenSource_fallsBackToGetAccessToken_whenStreamIsDown() throws Exception {
    fake.watchBroken = true;
    fake.lifetime = Duration.ofMillis(1500);
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build());
        TokenSource source = client.tokenSource("demo")) {
      Token first = source.token(); // Blocking fetch: nothing cached, stream down.
      // At 80 % of the lifetime the timer asks for a token outliving the current one.
      awaitTrue(() -> source.token() != first, "fallback refresh before expiry");
      assertTrue(first.expireTime().isAfter(Instant.now()), "refreshed before expiry");
      assertTrue(fake.minValidities.size() >= 1, "asked with min_remaining_validity");
      assertTrue(fake.watchCalls.get() >= 1, "tried to watch");
    }
  }

  @Test
  void tokenSource_requestHeaders_combineTokenWithStaticHeaders() throws Exception {
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build());
        TokenSource source = client.tokenSource("demo")) {
      WatchingTokenSource w = (WatchingTokenSource) source;
      awaitTrue(() -> w.streamTokens() >= 1, "first token on the stream");
      RequestHeaders h = source.requestHeaders();
      assertEquals("Bearer " + source.token().accessToken(), h.get("Authorization"));
      assertEquals("fake-client", h.get("x-api-key"));
      assertTrue(h == source.requestHeaders(), "cached while the token is the same");
      assertEquals(1, fake.headerCalls.get());
    }
  }

  @Test
  void tokenSource_throwsIllegalState_afterClose() throws Exception {
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build())) {
      TokenSource source = client.tokenSource("demo");
      source.token();
      source.close();
      source.close(); // Idempotent.
      assertThrows(IllegalStateException.class, source::token);
    }
  }

  @Test
  void okHttpInterceptor_retriesOnceWithNewToken_after401() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext(
        "/",
        ex -> {
          String auth = ex.getRequestHeaders().getFirst("Authorization");
          seen.add(auth);
          ex.sendResponseHeaders(seen.size() == 1 ? 401 : 200, -1);
          ex.close();
        });
    api.start();
    try (TokenbrokerClient client = TokenbrokerClient.create(options().build());
        TokenSource source = client.tokenSource("demo")) {
      OkHttpClient http =
          new OkHttpClient.Builder()
              .addInterceptor(new OkHttpTokenInterceptor(source).retryingOnUnauthorized())
              .build();
      try (Response r =
          http.newCall(
                  new Request.Builder()
                      .url("http://127.0.0.1:" + api.getAddress().getPort() + "/")
                      .build())
              .execute()) {
        assertEquals(200, r.code());
      }
      assertEquals(2, seen.size());
      assertNotEquals(seen.get(0), seen.get(1), "second attempt carries a new token");
      assertEquals(1, fake.refreshCalls.get());
      http.dispatcher().executorService().shutdown();
    } finally {
      api.stop(0);
    }
  }

  @Test
  void mtls_connects_withClientCertificate_andRejectsWrongCa() throws Exception {
    TestCerts certs = TestCerts.create(tmp.resolve("certs"));
    try (FakeBroker tlsFake =
        FakeBroker.startTls(
            TlsServerCredentials.newBuilder()
                .keyManager(certs.serverCert().toFile(), certs.serverKey().toFile())
                .trustManager(certs.caCert().toFile())
                .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                .build())) {
      try (TokenbrokerClient client =
          TokenbrokerClient.create(
              TokenbrokerOptions.builder(tlsFake.target())
                  .mtls(certs.caCert(), certs.clientCert(), certs.clientKey())
                  .callerToken("over-tls")
                  .build())) {
        assertTrue(client.getAccessToken("demo").accessToken().startsWith("fake-token-"));
        assertEquals(List.of("Bearer over-tls"), tlsFake.authorizations);
      }
      RetryPolicy once = RetryPolicy.none();
      try (TokenbrokerClient wrongCa =
              TokenbrokerClient.create(
                  TokenbrokerOptions.builder(tlsFake.target())
                      .mtls(certs.otherCa(), certs.clientCert(), certs.clientKey())
                      .retryPolicy(once)
                      .build());
          TokenbrokerClient noCert =
              TokenbrokerClient.create(
                  TokenbrokerOptions.builder(tlsFake.target())
                      .tls(certs.caCert())
                      .retryPolicy(once)
                      .build())) {
        assertEquals(
            Status.Code.UNAVAILABLE,
            assertThrows(TokenbrokerException.class, () -> wrongCa.getAccessToken("demo"))
                .code());
        assertThrows(TokenbrokerException.class, () -> noCert.getAccessToken("demo"));
      }
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier cond, String what)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      Thread.sleep(10);
    }
  }
}
