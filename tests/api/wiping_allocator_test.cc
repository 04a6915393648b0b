#include "server/api/wiping_allocator.h"

#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

TEST(WipeSecretsTest, CreateRequestLosesItsCredentialsAndKeepsTheRest) {
  v1::CreateIntegrationRequest request;
  request.set_integration_id("demo");
  request.mutable_integration()->set_client_id("client");
  request.mutable_integration()->mutable_credentials()->add_client_secrets("first-secret");
  request.mutable_integration()->mutable_credentials()->add_client_secrets("second-secret");
  request.mutable_integration()->mutable_credentials()->set_private_key_pem("-----BEGIN");
  WipeSecrets(&request);
  const v1::Credentials& credentials = request.integration().credentials();
  ASSERT_EQ(credentials.client_secrets_size(), 2);
  EXPECT_EQ(credentials.client_secrets(0), "");
  EXPECT_EQ(credentials.client_secrets(1), "");
  EXPECT_EQ(credentials.private_key_pem(), "");
  EXPECT_EQ(request.integration().client_id(), "client");
}

TEST(WipeSecretsTest, UpdateRequestLosesItsCredentials) {
  v1::UpdateIntegrationRequest request;
  request.mutable_integration()->mutable_credentials()->add_client_secrets("new-secret");
  WipeSecrets(&request);
  EXPECT_EQ(request.integration().credentials().client_secrets(0), "");
}

TEST(WipeSecretsTest, MigrateRequestLosesItsClientSecretAndKeepsTheRest) {
  v1::MigrateIntegrationRequest request;
  request.set_name("integrations/legacy");
  request.set_client_secret("s2s-secret");
  WipeSecrets(&request);
  EXPECT_EQ(request.client_secret(), "");
  EXPECT_EQ(request.name(), "integrations/legacy");
}

TEST(WipeSecretsTest, TokenResponsesLoseTheirToken) {
  v1::GetAccessTokenResponse get;
  get.mutable_token()->set_access_token("eyJ-token");
  get.mutable_token()->set_integration("integrations/demo");
  WipeSecrets(&get);
  EXPECT_EQ(get.token().access_token(), "");
  EXPECT_EQ(get.token().integration(), "integrations/demo");

  v1::RefreshAccessTokenResponse refresh;
  refresh.mutable_token()->set_access_token("eyJ-token");
  WipeSecrets(&refresh);
  EXPECT_EQ(refresh.token().access_token(), "");

  v1::GetRequestHeadersResponse headers;
  v1::Header* authorization = headers.add_headers();
  authorization->set_name("Authorization");
  authorization->set_value("Bearer eyJ-token");
  WipeSecrets(&headers);
  EXPECT_EQ(headers.headers(0).value(), "");
  EXPECT_EQ(headers.headers(0).name(), "Authorization");
}

TEST(WipeSecretsTest, MessagesWithoutSecretsAreLeftAlone) {
  v1::GetAccessTokenRequest request;
  request.set_name("integrations/demo");
  WipeSecrets(&request);
  EXPECT_EQ(request.name(), "integrations/demo");
}

}  // namespace
}  // namespace tokenbroker
