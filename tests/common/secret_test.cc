#include "server/common/secret.h"

#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

TEST(SecretStringTest, ValueReturnsWhatWasStored) {
  SecretString secret(std::string("s3cret"));
  EXPECT_EQ(secret.value(), "s3cret");
  EXPECT_EQ(secret.size(), 6u);
  EXPECT_FALSE(secret.empty());
  EXPECT_TRUE(SecretString().empty());
}

TEST(SecretStringTest, WipeEmptiesTheValue) {
  SecretString secret(std::string("s3cret"));
  secret.Wipe();
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.value(), "");
}

TEST(SecretStringTest, MoveLeavesTheSourceEmpty) {
  SecretString source(std::string("a-long-secret-beyond-the-small-string-buffer"));
  SecretString moved(std::move(source));
  EXPECT_EQ(moved.value(), "a-long-secret-beyond-the-small-string-buffer");
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): checking the wipe

  SecretString assigned(std::string("old"));
  assigned = std::move(moved);
  EXPECT_EQ(assigned.value(), "a-long-secret-beyond-the-small-string-buffer");
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(SecretStringTest, CopyKeepsBothValues) {
  SecretString a(std::string("s3cret"));
  SecretString b(a);
  SecretString c;
  c = a;
  EXPECT_EQ(a.value(), "s3cret");
  EXPECT_EQ(b.value(), "s3cret");
  EXPECT_EQ(c.value(), "s3cret");
}

TEST(SecretStringTest, SelfAssignmentKeepsTheValue) {
  SecretString a(std::string("s3cret"));
  SecretString& self = a;
  a = self;
  EXPECT_EQ(a.value(), "s3cret");
}

TEST(SecretStringTest, EqualityComparesContentAndLength) {
  EXPECT_TRUE(SecretString(std::string("abc")) == SecretString(std::string("abc")));
  EXPECT_FALSE(SecretString(std::string("abc")) == SecretString(std::string("abd")));
  EXPECT_FALSE(SecretString(std::string("abc")) == SecretString(std::string("abcd")));
  EXPECT_TRUE(SecretString() == SecretString(std::string()));
}

TEST(SecretStringTest, HoldsArbitraryBytesIncludingNul) {
  std::string bytes("a\0b", 3);
  SecretString secret(bytes);
  EXPECT_EQ(secret.size(), 3u);
  EXPECT_EQ(secret.value(), bytes);
}

TEST(WipeStringTest, OverwritesTheBufferUpToItsCapacityAndEmptiesIt) {
  std::string s("an-older-and-much-longer-secret-value-beyond-sso");
  s = "short-secret-still-on-the-heap";  // keeps the buffer: the old tail is spare capacity
  const char* buffer = s.data();
  const size_t capacity = s.capacity();
  WipeString(&s);
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(s.data(), buffer);  // clear() keeps the buffer: its bytes can be checked
  absl::string_view bytes(buffer, capacity);
  EXPECT_EQ(bytes.find("secret"), absl::string_view::npos);
  EXPECT_EQ(bytes.find("beyond"), absl::string_view::npos);
}

TEST(FingerprintTest, FingerprintIsSha256PrefixAndFirst16HexDigits) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  EXPECT_EQ(Fingerprint("abc"), "sha256:ba7816bf8f01cfea");
  // SHA-256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  EXPECT_EQ(Fingerprint(""), "sha256:e3b0c44298fc1c14");
}

TEST(FingerprintTest, FingerprintDoesNotContainTheValue) {
  EXPECT_THAT(Fingerprint("p@ss-value"), ::testing::Not(::testing::HasSubstr("p@ss")));
}

}  // namespace
}  // namespace tokenbroker
