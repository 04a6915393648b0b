#include "server/audit/audit_log.h"

#include <openssl/hmac.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::tokenbroker::testing::ReadFile;
using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WriteFile;

constexpr char kKey[] = "audit-key-0123456789abcdef0123456789abcdef";
constexpr char kToken[] = "eyJhbGciOiJSUzI1NiJ9.access-token-secret.sig";

// The documented fingerprint, computed here from its spec (audit_log.h):
// "hmac:" + the first 16 hex digits of HMAC-SHA256(audit key, token).
std::string SpecFingerprint(absl::string_view key, absl::string_view token) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &len);
  return "hmac:" +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), len)).substr(0, 16);
}

// The state a RecordingSink writes into; outlives the logger that owns the
// sink.
struct SinkState {
  absl::Mutex mu;
  std::vector<std::string> lines ABSL_GUARDED_BY(mu);
  std::vector<size_t> batch_sizes ABSL_GUARDED_BY(mu);
  bool failing ABSL_GUARDED_BY(mu) = false;

  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mu);
    return lines;
  }
  void SetFailing(bool value) {
    absl::MutexLock lock(&mu);
    failing = value;
  }
};

// Keeps lines in memory; fails with UNAVAILABLE while `failing`.
class RecordingSink final : public AuditSink {
 public:
  explicit RecordingSink(std::shared_ptr<SinkState> state) : state_(std::move(state)) {}
  absl::Status Write(const std::vector<std::string>& lines) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->failing) return absl::UnavailableError("sink failing (test)");
    state_->lines.insert(state_->lines.end(), lines.begin(), lines.end());
    state_->batch_sizes.push_back(lines.size());
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<SinkState> state_;
};

AuditRecord Record(const std::string& method = "/tokenbroker.v1.TokenService/GetAccessToken") {
  AuditRecord record;
  record.time = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone()) +
                absl::Milliseconds(123);
  record.request_id = "5f0c";
  record.caller = "svc-billing";
  record.peer = "ipv4:10.0.0.7:51234";
  record.method = method;
  record.integration = "acme";
  return record;
}

std::shared_ptr<const SecretString> Token(const std::string& value = kToken) {
  return std::make_shared<const SecretString>(value);
}

class AuditLoggerTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLogger> NewLogger(AuditFailureMode mode = AuditFailureMode::kServe,
                                         const std::string& key = kKey) {
    return std::make_unique<AuditLogger>(std::make_unique<RecordingSink>(state_), SecretString(key),
                                         mode);
  }

  std::shared_ptr<SinkState> state_ = std::make_shared<SinkState>();
};

TEST(AuditToJsonTest, ToJsonWritesTheDocumentedFieldsInOrderOnOneLine) {
  AuditRecord record = Record();
  record.x_debug_id = "dbg-1";
  std::string line = AuditLogger::ToJson(record, "hmac:0123456789abcdef");
  EXPECT_EQ(
      line,
      R"({"time":"2026-11-23T10:00:00.123Z","request_id":"5f0c","caller":"svc-billing",)"
      R"("peer":"ipv4:10.0.0.7:51234","method":"/tokenbroker.v1.TokenService/GetAccessToken",)"
      R"("integration":"acme","code":"OK","x_debug_id":"dbg-1",)"
      R"("token_fingerprint":"hmac:0123456789abcdef"})");
}

TEST(AuditToJsonTest, ToJsonOmitsEmptyOptionalFields) {
  AuditRecord record = Record("/tokenbroker.v1.IntegrationService/ListIntegrations");
  record.integration.clear();
  record.code = absl::StatusCode::kPermissionDenied;
  nlohmann::json line = nlohmann::json::parse(AuditLogger::ToJson(record, ""));
  EXPECT_EQ(line["code"], "PERMISSION_DENIED");
  EXPECT_FALSE(line.contains("integration"));
  EXPECT_FALSE(line.contains("x_debug_id"));
  EXPECT_FALSE(line.contains("token_fingerprint"));
  EXPECT_EQ(line["request_id"], "5f0c");  // always present
}

TEST(AuditToJsonTest, ToJsonEscapesCallerSuppliedTextSoALineCannotBeForged) {
  AuditRecord record = Record();
  record.caller = "evil\"}\n{\"caller\":\"admin";
  record.request_id = "id\twith\\tab";
  std::string line = AuditLogger::ToJson(record, "");
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["caller"], record.caller);
  EXPECT_EQ(parsed["request_id"], record.request_id);
}

TEST(AuditToJsonTest, ToJsonReplacesInvalidUtf8InsteadOfFailing) {
  AuditRecord record = Record();
  record.caller = std::string("cn-\xff\xfe");
  std::string line = AuditLogger::ToJson(record, "");
  nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(parsed.is_discarded()) << line;
  EXPECT_THAT(parsed["caller"].get<std::string>(), HasSubstr("cn-"));
}

TEST_F(AuditLoggerTest, RecordThenFlushHandsEveryLineToTheSinkInOrder) {
  auto logger = NewLogger();
  for (const char* method : {"/a", "/b", "/c"}) logger->Record(Record(method));
  logger->Flush();
  std::vector<std::string> lines = state_->Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["method"], "/a");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["method"], "/b");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["method"], "/c");
  EXPECT_EQ(logger->failures(), 0);
}

TEST_F(AuditLoggerTest, DestructorWritesWhatIsStillQueued) {
  auto logger = NewLogger();
  for (int i = 0; i < 50; ++i) logger->Record(Record(absl::StrCat("/m", i)));
  logger.reset();
  std::vector<std::string> lines = state_->Lines();
  ASSERT_EQ(lines.size(), 50u);
  EXPECT_EQ(nlohmann::json::parse(lines[49])["method"], "/m49");
}

TEST_F(AuditLoggerTest, FlushWithNothingRecordedReturnsAtOnce) {
  auto logger = NewLogger();
  logger->Flush();
  EXPECT_TRUE(state_->Lines().empty());
}

TEST_F(AuditLoggerTest, TokenAppearsOnlyAsItsKeyedFingerprint) {
  auto logger = NewLogger();
  AuditRecord record = Record();
  record.token = Token();
  logger->Record(record);
  logger->Flush();
  std::vector<std::string> lines = state_->Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], Not(HasSubstr(kToken)));
  EXPECT_THAT(lines[0], Not(HasSubstr("access-token-secret")));
  EXPECT_THAT(lines[0], Not(HasSubstr(kKey)));
  EXPECT_EQ(nlohmann::json::parse(lines[0])["token_fingerprint"], SpecFingerprint(kKey, kToken));
}

TEST_F(AuditLoggerTest, FingerprintIsTheSameForTheSameTokenAndDiffersForAnother) {
  auto logger = NewLogger();
  std::shared_ptr<const SecretString> token = Token();
  for (int i = 0; i < 3; ++i) {
    AuditRecord record = Record();
    record.token = i < 2 ? token : Token("another-token");
    logger->Record(record);
  }
  AuditRecord copy = Record();
  copy.token = Token();  // the same value in a different object
  logger->Record(copy);
  logger->Flush();
  std::vector<std::string> lines = state_->Lines();
  ASSERT_EQ(lines.size(), 4u);
  auto fingerprint = [&](int i) {
    return nlohmann::json::parse(lines[i])["token_fingerprint"].get<std::string>();
  };
  EXPECT_EQ(fingerprint(0), fingerprint(1));
  EXPECT_NE(fingerprint(0), fingerprint(2));
  EXPECT_EQ(fingerprint(2), SpecFingerprint(kKey, "another-token"));
  EXPECT_EQ(fingerprint(3), fingerprint(0));
}

TEST_F(AuditLoggerTest, FingerprintDependsOnTheAuditKey) {
  auto other_state = std::make_shared<SinkState>();
  {
    auto a = NewLogger();
    AuditLogger b(std::make_unique<RecordingSink>(other_state),
                  SecretString(std::string("another-audit-key-0123456789abcdef")),
                  AuditFailureMode::kServe);
    AuditRecord record = Record();
    record.token = Token();
    a->Record(record);
    b.Record(record);
  }
  ASSERT_EQ(state_->Lines().size(), 1u);
  ASSERT_EQ(other_state->Lines().size(), 1u);
  EXPECT_NE(nlohmann::json::parse(state_->Lines()[0])["token_fingerprint"],
            nlohmann::json::parse(other_state->Lines()[0])["token_fingerprint"]);
}

TEST_F(AuditLoggerTest, FingerprintsStayCorrectPastTheWriterCache) {
  // The writer caches fingerprints of recent tokens (256); many distinct
  // tokens must each still get their own.
  auto logger = NewLogger();
  for (int i = 0; i < 300; ++i) {
    AuditRecord record = Record();
    record.token = Token(absl::StrCat("token-", i));
    logger->Record(record);
  }
  logger->Flush();
  std::vector<std::string> lines = state_->Lines();
  ASSERT_EQ(lines.size(), 300u);
  for (int i : {0, 255, 256, 299}) {
    EXPECT_EQ(nlohmann::json::parse(lines[i])["token_fingerprint"],
              SpecFingerprint(kKey, absl::StrCat("token-", i)))
        << i;
  }
}

TEST_F(AuditLoggerTest, FailedWritesAreCountedAndServeModeKeepsAccepting) {
  auto logger = NewLogger(AuditFailureMode::kServe);
  state_->SetFailing(true);
  logger->Record(Record());
  logger->Record(Record());
  logger->Flush();
  EXPECT_EQ(logger->failures(), 2);
  EXPECT_TRUE(logger->Accepting());
}

TEST_F(AuditLoggerTest, RefuseModeStopsAcceptingAfterAFailedWriteUntilAWriteSucceeds) {
  auto logger = NewLogger(AuditFailureMode::kRefuse);
  EXPECT_TRUE(logger->Accepting());
  state_->SetFailing(true);
  logger->Record(Record("/lost"));
  logger->Flush();
  EXPECT_FALSE(logger->Accepting());
  EXPECT_EQ(logger->failures(), 1);

  state_->SetFailing(false);
  logger->Record(Record("/kept"));
  logger->Flush();
  EXPECT_TRUE(logger->Accepting());
  std::vector<std::string> lines = state_->Lines();
  ASSERT_EQ(lines.size(), 1u);  // the failed line is lost, not retried
  EXPECT_EQ(nlohmann::json::parse(lines[0])["method"], "/kept");
}

TEST(FileAuditSinkTest, OpenCreatesTheFileOwnerOnlyAndWriteAppendsLines) {
  TempDir dir;
  std::string path = dir.File("audit.log");
  auto sink = FileAuditSink::Open(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write({"one", "two"}).ok());
  ASSERT_TRUE((*sink)->Write({"three"}).ok());
  // Flushed per batch: readable before the sink is closed.
  EXPECT_EQ(ReadFile(path), "one\ntwo\nthree\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(FileAuditSinkTest, OpenAppendsToAnExistingFile) {
  TempDir dir;
  std::string path = dir.File("audit.log");
  WriteFile(path, "earlier\n");
  {
    auto sink = FileAuditSink::Open(path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    ASSERT_TRUE((*sink)->Write({"later"}).ok());
  }
  EXPECT_EQ(ReadFile(path), "earlier\nlater\n");
}

TEST(FileAuditSinkTest, OpenInAMissingDirectoryIsFailedPreconditionNamingTheFlag) {
  TempDir dir;
  auto sink = FileAuditSink::Open(dir.File("no/such/dir/audit.log"));
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(sink.status().message()), HasSubstr("--audit-log="));
}

TEST(FileAuditSinkTest, WriteToAFullDeviceIsUnavailableNamingThePath) {
  auto sink = FileAuditSink::Open("/dev/full");
  ASSERT_TRUE(sink.ok()) << sink.status();
  absl::Status written = (*sink)->Write({"line"});
  EXPECT_EQ(written.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(written.message()), HasSubstr("cannot write the audit log /dev/full"));
}

TEST(FileAuditSinkTest, AuditLoggerOverAFileWritesOneParsableLinePerRecord) {
  TempDir dir;
  std::string path = dir.File("audit.log");
  auto sink = FileAuditSink::Open(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  {
    AuditLogger logger(*std::move(sink), SecretString(std::string(kKey)), AuditFailureMode::kServe);
    AuditRecord record = Record();
    record.token = Token();
    logger.Record(record);
    logger.Record(Record("/tokenbroker.v1.IntegrationService/ListIntegrations"));
  }
  std::string content = ReadFile(path);
  EXPECT_THAT(content, Not(HasSubstr(kToken)));
  std::vector<std::string> lines = absl::StrSplit(content, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["token_fingerprint"], SpecFingerprint(kKey, kToken));
  EXPECT_EQ(nlohmann::json::parse(lines[1])["method"],
            "/tokenbroker.v1.IntegrationService/ListIntegrations");
}

TEST(LoadAuditKeyTest, LoadAuditKeyStripsTheTrailingNewline) {
  TempDir dir;
  WriteFile(dir.File("audit.key"), std::string(kKey) + "\n");
  absl::StatusOr<SecretString> key = LoadAuditKey(dir.File("audit.key"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->value(), kKey);
}

TEST(LoadAuditKeyTest, LoadAuditKeyMissingFileIsNotFoundNamingTheFlag) {
  TempDir dir;
  absl::StatusOr<SecretString> key = LoadAuditKey(dir.File("absent.key"));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("--audit-key-file"));
}

TEST(LoadAuditKeyTest, LoadAuditKeyShorterThan32BytesIsInvalidArgumentWithoutTheKey) {
  TempDir dir;
  WriteFile(dir.File("audit.key"), "short-key-31-bytes-long-0123456\n");
  absl::StatusOr<SecretString> key = LoadAuditKey(dir.File("audit.key"));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("at least 32 bytes"));
  EXPECT_THAT(std::string(key.status().message()), Not(HasSubstr("short-key")));
}

}  // namespace
}  // namespace tokenbroker
