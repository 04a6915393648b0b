// HttpConsoleSecrets against scripted answers: requests, error mapping and
// what messages may carry. tests/integration/console_secrets_test.cc runs it
// against the emulator over TLS.
#include "server/console/console_secrets.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "tests/testing/fake_http_transport.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::tokenbroker::testing::FakeHttpTransport;
using json = nlohmann::json;

constexpr char kToken[] = "eyJ.console-token-secret.sig";
const ConsoleTarget kCredential = {"25591412", "17606512", "the-client-id"};

class ConsoleSecretsTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeHttpTransport> transport_ = std::make_shared<FakeHttpTransport>();
  HttpConsoleSecrets console_{transport_, "https://api.adobe.io", absl::Seconds(7)};
  SecretString token_{std::string(kToken)};
};

TEST_F(ConsoleSecretsTest, ListSendsTheTokenAndApiKeyAndReadsTheLatestUse) {
  transport_->EnqueueJson(
      200, {{"client_id", "the-client-id"},
            {"client_secrets",
             {{{"uuid", "u-1"}, {"created_at", 1700000000000}, {"secret_usages", json::array()}},
              {{"uuid", "u-2"},
               {"created_at", 1710000000000},
               {"secret_usages",
                {{{"last_used_at", 1720000000000}, {"grant_type", "client_credentials"}},
                 {{"last_used_at", 1730000000000}, {"grant_type", "client_credentials"}}}}}}}});

  absl::StatusOr<std::vector<ConsoleSecret>> secrets = console_.List(kCredential, token_);

  ASSERT_TRUE(secrets.ok()) << secrets.status();
  ASSERT_EQ(secrets->size(), 2u);
  EXPECT_EQ((*secrets)[0].uuid, "u-1");
  EXPECT_EQ((*secrets)[0].created, absl::FromUnixMillis(1700000000000));
  EXPECT_FALSE((*secrets)[0].last_used.has_value());
  EXPECT_EQ((*secrets)[1].last_used, absl::FromUnixMillis(1730000000000));
  HttpRequest sent = transport_->requests().at(0);
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(sent.url,
            "https://api.adobe.io/console/organizations/25591412/credentials/17606512/secrets");
  EXPECT_EQ(sent.timeout, absl::Seconds(7));
  EXPECT_THAT(sent.headers, ::testing::Contains(std::make_pair(std::string("Authorization"),
                                                               std::string("Bearer ") + kToken)));
  EXPECT_THAT(sent.headers, ::testing::Contains(std::make_pair(std::string("x-api-key"),
                                                               std::string("the-client-id"))));
}

TEST_F(ConsoleSecretsTest, AddReturnsTheValueAndDeleteAddressesTheUuid) {
  transport_->EnqueueJson(200, {{"client_id", "the-client-id"},
                                {"client_secret", "p8e-new-secret"},
                                {"uuid", "u-3"},
                                {"created_at", 1740000000000}});
  transport_->Enqueue(HttpResponse{204, {}, SecretString()});

  absl::StatusOr<AddedConsoleSecret> added = console_.Add(kCredential, token_);
  absl::Status deleted = console_.Delete(kCredential, token_, "u-1");

  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->value.value(), "p8e-new-secret");
  EXPECT_EQ(added->uuid, "u-3");
  EXPECT_TRUE(deleted.ok()) << deleted;
  EXPECT_EQ(transport_->requests().at(0).method, "POST");
  EXPECT_EQ(transport_->requests().at(1).method, "DELETE");
  EXPECT_THAT(transport_->requests().at(1).url, ::testing::EndsWith("/secrets/u-1"));
}

struct Refusal {
  int http_status;
  absl::StatusCode code;
  std::string says;
};

class ConsoleRefusalTest : public ConsoleSecretsTest,
                           public ::testing::WithParamInterface<Refusal> {};

TEST_P(ConsoleRefusalTest, EachRefusalSaysWhatTheOperatorMustDo) {
  transport_->EnqueueJson(GetParam().http_status,
                          {{"error_code", "403025"}, {"message", "Adobe says\nno"}});

  absl::StatusOr<AddedConsoleSecret> added = console_.Add(kCredential, token_);

  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), GetParam().code) << added.status();
  EXPECT_THAT(added.status().message(), HasSubstr(GetParam().says));
  EXPECT_THAT(added.status().message(), HasSubstr("Adobe says?no"));  // printable only
  EXPECT_THAT(added.status().message(), Not(HasSubstr(kToken)));
  auto info = GetErrorInfo(added.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("http_status"), std::to_string(GetParam().http_status));
  EXPECT_EQ(info->metadata().at("error_code"), "403025");
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, ConsoleRefusalTest,
    ::testing::Values(Refusal{400, absl::StatusCode::kFailedPrecondition, "most secrets"},
                      Refusal{401, absl::StatusCode::kFailedPrecondition, "refused the credential"},
                      Refusal{403, absl::StatusCode::kFailedPrecondition, "I/O Management API"},
                      Refusal{404, absl::StatusCode::kNotFound, "Console org and credential ids"},
                      Refusal{409, absl::StatusCode::kFailedPrecondition, "migration"},
                      Refusal{503, absl::StatusCode::kUnavailable, "HTTP 503"}));

TEST_F(ConsoleSecretsTest, A429CarriesItsRetryAfter) {
  transport_->EnqueueJson(429, {{"message", "slow down"}}, {{"retry-after", "12"}});

  absl::Status status = console_.List(kCredential, token_).status();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(status.GetPayload(kRetryInfoTypeUrl).has_value());
}

TEST_F(ConsoleSecretsTest, UnreadableAnswersAndMissingIdsAreRefusedWithoutSending) {
  transport_->EnqueueJson(200, {{"client_secrets", "not-an-array"}});
  transport_->EnqueueJson(200, {{"uuid", "u-9"}});  // no value: nothing to persist

  EXPECT_EQ(console_.List(kCredential, token_).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(console_.Add(kCredential, token_).status().code(), absl::StatusCode::kUnavailable);
  ConsoleTarget no_ids = {"", "", "the-client-id"};
  EXPECT_EQ(console_.List(no_ids, token_).status().code(), absl::StatusCode::kFailedPrecondition);
  ConsoleTarget injected = {"1/../../x", "2", "the-client-id"};
  EXPECT_EQ(console_.List(injected, token_).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(console_.Delete(kCredential, token_, "u/../x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_->request_count(), 2);
}

TEST_F(ConsoleSecretsTest, AUuidThatIsNotAPathSegmentIsABadResponseNotAUrl) {
  transport_->EnqueueJson(200, {{"client_secrets", {{{"uuid", "../../admin"}}}}});
  absl::StatusOr<std::vector<ConsoleSecret>> listed = console_.List(kCredential, token_);
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(listed.status().message()), HasSubstr("well-formed uuid"));
}

TEST_F(ConsoleSecretsTest, ANewSecretThatIsNotPrintableAsciiIsABadResponse) {
  transport_->EnqueueJson(200, {{"client_secret", "p8e new\nsecret"}, {"uuid", "u-4"}});
  absl::StatusOr<AddedConsoleSecret> added = console_.Add(kCredential, token_);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(added.status().message()), Not(HasSubstr("p8e")));
}

TEST_F(ConsoleSecretsTest, TimesThatAreNotIntegerMillisecondsReadAsUnknown) {
  transport_->EnqueueJson(
      200,
      {{"client_secrets",
        {{{"uuid", "u-1"}, {"created_at", 1.7e300}},
         {{"uuid", "u-2"}, {"created_at", -5}, {"secret_usages", {{{"last_used_at", "x"}}}}}}}});
  absl::StatusOr<std::vector<ConsoleSecret>> listed = console_.List(kCredential, token_);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ((*listed)[0].created, absl::InfinitePast());
  EXPECT_EQ((*listed)[1].created, absl::InfinitePast());
  EXPECT_FALSE((*listed)[1].last_used.has_value());
}

TEST_F(ConsoleSecretsTest, AnAnswerEchoingTheTokenHasItCutOutOfTheError) {
  transport_->EnqueueJson(
      403, {{"error_code", kToken}, {"message", absl::StrCat("Bearer ", kToken, " is not valid")}});
  absl::StatusOr<std::vector<ConsoleSecret>> listed = console_.List(kCredential, token_);
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(listed.status().message()), HasSubstr("Bearer <token> is not valid"));
  EXPECT_THAT(std::string(listed.status().message()), Not(HasSubstr(kToken)));
  EXPECT_EQ(GetErrorInfo(listed.status())->metadata().at("error_code"), "<token>");
}

}  // namespace
}  // namespace tokenbroker
