// Pins the fingerprint formats of client/common/fingerprint.h. The expected
// values were computed with the server's implementation before it moved to
// client/common (AuditLogger::KeyedFingerprint and tokenbroker::Fingerprint
// at 786a2dc) and agree with
//   printf %s TOKEN | openssl dgst -sha256 -hmac KEY     (first 16 hex digits)
//   printf %s VALUE | sha256sum                          (first 16 hex digits)
// A change here makes existing audit logs and CredentialInfo fingerprints
// incomparable with new ones: it is a format change, not a test fix.
#include "client/common/fingerprint.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker::fingerprint {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";

TEST(AuditFingerprintTest, MatchesPinnedVector) {
  EXPECT_EQ(AuditFingerprint(kKey, "tokenctl-vector-token"), "hmac:b4f08af764370708");
}

TEST(AuditFingerprintTest, EmptyKeyAndTokenMatchPinnedVector) {
  EXPECT_EQ(AuditFingerprint("", ""), "hmac:b613679a0814d9ec");
}

TEST(AuditFingerprintTest, DependsOnKey) {
  EXPECT_NE(AuditFingerprint(kKey, "t"),
            AuditFingerprint("another key of at least 32 bytes!", "t"));
}

TEST(Sha256FingerprintTest, MatchesPinnedVectors) {
  EXPECT_EQ(Sha256Fingerprint("secret"), "sha256:2bb80d537b1da3e3");
  EXPECT_EQ(Sha256Fingerprint(""), "sha256:e3b0c44298fc1c14");
}

class ReadAuditKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fingerprint_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::remove(path().c_str());
    std::remove(dir_.c_str());
  }
  std::string path() const { return dir_ + "/audit.key"; }
  void Write(const std::string& content) const {
    std::FILE* f = std::fopen(path().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }

  std::string dir_;
};

TEST_F(ReadAuditKeyFileTest, StripsTrailingWhitespaceOnly) {
  Write(std::string(" ") + kKey + "\r\n\n");
  absl::StatusOr<std::string> key = ReadAuditKeyFile(path());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, std::string(" ") + kKey);
}

TEST_F(ReadAuditKeyFileTest, ShortKeyIsInvalidArgument) {
  Write(std::string(31, 'k') + "\n");
  absl::StatusOr<std::string> key = ReadAuditKeyFile(path());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("at least 32 bytes"));
}

TEST_F(ReadAuditKeyFileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> key = ReadAuditKeyFile(path());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(key.status().message(), HasSubstr(path()));
}

}  // namespace
}  // namespace tokenbroker::fingerprint
