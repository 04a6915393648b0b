package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The caller token against the real broker with a {@code --policy-file}: tokens made by {@code
 * tokenbroker caller-token create}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerAuthTest {
  @TempDir Path tmp;

  /** A caller token and its policy entry, from the real CLI. */
  private record CallerToken(String token, String policyEntry) {}

  private static CallerToken createCallerToken(String identity)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                BrokerFixture.binDir().resolve("tokenbroker").toString(),
                "caller-token",
                "create",
                "--identity=" + identity)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, err);
    String entry =
        err.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow(
            () -> new IOException("no policy entry in: " + err));
    return new CallerToken(out, entry);
  }

  @Test
  void callerToken_fromStringAndFile_isAuthenticated_andScopedByPolicy() throws Exception {
    CallerToken admin = createCallerToken("java-admin");
    CallerToken reader = createCallerToken("java-reader");
    Path policy = tmp.resolve("policy.json");
    Files.writeString(
        policy,
        "{\"version\":1,\"caller_tokens\":["
            + admin.policyEntry()
            + ","
            + reader.policyEntry()
            + "],\"bindings\":["
            + "{\"identity\":\"java-admin\",\"role\":\"admin\"},"
            + "{\"identity\":\"java-reader\",\"role\":\"reader\",\"integrations\":[\"demo\"]}]}");
    Path readerTokenFile = tmp.resolve("reader.token");
    Files.writeString(readerTokenFile, reader.token() + "\n");

    try (BrokerFixture broker = BrokerFixture.start(3600, "--policy-file=" + policy);
        TokenbrokerClient asAdmin =
            TokenbrokerClient.create(broker.options().callerToken(admin.token()).build());
        TokenbrokerClient asReader =
            TokenbrokerClient.create(broker.options().callerTokenFile(readerTokenFile).build());
        TokenbrokerClient anonymous = TokenbrokerClient.create(broker.options().build());
        TokenbrokerClient wrongToken =
            TokenbrokerClient.create(broker.options().callerToken("tbk_not-a-token").build())) {
      asAdmin.createIntegration("demo", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
      asAdmin.createIntegration("other", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));

      assertTrue(asReader.getAccessToken("demo").accessToken().length() > 20);
      try (TokenSource source = asReader.tokenSource("demo")) {
        assertTrue(source.requestHeaders().get("Authorization").startsWith("Bearer "));
      }
      assertEquals(
          Status.Code.PERMISSION_DENIED,
          assertThrows(TokenbrokerException.class, () -> asReader.getAccessToken("other"))
              .code());
      assertEquals(
          Status.Code.UNAUTHENTICATED,
          assertThrows(TokenbrokerException.class, () -> anonymous.getAccessToken("demo"))
              .code());
      assertEquals(
          Status.Code.UNAUTHENTICATED,
          assertThrows(TokenbrokerException.class, () -> wrongToken.getAccessToken("demo"))
              .code());
    }
  }
}
