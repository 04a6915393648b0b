package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Failed calls against the real binaries become TokenbrokerExceptions with the server's
 * ErrorInfo decoded. The broker makes one IMS attempt per exchange (--ims-max-attempts=1).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ErrorMappingTest {
  private static BrokerFixture broker;
  private static TokenbrokerClient client;

  @BeforeAll
  static void startBroker() throws Exception {
    broker = BrokerFixture.start(3600, "--ims-max-attempts=1");
    client = TokenbrokerClient.create(broker.options().build());
    client.createIntegration("wrong-secret", BrokerFixture.oauthIntegration("not-the-secret"));
  }

  @AfterAll
  static void stopBroker() {
    if (client != null) {
      client.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void getAccessToken_throwsNotFound_forUnknownIntegration() {
    TokenbrokerException e =
        assertThrows(TokenbrokerException.class, () -> client.getAccessToken("nope"));
    assertEquals(Status.Code.NOT_FOUND, e.code());
    assertEquals("INTEGRATION_NOT_FOUND", e.reason());
    assertEquals(TokenbrokerException.DOMAIN, e.domain());
    assertTrue(e.getMessage().contains("nope"), e.getMessage());
  }

  @Test
  void getAccessToken_throwsFailedPrecondition_withImsErrorAndDebugId_forWrongSecret() {
    TokenbrokerException e =
        assertThrows(TokenbrokerException.class, () -> client.getAccessToken("wrong-secret"));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.code());
    assertEquals("IMS_REJECTED", e.reason());
    assertEquals("invalid_client", e.imsError());
    assertNotNull(e.xDebugId());
    assertTrue(!e.xDebugId().isEmpty());
    assertEquals(401, e.httpStatus());
    assertTrue(!e.isRetryable());
    assertTrue(!e.getMessage().contains("not-the-secret"), "no secret in messages");
  }

  @Test
  void getRequestHeaders_throwsInvalidArgument_namingTheField_forBadName() {
    TokenbrokerException e =
        assertThrows(TokenbrokerException.class, () -> client.getRequestHeaders("Bad_Name"));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
    assertEquals("name", e.field());
  }

  @Test
  void getAccessToken_throwsUnavailable_whenImsDownAndNothingCached() throws Exception {
    client.createIntegration("fresh", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
    broker.setImsDown(true);
    try {
      TokenbrokerException e =
          assertThrows(TokenbrokerException.class, () -> client.getAccessToken("fresh"));
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertEquals("IMS_UNAVAILABLE", e.reason());
      assertEquals(503, e.httpStatus());
      assertTrue(e.isRetryable());
    } finally {
      broker.setImsDown(false);
    }
    assertNotNull(client.getAccessToken("fresh"), "works again once IMS is back");
  }

  @Test
  void tokenSource_keepsServingCachedToken_whileImsIsDown() throws Exception {
    client.createIntegration("cached", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
    try (TokenSource source = client.tokenSource("cached")) {
      Token t = source.token();
      broker.setImsDown(true);
      try {
        assertEquals(t.accessToken(), source.token().accessToken());
        assertEquals(t.accessToken(), client.getAccessToken("cached").accessToken());
      } finally {
        broker.setImsDown(false);
      }
    }
  }

  @Test
  void tokenSource_throwsNotFound_forUnknownIntegration() {
    try (TokenSource source = client.tokenSource("missing")) {
      TokenbrokerException e = assertThrows(TokenbrokerException.class, source::token);
      assertEquals(Status.Code.NOT_FOUND, e.code());
    }
  }

  @Test
  void tokenSource_dropsToken_whenIntegrationDeleted() throws Exception {
    client.createIntegration("doomed", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
    try (TokenSource source = client.tokenSource("doomed")) {
      source.token();
      client.deleteIntegration("doomed", null);
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      TokenbrokerException e = null;
      while (e == null && System.nanoTime() < end) {
        try {
          source.token();
          Thread.sleep(20);
        } catch (TokenbrokerException x) {
          e = x;
        }
      }
      assertNotNull(e, "the stream's NOT_FOUND emptied the cache");
      assertEquals(Status.Code.NOT_FOUND, e.code());
    }
  }

  @Test
  void call_throwsDeadlineExceeded_whenDeadlineTooShort() {
    TokenbrokerException e =
        assertThrows(
            TokenbrokerException.class,
            () -> client.withDeadline(Duration.ofNanos(1)).getAccessToken("demo"));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
  }

  @Test
  void call_retriesUnavailable_withBackoff_thenThrows_whenBrokerUnreachable() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // Closed again below: nothing listens there.
    }
    RetryPolicy policy =
        RetryPolicy.builder()
            .maxAttempts(3)
            .initialBackoff(Duration.ofMillis(100))
            .maxBackoff(Duration.ofMillis(400))
            .build();
    try (TokenbrokerClient dead =
        TokenbrokerClient.create(
            TokenbrokerOptions.builder("127.0.0.1:" + port)
                .plaintext()
                .retryPolicy(policy)
                .deadline(Duration.ofSeconds(5))
                .build())) {
      long start = System.nanoTime();
      TokenbrokerException e =
          assertThrows(TokenbrokerException.class, () -> dead.getAccessToken("demo"));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      // Two waits: >= 50 ms + 100 ms (each drawn from [b/2, b]); well under the 5 s deadline.
      assertTrue(ms >= 150 && ms < 4000, "took " + ms + " ms");
    }
  }
}
