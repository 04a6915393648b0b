#include "server/crypto/aead.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

SecretString TestKey(char fill = 'k') { return SecretString(std::string(32, fill)); }

std::unique_ptr<AesGcmAead> NewAead(const SecretString& key) {
  auto aead = AesGcmAead::New(key);
  EXPECT_TRUE(aead.ok()) << aead.status();
  return *std::move(aead);
}

TEST(AesGcmAeadTest, NewRejectsKeysThatAreNot32Bytes) {
  for (size_t size : {0, 1, 16, 24, 31, 33, 64}) {
    auto aead = AesGcmAead::New(SecretString(std::string(size, 'x')));
    ASSERT_FALSE(aead.ok()) << size;
    EXPECT_EQ(aead.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(aead.status().message(), HasSubstr("32-byte key"));
    EXPECT_THAT(aead.status().message(), Not(HasSubstr("xxxx")));
  }
}

TEST(AesGcmAeadTest, EncryptThenDecryptReturnsPlaintextForManySizes) {
  auto aead = NewAead(TestKey());
  for (size_t size : {0, 1, 15, 16, 17, 31, 32, 33, 1000, 65536}) {
    std::string plaintext(size, 'p');
    for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>(i * 7);
    auto ciphertext = aead->Encrypt(plaintext, "ad");
    ASSERT_TRUE(ciphertext.ok()) << ciphertext.status();
    EXPECT_EQ(ciphertext->size(), size + AesGcmAead::kOverhead);
    auto decrypted = aead->Decrypt(*ciphertext, "ad");
    ASSERT_TRUE(decrypted.ok()) << decrypted.status();
    EXPECT_EQ(decrypted->value(), plaintext) << size;
  }
}

TEST(AesGcmAeadTest, EncryptWithEmptyAssociatedDataRoundTrips) {
  auto aead = NewAead(TestKey());
  auto ciphertext = aead->Encrypt("secret", "");
  ASSERT_TRUE(ciphertext.ok());
  auto decrypted = aead->Decrypt(*ciphertext, "");
  ASSERT_TRUE(decrypted.ok());
  EXPECT_EQ(decrypted->value(), "secret");
}

TEST(AesGcmAeadTest, EncryptTwiceGivesDifferentNonceAndCiphertext) {
  auto aead = NewAead(TestKey());
  auto a = aead->Encrypt("same plaintext", "ad");
  auto b = aead->Encrypt("same plaintext", "ad");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->substr(0, AesGcmAead::kNonceSize), b->substr(0, AesGcmAead::kNonceSize));
  EXPECT_NE(*a, *b);
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16
// (AES-256, 96-bit IV, with AAD), laid out as nonce | ciphertext | tag.
TEST(AesGcmAeadTest, DecryptAcceptsPublishedTestVector) {
  const std::string key =
      absl::HexStringToBytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string ad = absl::HexStringToBytes("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string ciphertext = absl::HexStringToBytes(
      "cafebabefacedbaddecaf888"
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  const std::string plaintext = absl::HexStringToBytes(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  auto aead = NewAead(SecretString(key));
  auto decrypted = aead->Decrypt(ciphertext, ad);
  ASSERT_TRUE(decrypted.ok()) << decrypted.status();
  EXPECT_EQ(decrypted->value(), plaintext);
}

TEST(AesGcmAeadTest, DecryptFailsWithDataLossWhenAnyByteIsFlipped) {
  auto aead = NewAead(TestKey());
  auto ciphertext = aead->Encrypt("a small secret", "ad");
  ASSERT_TRUE(ciphertext.ok());
  for (size_t i = 0; i < ciphertext->size(); ++i) {
    for (unsigned char mask : {0x01, 0x80}) {
      std::string tampered = *ciphertext;
      tampered[i] = static_cast<char>(tampered[i] ^ mask);
      auto decrypted = aead->Decrypt(tampered, "ad");
      ASSERT_FALSE(decrypted.ok()) << "byte " << i;
      EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
      EXPECT_THAT(decrypted.status().message(), HasSubstr("authentication failed"));
    }
  }
}

TEST(AesGcmAeadTest, DecryptFailsWithDataLossWhenTruncatedOrExtended) {
  auto aead = NewAead(TestKey());
  auto ciphertext = aead->Encrypt("a small secret", "ad");
  ASSERT_TRUE(ciphertext.ok());
  for (size_t len = 0; len < ciphertext->size(); ++len) {
    auto decrypted = aead->Decrypt(ciphertext->substr(0, len), "ad");
    ASSERT_FALSE(decrypted.ok()) << len;
    EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kDataLoss) << len;
  }
  auto extended = aead->Decrypt(*ciphertext + "x", "ad");
  EXPECT_EQ(extended.status().code(), absl::StatusCode::kDataLoss);
}

TEST(AesGcmAeadTest, DecryptFailsWithDataLossForOtherAssociatedData) {
  auto aead = NewAead(TestKey());
  auto ciphertext = aead->Encrypt("secret", "row/1");
  ASSERT_TRUE(ciphertext.ok());
  for (const char* ad : {"row/2", "", "row/1 ", "row/"}) {
    auto decrypted = aead->Decrypt(*ciphertext, ad);
    EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kDataLoss) << ad;
  }
}

TEST(AesGcmAeadTest, DecryptFailsWithDataLossUnderAnotherKey) {
  auto ciphertext = NewAead(TestKey('a'))->Encrypt("secret", "ad");
  ASSERT_TRUE(ciphertext.ok());
  auto decrypted = NewAead(TestKey('b'))->Decrypt(*ciphertext, "ad");
  EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(decrypted.status().message(), Not(HasSubstr("secret")));
}

TEST(RandomSecretTest, ReturnsRequestedSizeAndDiffersBetweenCalls) {
  auto a = internal::RandomSecret(32);
  auto b = internal::RandomSecret(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_FALSE(*a == *b);
}

}  // namespace
}  // namespace tokenbroker
