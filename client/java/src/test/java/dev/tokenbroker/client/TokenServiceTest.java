package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** TokenService through the SDK against the real tokenbroker and ims-emulator (3 s tokens). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TokenServiceTest {
  private static BrokerFixture broker;
  private static TokenbrokerClient client;

  @BeforeAll
  static void startBroker() throws Exception {
    broker = BrokerFixture.start(3);
    client = TokenbrokerClient.create(broker.options().build());
    client.createIntegration("demo", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
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
  void getAccessToken_returnsValidBearerToken_forKnownIntegration() {
    Token t = client.getAccessToken("demo");
    assertTrue(t.accessToken().length() > 20, "token looks like a token");
    assertEquals("bearer", t.tokenType());
    assertEquals("integrations/demo", t.integration());
    assertTrue(t.expireTime().isAfter(Instant.now()), "not expired");
    assertTrue(t.lifetime().compareTo(Duration.ofSeconds(4)) <= 0, "3 s lifetime: " + t);
    assertTrue(!t.toString().contains(t.accessToken()), "toString hides the token");
  }

  @Test
  void getAccessToken_acceptsResourceName() {
    assertEquals("integrations/demo", client.getAccessToken("integrations/demo").integration());
  }

  @Test
  void getRequestHeaders_returnsAdobeHeaders() {
    RequestHeaders h = client.getRequestHeaders("demo");
    assertTrue(h.get("authorization").startsWith("Bearer "), h.toString());
    assertEquals(BrokerFixture.CLIENT_ID, h.get("x-api-key"));
    assertEquals(BrokerFixture.ORG_ID, h.get("x-gw-ims-org-id"));
    assertNotNull(h.accessToken());
    assertTrue(!h.toString().contains(h.accessToken()), "toString hides the token");
  }

  @Test
  void refreshAccessToken_mintsNewToken() {
    Token before = client.getAccessToken("demo");
    Token after = client.refreshAccessToken("demo");
    assertNotEquals(before.accessToken(), after.accessToken());
  }

  @Test
  void tokenSource_servesFromCache_withoutRpcsOrExchanges() throws Exception {
    try (TokenSource source = client.tokenSource("demo")) {
      Token first = source.token();
      long exchanges = broker.imsExchanges();
      WatchingTokenSource w = (WatchingTokenSource) source;
      long fetched = w.fetchedTokens();
      for (int i = 0; i < 10_000; i++) {
        Token t = source.token();
        if (t != first) {
          break; // Rotated meanwhile: fine, the loop is about the cache.
        }
      }
      // 10,000 calls, no RPC (one at most, should the 3 s token's fallback timer fire).
      assertTrue(w.fetchedTokens() - fetched <= 1, "no RPC for cached tokens: " + source);
      assertTrue(broker.imsExchanges() - exchanges <= 1, "at most one rotation");
    }
  }

  @Test
  void tokenSource_followsRotationOnStream_andNeverHandsOutExpiredToken() throws Exception {
    try (TokenSource source = client.tokenSource("demo")) {
      WatchingTokenSource w = (WatchingTokenSource) source;
      Set<String> seen = new HashSet<>();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      while (System.nanoTime() < end && seen.size() < 3) {
        Token t = source.token();
        Instant now = Instant.now();
        assertTrue(t.expireTime().isAfter(now), "expired token handed out: " + t);
        RequestHeaders h = source.requestHeaders();
        assertEquals(BrokerFixture.CLIENT_ID, h.get("x-api-key"));
        seen.add(t.accessToken());
        Thread.sleep(20);
      }
      assertTrue(seen.size() >= 3, "saw " + seen.size() + " tokens in 8 s: " + source);
      assertTrue(w.streamTokens() >= 2, "rotations came on the stream: " + source);
    }
  }

  @Test
  void tokenSource_concurrentColdCallers_shareOneFetch() throws Exception {
    client.createIntegration("cold", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try (TokenSource source = client.tokenSource("cold")) {
      CountDownLatch go = new CountDownLatch(1);
      Future<?>[] fs = new Future<?>[8];
      for (int i = 0; i < fs.length; i++) {
        fs[i] =
            pool.submit(
                () -> {
                  go.await();
                  return source.token();
                });
      }
      go.countDown();
      for (Future<?> f : fs) {
        assertNotNull(f.get(10, TimeUnit.SECONDS));
      }
      assertTrue(
          ((WatchingTokenSource) source).fetchedTokens() <= 1, "one fetch at most: " + source);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void okHttpInterceptor_andJavaNetHelper_sendAdobeHeaders() throws Exception {
    Map<String, String> received = new ConcurrentHashMap<>();
    HttpServer api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext(
        "/",
        ex -> {
          ex.getRequestHeaders().forEach((k, v) -> received.put(k.toLowerCase(), v.get(0)));
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    api.start();
    try (TokenSource source = client.tokenSource("demo")) {
      String url = "http://127.0.0.1:" + api.getAddress().getPort() + "/data";
      OkHttpClient http =
          new OkHttpClient.Builder().addInterceptor(new OkHttpTokenInterceptor(source)).build();
      try (Response r =
          http.newCall(new Request.Builder().url(url).header("Authorization", "x").build())
              .execute()) {
        assertEquals(204, r.code());
      }
      assertHeaders(received);
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();

      received.clear();
      HttpResponse<Void> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequests.authorized(URI.create(url), source).GET().build(),
                  HttpResponse.BodyHandlers.discarding());
      assertEquals(204, r.statusCode());
      assertHeaders(received);
    } finally {
      api.stop(0);
    }
  }

  private static void assertHeaders(Map<String, String> received) throws IOException {
    assertTrue(received.getOrDefault("authorization", "").startsWith("Bearer "), "" + received);
    assertTrue(received.get("authorization").length() > 30, "replaced the caller's value");
    assertEquals(BrokerFixture.CLIENT_ID, received.get("x-api-key"));
    assertEquals(BrokerFixture.ORG_ID, received.get("x-gw-ims-org-id"));
  }
}
