package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import dev.tokenbroker.v1.AuthMethod;
import dev.tokenbroker.v1.ImportIntegrationsRequest;
import dev.tokenbroker.v1.ImportIntegrationsResponse;
import dev.tokenbroker.v1.Integration;
import dev.tokenbroker.v1.ListClientSecretsRequest;
import dev.tokenbroker.v1.ListClientSecretsResponse;
import dev.tokenbroker.v1.MigrateIntegrationRequest;
import dev.tokenbroker.v1.RotateClientSecretRequest;
import dev.tokenbroker.v1.RotateClientSecretResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The IntegrationService calls beyond create/get/list/update/delete (import, client secrets,
 * rotation, migration) against {@link FakeBroker}: the request each sends, with the caller token
 * and the client's deadline; which ones retry UNAVAILABLE (list and rotate secrets) and which are
 * made once (import, migrate); the typed errors.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class IntegrationCallsTest {
  private static final Duration DEADLINE = Duration.ofSeconds(3);

  private FakeBroker fake;
  private TokenbrokerClient client;

  @BeforeEach
  void start() throws Exception {
    fake = FakeBroker.start();
    client =
        TokenbrokerClient.create(
            TokenbrokerOptions.builder(fake.target())
                .plaintext()
                .callerToken("caller-secret")
                .deadline(DEADLINE)
                .retryPolicy(
                    RetryPolicy.builder()
                        .maxAttempts(4)
                        .initialBackoff(Duration.ofMillis(20))
                        .maxBackoff(Duration.ofMillis(100))
                        .build())
                .build());
  }

  @AfterEach
  void stop() {
    client.close();
    fake.close();
  }

  /**
   * Every request carried the caller token and the client's deadline ({@link #DEADLINE}, not the
   * 10 s default).
   */
  private void assertTokenAndDeadline(int calls) {
    assertEquals(calls, fake.integrationRequests.size(), "requests: " + fake.integrationRequests);
    assertEquals(calls, fake.authorizations.size());
    assertTrue(
        fake.authorizations.stream().allMatch("Bearer caller-secret"::equals),
        "caller token on every attempt: " + fake.authorizations);
    for (Duration left : fake.integrationDeadlines) {
      assertNotNull(left, "the call had a deadline");
      assertTrue(
          left.compareTo(DEADLINE) <= 0 && left.compareTo(Duration.ZERO) > 0, "left: " + left);
    }
  }

  /** The attempts of one retried call share one deadline: the time left only shrinks. */
  private void assertOneDeadlineForAllAttempts() {
    List<Duration> left = List.copyOf(fake.integrationDeadlines);
    for (int i = 1; i < left.size(); i++) {
      assertTrue(left.get(i).compareTo(left.get(i - 1)) < 0, "time left per attempt: " + left);
    }
  }

  private static StatusRuntimeException error(Status.Code code, String reason, String field) {
    com.google.rpc.Status.Builder s =
        com.google.rpc.Status.newBuilder()
            .setCode(code.value())
            .setMessage("fake " + code)
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder()
                        .setDomain(TokenbrokerException.DOMAIN)
                        .setReason(reason)
                        .build()));
    if (field != null) {
      s.addDetails(
          Any.pack(
              BadRequest.newBuilder()
                  .addFieldViolations(
                      BadRequest.FieldViolation.newBuilder()
                          .setField(field)
                          .setDescription("bad"))
                  .build()));
    }
    return StatusProto.toStatusRuntimeException(s.build());
  }

  // --- ImportIntegrations -----------------------------------------------------------------------

  @Test
  void importIntegrations_sendsTheRequest_withCallerTokenAndDeadline() {
    ImportIntegrationsRequest req =
        ImportIntegrationsRequest.newBuilder()
            .setCredentialFile(ByteString.copyFrom("{\"project\":{}}", StandardCharsets.UTF_8))
            .setIntegrationId("billing")
            .setCredentialName("Billing S2S")
            .setValidateOnly(true)
            .setAllowUpdate(true)
            .setSecretRotationPeriod(Protos.toProto(Duration.ofDays(90)))
            .build();
    ImportIntegrationsResponse resp = client.importIntegrations(req);
    assertEquals("integrations/billing", resp.getImported(0).getIntegration().getName());
    assertEquals(
        ImportIntegrationsResponse.Imported.Action.ACTION_CREATED, resp.getImported(0).getAction());
    assertEquals(List.<Message>of(req), fake.integrationRequests);
    assertTokenAndDeadline(1);
  }

  @Test
  void importIntegrations_isNotRetried_onUnavailable() {
    fake.failuresLeft.set(1);
    ImportIntegrationsRequest req =
        ImportIntegrationsRequest.newBuilder()
            .setCredentialFile(ByteString.copyFromUtf8("{}"))
            .build();
    UnavailableException e =
        assertThrows(UnavailableException.class, () -> client.importIntegrations(req));
    assertEquals("IMS_UNAVAILABLE", e.reason());
    assertTrue(e.isRetryable(), "retryable by the caller, not by the SDK");
    assertTokenAndDeadline(1);
  }

  @Test
  void importIntegrations_throwsInvalidArgument_withTheField_andAlreadyExists() {
    ImportIntegrationsRequest req =
        ImportIntegrationsRequest.newBuilder()
            .setCredentialFile(ByteString.copyFromUtf8("{}"))
            .build();
    fake.integrationError =
        error(Status.Code.INVALID_ARGUMENT, "INVALID_FIELD", "credential_file");
    InvalidArgumentException bad =
        assertThrows(InvalidArgumentException.class, () -> client.importIntegrations(req));
    assertEquals("credential_file", bad.field());

    fake.integrationError = error(Status.Code.ALREADY_EXISTS, "INTEGRATION_EXISTS", null);
    TokenbrokerException exists =
        assertThrows(TokenbrokerException.class, () -> client.importIntegrations(req));
    assertEquals(Status.Code.ALREADY_EXISTS, exists.code());
    assertEquals("INTEGRATION_EXISTS", exists.reason());
    assertTokenAndDeadline(2);
  }

  // --- ListClientSecrets ------------------------------------------------------------------------

  @Test
  void listClientSecrets_sendsTheParent_andRetriesUnavailable() {
    fake.failuresLeft.set(3);
    ListClientSecretsResponse resp = client.listClientSecrets("billing");
    assertEquals("uuid-1", resp.getClientSecrets(0).getUuid());
    assertTrue(resp.getClientSecrets(0).getInUse());
    ListClientSecretsRequest want =
        ListClientSecretsRequest.newBuilder().setParent("integrations/billing").build();
    assertEquals(List.<Message>of(want, want, want, want), fake.integrationRequests);
    assertTokenAndDeadline(4);
    assertOneDeadlineForAllAttempts();
  }

  @Test
  void listClientSecrets_acceptsAName_andThrowsTypedErrors() {
    fake.integrationError = error(Status.Code.FAILED_PRECONDITION, "CONSOLE_FORBIDDEN", null);
    FailedPreconditionException e =
        assertThrows(
            FailedPreconditionException.class,
            () -> client.listClientSecrets("integrations/billing"));
    assertEquals("CONSOLE_FORBIDDEN", e.reason());
    assertEquals(
        List.<Message>of(
            ListClientSecretsRequest.newBuilder().setParent("integrations/billing").build()),
        fake.integrationRequests);

    fake.integrationError = error(Status.Code.PERMISSION_DENIED, "CALLER_NOT_ALLOWED", null);
    assertThrows(PermissionDeniedException.class, () -> client.listClientSecrets("billing"));
    fake.integrationError = error(Status.Code.NOT_FOUND, "INTEGRATION_NOT_FOUND", null);
    assertThrows(NotFoundException.class, () -> client.listClientSecrets("billing"));
    assertTokenAndDeadline(3);
  }

  // --- RotateClientSecret -----------------------------------------------------------------------

  @Test
  void rotateClientSecret_sendsParentAndImmediate_andRetriesUnavailable() {
    fake.failuresLeft.set(2);
    RotateClientSecretResponse resp = client.rotateClientSecret("billing", true);
    assertEquals(RotateClientSecretResponse.State.STATE_DONE, resp.getState());
    assertEquals(List.of("uuid-1"), resp.getDeletedConsoleUuidsList());
    RotateClientSecretRequest want =
        RotateClientSecretRequest.newBuilder()
            .setParent("integrations/billing")
            .setImmediate(true)
            .build();
    assertEquals(List.<Message>of(want, want, want), fake.integrationRequests);
    assertTokenAndDeadline(3);
    assertOneDeadlineForAllAttempts();
  }

  @Test
  void rotateClientSecret_stopsAfterMaxAttempts() {
    fake.failuresLeft.set(10);
    assertThrows(
        UnavailableException.class, () -> client.rotateClientSecret("integrations/billing", false));
    RotateClientSecretRequest want =
        RotateClientSecretRequest.newBuilder().setParent("integrations/billing").build();
    assertEquals(List.<Message>of(want, want, want, want), fake.integrationRequests);
    assertTokenAndDeadline(4);
  }

  @Test
  void rotateClientSecret_abortedIsNotRetried() {
    fake.integrationError = error(Status.Code.ABORTED, "CONCURRENT_ROTATION", null);
    TokenbrokerException e =
        assertThrows(TokenbrokerException.class, () -> client.rotateClientSecret("billing", false));
    assertEquals(Status.Code.ABORTED, e.code());
    assertTokenAndDeadline(1);
  }

  // --- MigrateIntegration -----------------------------------------------------------------------

  @Test
  void migrateIntegration_namesTheIntegration_andSendsTheRest() {
    MigrateIntegrationRequest req =
        MigrateIntegrationRequest.newBuilder()
            .setName("legacy")
            .addScopes("openid")
            .addScopes("AdobeID")
            .setClientSecret("s2s-secret")
            .setEtag("etag-1")
            .build();
    Integration migrated = client.migrateIntegration(req);
    assertEquals("integrations/legacy", migrated.getName());
    assertEquals(AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER, migrated.getAuthMethod());
    assertEquals("legacy", req.getName(), "the caller's request is not modified");

    MigrateIntegrationRequest named = req.toBuilder().setName("integrations/legacy").build();
    client.migrateIntegration(named);
    assertEquals(List.<Message>of(named, named), fake.integrationRequests);
    assertTokenAndDeadline(2);
  }

  @Test
  void migrateIntegration_isNotRetried_andThrowsTypedErrors() {
    MigrateIntegrationRequest req =
        MigrateIntegrationRequest.newBuilder().setName("legacy").addScopes("openid").build();
    fake.failuresLeft.set(1);
    assertThrows(UnavailableException.class, () -> client.migrateIntegration(req));
    assertEquals(1, fake.integrationRequests.size(), "made once");

    fake.integrationError = error(Status.Code.FAILED_PRECONDITION, "NOT_JWT", null);
    TokenbrokerException e =
        assertThrows(TokenbrokerException.class, () -> client.migrateIntegration(req));
    assertInstanceOf(FailedPreconditionException.class, e);
    assertEquals("NOT_JWT", e.reason());

    fake.integrationError = error(Status.Code.ABORTED, "ETAG_MISMATCH", null);
    assertEquals(
        Status.Code.ABORTED,
        assertThrows(TokenbrokerException.class, () -> client.migrateIntegration(req)).code());
    assertTokenAndDeadline(3);
  }
}
