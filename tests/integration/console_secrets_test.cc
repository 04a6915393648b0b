// HttpConsoleSecrets over real TLS (CurlHttpTransport) against the
// emulator's Developer Console secrets API, with tokens the emulator minted.
#include "server/console/console_secrets.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/http/curl_http_transport.h"
#include "tests/testing/stack.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::tokenbroker::testing::ImsEmulatorProcess;
using json = nlohmann::json;

constexpr char kClient[] = "console-client";
constexpr char kFirstSecret[] = "console-first-secret";
const ConsoleTarget kCredential = {"25591412", "17606512", kClient};

class ConsoleSecretsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> scopes = absl::StrSplit(kConsoleSecretsScopes, ',');
    json client = {{"client_id", kClient},
                   {"client_secrets", {kFirstSecret}},
                   {"org_id", "ACME@AdobeOrg"},
                   {"scopes", scopes},
                   {"console_org_id", kCredential.org_id},
                   {"console_credential_id", kCredential.credential_id}};
    auto ims = ImsEmulatorProcess::Start({client});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = *std::move(ims);
    CurlHttpTransportOptions options;
    options.ca_file = ims_->ca_file();
    auto transport = CurlHttpTransport::New(options);
    ASSERT_TRUE(transport.ok()) << transport.status();
    transport_ = *std::move(transport);
    console_ = std::make_unique<HttpConsoleSecrets>(transport_, ims_->url(), absl::Seconds(10));
  }

  // A token of the credential, minted at the emulator's /ims/token/v3.
  SecretString Token(const std::string& secret, const std::string& scope = kConsoleSecretsScopes) {
    HttpRequest request;
    request.url = ims_->url() + "/ims/token/v3";
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = SecretString(absl::StrCat("grant_type=client_credentials&client_id=", kClient,
                                             "&client_secret=", secret, "&scope=", scope));
    auto response = transport_->Send(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return SecretString();
    EXPECT_EQ(response->status_code, 200) << response->body.value();
    json body = json::parse(response->body.value(), nullptr, false);
    return SecretString(body.is_object() ? body.value("access_token", "") : "");
  }

  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::shared_ptr<CurlHttpTransport> transport_;
  std::unique_ptr<HttpConsoleSecrets> console_;
};

TEST_F(ConsoleSecretsIntegrationTest, AddsSwitchesAndDeletesASecret) {
  SecretString token = Token(kFirstSecret);
  auto before = console_->List(kCredential, token);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->size(), 1u);
  ASSERT_TRUE((*before)[0].last_used.has_value());  // the token above used it

  auto added = console_->Add(kCredential, token);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_THAT(std::string(added->value.value()), StartsWith("p8e-"));
  SecretString new_token = Token(std::string(added->value.value()));
  absl::Status deleted = console_->Delete(kCredential, new_token, (*before)[0].uuid);
  ASSERT_TRUE(deleted.ok()) << deleted;

  auto after = console_->List(kCredential, new_token);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].uuid, added->uuid);
  EXPECT_TRUE((*after)[0].last_used.has_value());
}

TEST_F(ConsoleSecretsIntegrationTest, RefusalsArriveAsStatusesThatSayWhatToDo) {
  SecretString token = Token(kFirstSecret);
  ASSERT_TRUE(console_->Add(kCredential, token).ok());

  absl::Status third = console_->Add(kCredential, token).status();
  EXPECT_EQ(third.code(), absl::StatusCode::kFailedPrecondition) << third;
  EXPECT_THAT(third.message(), HasSubstr("(2)"));

  absl::Status read_only =
      console_->Add(kCredential, Token(kFirstSecret, "openid,adobeio_api,read_client_secret"))
          .status();
  EXPECT_EQ(read_only.code(), absl::StatusCode::kFailedPrecondition) << read_only;
  EXPECT_THAT(read_only.message(), HasSubstr("manage_client_secrets"));

  ConsoleTarget unknown = kCredential;
  unknown.credential_id = "404";
  EXPECT_EQ(console_->List(unknown, token).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tokenbroker
