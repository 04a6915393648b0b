// The credentials record sealed by the SQLite store (SCHEMA.md).
#include "server/store/stored_record.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker::internal {
namespace {

using ::testing::HasSubstr;

Integration Sample() {
  Integration in;
  in.id = "acme";
  in.auth_method = AuthMethod::kJwt;
  in.client_id = "client";
  in.org_id = "ORG@AdobeOrg";
  in.technical_account_id = "TECH@techacct.adobe.com";
  in.ims_url = "https://ims-na1.adobelogin.com";
  in.credentials.client_secrets = {SecretString(std::string("s1")), SecretString(std::string(""))};
  in.credentials.private_key_pem = SecretString(std::string("-----BEGIN PRIVATE KEY-----\n"));
  return in;
}

// `in` without its credentials, as read from the plaintext columns.
Integration Columns(Integration in) {
  in.credentials = Credentials();
  return in;
}

TEST(SqliteRecordTest, ContextsNameTheRowAndField) {
  EXPECT_EQ(CredentialsContext("acme"), "integrations/acme/credentials");
  EXPECT_EQ(TokenContext("acme"), "integrations/acme/token");
}

TEST(SqliteRecordTest, EncodeThenDecodeRoundTripsEverySecret) {
  SecretString record = EncodeCredentialsRecord(Sample());
  Integration out = Columns(Sample());
  ASSERT_TRUE(DecodeCredentialsRecord(record.value(), &out).ok());
  ASSERT_EQ(out.credentials.client_secrets.size(), 2u);
  EXPECT_EQ(out.credentials.client_secrets[0].value(), "s1");
  EXPECT_EQ(out.credentials.client_secrets[1].value(), "");
  EXPECT_EQ(out.credentials.private_key_pem.value(), "-----BEGIN PRIVATE KEY-----\n");
}

TEST(SqliteRecordTest, EncodingIsTheDocumentedByteLayout) {
  Integration in;
  in.auth_method = AuthMethod::kOAuthServerToServer;
  in.client_id = "c";
  in.credentials.client_secrets = {SecretString(std::string("xy"))};
  SecretString record = EncodeCredentialsRecord(in);
  std::string want(
      "\x01"              // version
      "\x01\0\0\0\x02xy"  // client secret
      "\x02\0\0\0\0"      // private key (empty)
      "\x10\0\0\0\x01"    // auth_method "1"
      "1"                 //
      "\x11\0\0\0\x01"    // client_id
      "c"                 //
      "\x12\0\0\0\0"      // org_id
      "\x13\0\0\0\0"      // technical_account_id
      "\x14\0\0\0\0",     // ims_url
      1 + 7 + 5 + 6 + 6 + 5 + 5 + 5);
  EXPECT_EQ(record.value(), want);
}

TEST(SqliteRecordTest, DecodeRejectsAChangedBoundField) {
  SecretString record = EncodeCredentialsRecord(Sample());
  Integration out = Columns(Sample());
  out.ims_url = "https://attacker.example";
  absl::Status status = DecodeCredentialsRecord(record.value(), &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("ims_url"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("attacker")));
  EXPECT_TRUE(out.credentials.client_secrets.empty());
}

TEST(SqliteRecordTest, DecodeRejectsMalformedRecords) {
  std::string good(EncodeCredentialsRecord(Sample()).value());
  std::string unknown_version = good;
  unknown_version[0] = '\x02';
  std::string unknown_tag = good + std::string("\x7f\0\0\0\0", 5);
  for (const std::string& bad : {std::string(), good.substr(0, good.size() - 1), good.substr(0, 3),
                                 unknown_version, unknown_tag}) {
    Integration out = Columns(Sample());
    EXPECT_EQ(DecodeCredentialsRecord(bad, &out).code(), absl::StatusCode::kDataLoss)
        << absl::CEscape(bad);
  }
}

TEST(StoredColumnsTest, SecretInfoJsonIsTheDocumentedArray) {
  std::vector<ClientSecretInfo> infos = {{absl::FromUnixNanos(1'790'000'000'123'456'789), "uuid-1"},
                                         {absl::InfinitePast(), ""}};
  absl::StatusOr<std::string> json = SecretInfoToJson(infos);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"([{"console_uuid":"uuid-1","create_time_ns":1790000000123456789},)"
                   R"({"console_uuid":"","create_time_ns":null}])");
  EXPECT_EQ(SecretInfoToJson({}).value(), "[]");
}

TEST(StoredColumnsTest, SecretInfoJsonRoundTripsUnknownAndExtremeTimes) {
  std::vector<ClientSecretInfo> infos = {{absl::InfinitePast(), ""},
                                         {absl::InfiniteFuture(), "b"},
                                         {absl::FromUnixNanos(-1), "\xc3\xa9\"quoted\""}};
  std::vector<ClientSecretInfo> out = {{absl::UnixEpoch(), "stale"}};
  ASSERT_TRUE(SecretInfoFromJson(SecretInfoToJson(infos).value(), &out).ok());
  EXPECT_TRUE(out == infos);
}

// A rotation under way: the roles and a retire time since the epoch (read
// back by nlohmann as an unsigned number, which must fit an int64).
TEST(StoredColumnsTest, SecretInfoJsonRoundTripsARotationUnderWay) {
  const absl::Time t = absl::FromUnixNanos(1'790'000'000'123'456'789);
  std::vector<ClientSecretInfo> infos = {
      {t, "new", SecretRotationRole::kNone},
      {t - absl::Hours(1), "old", SecretRotationRole::kRetiring, t},
      {t, "added", SecretRotationRole::kPending}};
  std::vector<ClientSecretInfo> out;
  absl::Status read = SecretInfoFromJson(SecretInfoToJson(infos).value(), &out);
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_TRUE(out == infos);
}

TEST(StoredColumnsTest, SecretInfoFromJsonReadsMissingKeysAsUnknownAndIgnoresOthers) {
  std::vector<ClientSecretInfo> out;
  ASSERT_TRUE(SecretInfoFromJson(R"([{}, {"console_uuid": "u", "later": [1]}])", &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0] == ClientSecretInfo());
  EXPECT_EQ(out[1].create_time, absl::InfinitePast());
  EXPECT_EQ(out[1].console_uuid, "u");
}

TEST(StoredColumnsTest, SecretInfoFromJsonRejectsMalformedColumnsAsDataLoss) {
  for (const char* bad :
       {"", "not json", "{}", "null", "[1]", "[[]]", R"([{"create_time_ns": "soon"}])",
        R"([{"create_time_ns": 1.5}])", R"([{"create_time_ns": 9223372036854775808}])",
        R"([{"console_uuid": 7}])", R"([{"console_uuid": null}])",
        R"([{"retire_time_ns": "soon"}])", R"([{"retire_time_ns": 9223372036854775808}])",
        R"([{"rotation": "done"}])"}) {
    std::vector<ClientSecretInfo> out;
    absl::Status status = SecretInfoFromJson(bad, &out);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_THAT(std::string(status.message()), HasSubstr("client_secret_info")) << bad;
  }
}

TEST(StoredColumnsTest, SecretInfoToJsonRefusesAUuidThatIsNotUtf8) {
  absl::StatusOr<std::string> json = SecretInfoToJson({{absl::InfinitePast(), "\xff"}});
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(json.status().message()), HasSubstr("UTF-8"));
}

TEST(StoredColumnsTest, RotationPeriodColumnKeepsDefaultZeroAndInfinite) {
  for (std::optional<absl::Duration> period :
       {std::optional<absl::Duration>(), std::optional(absl::ZeroDuration()),
        std::optional(absl::Hours(24 * 90)), std::optional(absl::InfiniteDuration()),
        std::optional(-absl::InfiniteDuration())}) {
    EXPECT_EQ(DurationFromColumn(DurationToColumn(period)), period);
  }
  EXPECT_EQ(DurationToColumn(std::nullopt), std::nullopt);
  EXPECT_EQ(DurationToColumn(absl::ZeroDuration()), 0);
}

TEST(StoredColumnsTest, FitSecretInfoToSecretsPadsAndTrims) {
  Integration in = Sample();  // two secrets
  in.client_secret_info = {{absl::UnixEpoch(), "u"}};
  FitSecretInfoToSecrets(&in);
  ASSERT_EQ(in.client_secret_info.size(), 2u);
  EXPECT_EQ(in.client_secret_info[0].console_uuid, "u");
  EXPECT_TRUE(in.client_secret_info[1] == ClientSecretInfo());
  in.credentials.client_secrets.pop_back();
  FitSecretInfoToSecrets(&in);
  ASSERT_EQ(in.client_secret_info.size(), 1u);
  EXPECT_EQ(in.client_secret_info[0].console_uuid, "u");
}

}  // namespace
}  // namespace tokenbroker::internal
