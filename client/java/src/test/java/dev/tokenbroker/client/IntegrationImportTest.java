package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.FieldMask;
import dev.tokenbroker.v1.AuthMethod;
import dev.tokenbroker.v1.ImportIntegrationsRequest;
import dev.tokenbroker.v1.ImportIntegrationsResponse;
import dev.tokenbroker.v1.Integration;
import dev.tokenbroker.v1.MigrateIntegrationRequest;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ImportIntegrations (and the errors of the other credential calls) against the real binaries:
 * a Developer Console download validated without writing, then imported.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IntegrationImportTest {
  /** A Console "Download JSON" of one OAuth S2S credential of the emulator's client c1. */
  private static final String CONSOLE_DOWNLOAD =
      "{\"project\":{\"id\":\"4566\",\"name\":\"billing\",\"org\":{\"id\":\"25591412\","
          + "\"name\":\"Acme\",\"ims_org_id\":\"ORG@AdobeOrg\"},\"workspace\":{\"id\":\"1356\","
          + "\"name\":\"Production\",\"details\":{\"credentials\":[{\"id\":\"17950\","
          + "\"name\":\"Billing S2S\",\"integration_type\":\"oauth_server_to_server\","
          + "\"oauth_server_to_server\":{\"client_id\":\"c1\",\"client_secrets\":[\"s1\"],"
          + "\"technical_account_id\":\"T@techacct.adobe.com\","
          + "\"technical_account_email\":\"t@techacct.adobe.com\","
          + "\"scopes\":[\"openid\",\"AdobeID\"]}}]}}}}";

  private static BrokerFixture broker;
  private static TokenbrokerClient client;

  @BeforeAll
  static void startBroker() throws Exception {
    broker = BrokerFixture.start(3600);
    client = TokenbrokerClient.create(broker.options().build());
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

  private static ImportIntegrationsRequest.Builder importOf(String file) {
    return ImportIntegrationsRequest.newBuilder().setCredentialFile(ByteString.copyFromUtf8(file));
  }

  /** UpdateIntegration takes an id as the name, as Python and Go do (client/BEHAVIOUR.md). */
  @Test
  void updateIntegration_acceptsAnId_andChangesOnlyTheMaskedField() {
    client.importIntegrations(importOf(CONSOLE_DOWNLOAD).setIntegrationId("renamed").build());
    Integration change = Integration.newBuilder().setName("renamed").setDisplayName("Billing").build();

    Integration updated =
        client.updateIntegration(change, FieldMask.newBuilder().addPaths("display_name").build());

    assertEquals("integrations/renamed", updated.getName());
    assertEquals("Billing", updated.getDisplayName());
    assertEquals("c1", updated.getClientId());
    assertEquals("renamed", change.getName(), "the argument is not changed");
  }

  @Test
  void importIntegrations_validateOnly_showsWhatWouldBeCreated_andWritesNothing() {
    ImportIntegrationsResponse dry =
        client.importIntegrations(importOf(CONSOLE_DOWNLOAD).setValidateOnly(true).build());
    assertEquals(1, dry.getImportedCount(), dry.toString());
    ImportIntegrationsResponse.Imported imported = dry.getImported(0);
    assertEquals(ImportIntegrationsResponse.Imported.Action.ACTION_CREATED, imported.getAction());
    assertEquals("project.workspace.details.credentials[0]", imported.getJsonPath());
    Integration would = imported.getIntegration();
    assertEquals("integrations/billing-s2s", would.getName());
    assertEquals(AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER, would.getAuthMethod());
    assertEquals("c1", would.getClientId());
    assertTrue(!dry.toString().contains("s1\""), "no secret in the response: " + dry);
    assertThrows(NotFoundException.class, () -> client.getIntegration("billing-s2s"));
  }

  @Test
  void importIntegrations_imports_thenAlreadyExists_andABadFileNamesTheJsonPath() {
    ImportIntegrationsResponse done =
        client.importIntegrations(importOf(CONSOLE_DOWNLOAD).setIntegrationId("imported").build());
    assertEquals("integrations/imported", done.getImported(0).getIntegration().getName());
    assertEquals("c1", client.getIntegration("imported").getClientId());
    assertTrue(client.getAccessToken("imported").accessToken().length() > 0);

    TokenbrokerException exists =
        assertThrows(
            TokenbrokerException.class,
            () ->
                client.importIntegrations(
                    importOf(CONSOLE_DOWNLOAD).setIntegrationId("imported").build()));
    assertEquals(Status.Code.ALREADY_EXISTS, exists.code());

    String broken =
        CONSOLE_DOWNLOAD.replace("\"client_secrets\":[\"s1\"]", "\"client_secrets\":[]");
    InvalidArgumentException bad =
        assertThrows(
            InvalidArgumentException.class,
            () -> client.importIntegrations(importOf(broken).setValidateOnly(true).build()));
    assertTrue(
        bad.getMessage().contains("project.workspace.details.credentials[0]"), bad.getMessage());
  }

  @Test
  void listClientSecrets_andMigrate_throwFailedPrecondition_forAnIntegrationWithoutThem() {
    client.createIntegration("plain", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
    FailedPreconditionException secrets =
        assertThrows(FailedPreconditionException.class, () -> client.listClientSecrets("plain"));
    assertTrue(secrets.getMessage().contains("no console_credential"), secrets.getMessage());
    FailedPreconditionException migrate =
        assertThrows(
            FailedPreconditionException.class,
            () ->
                client.migrateIntegration(
                    MigrateIntegrationRequest.newBuilder()
                        .setName("plain")
                        .addScopes("openid")
                        .build()));
    assertTrue(migrate.getMessage().contains("only a JWT integration"), migrate.getMessage());
  }
}
