package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS and mutual TLS to the real tokenbroker, with certificates made by the openssl CLI. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsTest {
  @TempDir Path tmp;

  private static RetryPolicy quick() {
    return RetryPolicy.builder().maxAttempts(2).initialBackoff(Duration.ofMillis(50)).build();
  }

  @Test
  void tls_getAccessToken_succeeds_withServerCaFile() throws Exception {
    TestCerts certs = TestCerts.create(tmp.resolve("certs"));
    try (BrokerFixture broker =
        BrokerFixture.start(
            3600, "--tls-cert=" + certs.serverCert(), "--tls-key=" + certs.serverKey())) {
      try (TokenbrokerClient client =
          TokenbrokerClient.create(
              TokenbrokerOptions.builder(broker.target()).tls(certs.caCert()).build())) {
        client.createIntegration("demo", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
        assertTrue(client.getAccessToken("demo").accessToken().length() > 20);
      }
      // The server serves TLS only, and the client verifies it.
      try (TokenbrokerClient plain =
              TokenbrokerClient.create(
                  TokenbrokerOptions.builder(broker.target())
                      .plaintext()
                      .retryPolicy(quick())
                      .deadline(Duration.ofSeconds(3))
                      .build());
          TokenbrokerClient untrusting =
              TokenbrokerClient.create(
                  TokenbrokerOptions.builder(broker.target())
                      .tls(certs.otherCa())
                      .retryPolicy(quick())
                      .deadline(Duration.ofSeconds(3))
                      .build())) {
        assertEquals(
            Status.Code.UNAVAILABLE,
            assertThrows(TokenbrokerException.class, () -> plain.getAccessToken("demo")).code());
        assertEquals(
            Status.Code.UNAVAILABLE,
            assertThrows(TokenbrokerException.class, () -> untrusting.getAccessToken("demo"))
                .code());
      }
    }
  }

  @Test
  void mtls_getAccessToken_succeeds_withClientCertificate_andFailsWithout() throws Exception {
    TestCerts certs = TestCerts.create(tmp.resolve("certs"));
    try (BrokerFixture broker =
        BrokerFixture.start(
            3600,
            "--tls-cert=" + certs.serverCert(),
            "--tls-key=" + certs.serverKey(),
            "--client-ca-file=" + certs.caCert())) {
      try (TokenbrokerClient client =
          TokenbrokerClient.create(
              TokenbrokerOptions.builder(broker.target())
                  .mtls(certs.caCert(), certs.clientCert(), certs.clientKey())
                  .build())) {
        client.createIntegration("demo", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
        assertTrue(client.getAccessToken("demo").accessToken().length() > 20);
      }
      try (TokenbrokerClient noCert =
          TokenbrokerClient.create(
              TokenbrokerOptions.builder(broker.target())
                  .tls(certs.caCert())
                  .retryPolicy(quick())
                  .deadline(Duration.ofSeconds(3))
                  .build())) {
        TokenbrokerException e =
            assertThrows(TokenbrokerException.class, () -> noCert.getAccessToken("demo"));
        assertTrue(
            e.code() == Status.Code.UNAVAILABLE || e.code() == Status.Code.UNAUTHENTICATED,
            e.toString());
      }
    }
    assertTrue(Files.exists(certs.caCert()));
  }
}
