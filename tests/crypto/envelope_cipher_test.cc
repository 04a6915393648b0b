#include "server/crypto/envelope_cipher.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kContext[] = "integration/acme/credentials";
constexpr char kPlaintext[] = "PLAINTEXT-client-secret-0123456789";
const absl::Time kNow = absl::FromUnixSeconds(1'795'400'000);

// Header bytes before the wrapped DEK: magic, version, id length, id, length.
constexpr size_t kHeaderSize = 3 + 1 + 1 + 17 + 2;
constexpr size_t kIdOffset = 5;
constexpr size_t kIdSize = 17;
constexpr size_t kWrappedDekSize = 60;
constexpr size_t kEnvelopeOverhead = kHeaderSize + kWrappedDekSize + 28;

Keyring MustGenerate(absl::Time now = kNow) {
  auto keyring = Keyring::Generate(now);
  EXPECT_TRUE(keyring.ok()) << keyring.status();
  return *std::move(keyring);
}

std::unique_ptr<KeyringEnvelopeCipher> MustNew(Keyring keyring) {
  auto cipher = KeyringEnvelopeCipher::New(std::move(keyring));
  EXPECT_TRUE(cipher.ok()) << cipher.status();
  return *std::move(cipher);
}

std::string MustSeal(EnvelopeCipher& cipher, absl::string_view plaintext,
                     absl::string_view context = kContext) {
  auto sealed = cipher.Seal(plaintext, context);
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  return sealed.ok() ? *sealed : std::string();
}

// The key bytes of `keyring` in every spelling a careless message might use.
std::vector<std::string> KeySpellings(const Keyring& keyring) {
  std::vector<std::string> out;
  for (const std::string& id : keyring.ids()) {
    absl::string_view key = keyring.Find(id)->value();
    out.emplace_back(key);
    out.push_back(absl::Base64Escape(key));
    out.push_back(absl::BytesToHexString(key));
  }
  return out;
}

class KeyringEnvelopeCipherTest : public ::testing::Test {
 protected:
  KeyringEnvelopeCipherTest() : keyring_(MustGenerate()), cipher_(MustNew(keyring_)) {}

  Keyring keyring_;
  std::unique_ptr<KeyringEnvelopeCipher> cipher_;
};

TEST_F(KeyringEnvelopeCipherTest, SealThenOpenReturnsThePlaintext) {
  for (size_t size : {0, 1, 31, 32, 33, 4096}) {
    std::string plaintext(size, '\0');
    for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>(i * 13 + 1);
    std::string sealed = MustSeal(*cipher_, plaintext);
    EXPECT_EQ(sealed.size(), size + kEnvelopeOverhead);
    auto opened = cipher_->Open(sealed, kContext);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->value(), plaintext) << size;
  }
}

TEST_F(KeyringEnvelopeCipherTest, SealWritesTheDocumentedHeader) {
  std::string sealed = MustSeal(*cipher_, kPlaintext);
  ASSERT_GE(sealed.size(), kHeaderSize);
  EXPECT_EQ(sealed.substr(0, 3), "TBE");
  EXPECT_EQ(sealed[3], '\x01');
  EXPECT_EQ(sealed[4], static_cast<char>(kIdSize));
  EXPECT_EQ(sealed.substr(kIdOffset, kIdSize), keyring_.primary_id());
  EXPECT_EQ(sealed[22], '\x00');
  EXPECT_EQ(sealed[23], '\x3c');  // 60
  EXPECT_THAT(sealed, Not(HasSubstr(kPlaintext)));
}

// Built with Python's `cryptography` package straight from the format in
// envelope_cipher.h (KEK = bytes 0..31, DEK = bytes 100..131, fixed nonces),
// so it checks the documented layout, not just self-consistency.
TEST(KeyringEnvelopeCipherFormatTest, OpensAnEnvelopeBuiltIndependentlyFromTheSpec) {
  auto keyring = Keyring::Parse(
      R"({"version":1,"primary":"k-20261123-ab12cd","keys":[{"id":"k-20261123-ab12cd",)"
      R"("created":"2026-11-23T10:00:00Z","key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]})");
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  auto cipher = MustNew(*std::move(keyring));
  const std::string golden = absl::HexStringToBytes(
      "54424501116b2d32303236313132332d616231326364003c000102030405060708090a0b2367b07cad8ca870"
      "e12cf9e4c1980a1ef7a3f14388022507441a9bfa9de882314c80cde0bfbb5dfdc51c4171742e782ba0a1a2a3"
      "a4a5a6a7a8a9aaab170824e86cb0b2aa5ecc096405e6b33ceb2e9e5fbea17eaa433f67f028f29f1c81");
  auto opened = cipher->Open(golden, "integration/acme/credentials");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->value(), "client-secret-123");
  auto id = cipher->KeyIdOf(golden);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "k-20261123-ab12cd");
}

TEST_F(KeyringEnvelopeCipherTest, TwoSealsOfTheSamePlaintextDiffer) {
  std::string a = MustSeal(*cipher_, kPlaintext);
  std::string b = MustSeal(*cipher_, kPlaintext);
  EXPECT_NE(a, b);
  // Different data keys, so different wrapped keys and payloads.
  EXPECT_NE(a.substr(kHeaderSize, kWrappedDekSize), b.substr(kHeaderSize, kWrappedDekSize));
  EXPECT_NE(a.substr(kHeaderSize + kWrappedDekSize), b.substr(kHeaderSize + kWrappedDekSize));
}

TEST_F(KeyringEnvelopeCipherTest, OpenFailsWhenAnySingleByteIsChanged) {
  const std::string sealed = MustSeal(*cipher_, "tiny");
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ mask);
      auto opened = cipher_->Open(tampered, kContext);
      ASSERT_FALSE(opened.ok()) << "byte " << i << " mask " << int{mask};
      const bool in_key_id = i >= kIdOffset && i < kIdOffset + kIdSize;
      if (in_key_id && opened.status().code() == absl::StatusCode::kFailedPrecondition) {
        // A damaged id that is still well-formed names a key we do not have:
        // indistinguishable from a missing key, and still refused.
        EXPECT_THAT(opened.status().message(), HasSubstr("is not in the keyring"));
        continue;
      }
      EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << i << " mask " << int{mask} << ": " << opened.status();
      EXPECT_THAT(opened.status().message(),
                  AnyOf(HasSubstr("envelope: malformed"), HasSubstr("authentication failed")));
    }
  }
}

TEST_F(KeyringEnvelopeCipherTest, OpenFailsWithDataLossWhenTruncatedOrExtended) {
  const std::string sealed = MustSeal(*cipher_, "tiny");
  for (size_t len = 0; len < sealed.size(); ++len) {
    auto opened = cipher_->Open(sealed.substr(0, len), kContext);
    ASSERT_FALSE(opened.ok()) << len;
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << len;
  }
  EXPECT_EQ(cipher_->Open(sealed + "x", kContext).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(KeyringEnvelopeCipherTest, OpenFailsWithDataLossInAnotherContext) {
  const std::string sealed = MustSeal(*cipher_, kPlaintext, "integration/acme/credentials");
  const std::string with_nul("integration/acme/credentials\0", 29);
  for (const std::string& context :
       {std::string("integration/other/credentials"), std::string("integration/acme/credential"),
        std::string(), with_nul}) {
    auto opened = cipher_->Open(sealed, context);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << context;
    EXPECT_THAT(opened.status().message(), HasSubstr("authentication failed"));
  }
}

TEST_F(KeyringEnvelopeCipherTest, CiphertextCopiedToAnotherRowDoesNotOpenThere) {
  // Two rows, each with its own sealed secret; an attacker with write access
  // to the table swaps them.
  const std::string acme = MustSeal(*cipher_, "acme-secret", "integration/acme/credentials");
  const std::string other = MustSeal(*cipher_, "other-secret", "integration/other/credentials");
  EXPECT_EQ(cipher_->Open(acme, "integration/other/credentials").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(cipher_->Open(other, "integration/acme/credentials").status().code(),
            absl::StatusCode::kDataLoss);
  // Nor does a payload grafted onto another row's header and wrapped key.
  std::string grafted =
      acme.substr(0, kHeaderSize + kWrappedDekSize) + other.substr(kHeaderSize + kWrappedDekSize);
  EXPECT_EQ(cipher_->Open(grafted, "integration/acme/credentials").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(KeyringEnvelopeCipherTest, OpenWithoutTheKekIsFailedPreconditionNamingTheId) {
  const std::string sealed = MustSeal(*cipher_, kPlaintext);
  auto stranger = MustNew(MustGenerate());
  auto opened = stranger->Open(sealed, kContext);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(),
              HasSubstr(absl::StrCat("key-encryption key '", keyring_.primary_id(),
                                     "' is not in the keyring")));
  EXPECT_EQ(stranger->Rewrap(sealed, kContext).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyringEnvelopeCipherTest, KeyIdOfReadsTheHeaderOnly) {
  const std::string sealed = MustSeal(*cipher_, kPlaintext);
  EXPECT_EQ(cipher_->PrimaryKeyId(), keyring_.primary_id());
  auto id = cipher_->KeyIdOf(sealed);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, keyring_.primary_id());
  // A cipher without the key still reads the id; a damaged payload does not
  // matter.
  std::string damaged = sealed;
  damaged.back() ^= 1;
  auto other_id = MustNew(MustGenerate())->KeyIdOf(damaged);
  ASSERT_TRUE(other_id.ok());
  EXPECT_EQ(*other_id, keyring_.primary_id());

  for (const std::string& bad :
       {std::string(), std::string("TBE"), std::string("TBE\x02"),
        std::string("XYZ\x01\x11k-20261123-ab12cd"), sealed.substr(0, kHeaderSize - 1)}) {
    auto status = cipher_->KeyIdOf(bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(status.message(), HasSubstr("envelope: malformed"));
  }
}

TEST(KeyringEnvelopeCipherRotationTest, AfterAddPrimaryOldEnvelopesOpenAndNewOnesUseTheNewKey) {
  Keyring keyring = MustGenerate();
  const std::string old_id = keyring.primary_id();
  const std::string old_sealed = MustSeal(*MustNew(keyring), kPlaintext);

  auto new_id = keyring.AddPrimary(kNow + absl::Hours(24 * 90));
  ASSERT_TRUE(new_id.ok());
  auto cipher = MustNew(keyring);
  EXPECT_EQ(cipher->PrimaryKeyId(), *new_id);

  auto opened = cipher->Open(old_sealed, kContext);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->value(), kPlaintext);
  EXPECT_EQ(*cipher->KeyIdOf(old_sealed), old_id);

  const std::string new_sealed = MustSeal(*cipher, kPlaintext);
  EXPECT_EQ(*cipher->KeyIdOf(new_sealed), *new_id);
}

TEST(KeyringEnvelopeCipherRotationTest, RewrapMovesToThePrimaryAndKeepsThePayload) {
  Keyring keyring = MustGenerate();
  const std::string old_id = keyring.primary_id();
  const std::string old_sealed = MustSeal(*MustNew(keyring), kPlaintext);
  ASSERT_TRUE(keyring.AddPrimary(kNow + absl::Hours(24)).ok());
  auto cipher = MustNew(keyring);

  auto rewrapped = cipher->Rewrap(old_sealed, kContext);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*cipher->KeyIdOf(*rewrapped), keyring.primary_id());
  EXPECT_EQ(rewrapped->size(), old_sealed.size());
  // The payload (nonce | ciphertext | tag) is carried over byte for byte.
  EXPECT_EQ(rewrapped->substr(kHeaderSize + kWrappedDekSize),
            old_sealed.substr(kHeaderSize + kWrappedDekSize));
  auto opened = cipher->Open(*rewrapped, kContext);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->value(), kPlaintext);

  // Rewrapping again is a no-op.
  auto again = cipher->Rewrap(*rewrapped, kContext);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *rewrapped);

  // Once everything is rewrapped the old key can go; rewrapped data still
  // opens, data that was not rewrapped names the missing key.
  ASSERT_TRUE(keyring.Remove(old_id).ok());
  auto pruned = MustNew(keyring);
  EXPECT_TRUE(pruned->Open(*rewrapped, kContext).ok());
  auto stale = pruned->Open(old_sealed, kContext);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(), HasSubstr(old_id));
}

TEST(KeyringEnvelopeCipherRotationTest, RewrapRefusesDamagedEnvelopesAndWrongContexts) {
  Keyring keyring = MustGenerate();
  const std::string old_sealed = MustSeal(*MustNew(keyring), kPlaintext);
  ASSERT_TRUE(keyring.AddPrimary(kNow + absl::Hours(24)).ok());
  auto cipher = MustNew(keyring);

  std::string damaged_payload = old_sealed;
  damaged_payload.back() ^= 1;
  EXPECT_EQ(cipher->Rewrap(damaged_payload, kContext).status().code(), absl::StatusCode::kDataLoss);
  std::string damaged_dek = old_sealed;
  damaged_dek[kHeaderSize + 20] ^= 1;
  EXPECT_EQ(cipher->Rewrap(damaged_dek, kContext).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(cipher->Rewrap(old_sealed, "elsewhere").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(cipher->Rewrap("garbage", kContext).status().code(), absl::StatusCode::kDataLoss);
}

TEST(KeyringEnvelopeCipherErrorsTest, NoMessageContainsPlaintextOrKeyBytes) {
  Keyring keyring = MustGenerate();
  const std::string old_id = keyring.primary_id();
  const std::string sealed = MustSeal(*MustNew(keyring), kPlaintext);
  ASSERT_TRUE(keyring.AddPrimary(kNow).ok());
  auto cipher = MustNew(keyring);
  Keyring pruned = keyring;
  ASSERT_TRUE(pruned.Remove(old_id).ok());
  auto pruned_cipher = MustNew(pruned);

  std::vector<absl::Status> errors;
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] ^= 0x01;
    errors.push_back(cipher->Open(tampered, kContext).status());
    errors.push_back(cipher->Rewrap(tampered, kContext).status());
  }
  errors.push_back(cipher->Open(sealed, "wrong").status());
  errors.push_back(cipher->Rewrap(sealed, "wrong").status());
  errors.push_back(pruned_cipher->Open(sealed, kContext).status());
  errors.push_back(cipher->KeyIdOf(sealed.substr(0, 10)).status());
  errors.push_back(cipher->Open(kPlaintext, kContext).status());

  const std::vector<std::string> keys = KeySpellings(keyring);
  for (const absl::Status& status : errors) {
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(status.message(), Not(HasSubstr(kPlaintext)));
    EXPECT_THAT(status.message(), Not(HasSubstr("PLAINTEXT")));
    for (const std::string& key : keys) EXPECT_THAT(status.message(), Not(HasSubstr(key)));
  }
}

TEST(KeyringEnvelopeCipherConcurrencyTest, SealAndOpenFromManyThreads) {
  auto cipher = MustNew(MustGenerate());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cipher, &failures, t] {
      for (int i = 0; i < 200; ++i) {
        std::string plaintext = absl::StrCat("secret-", t, "-", i);
        std::string context = absl::StrCat("row/", t, "/", i);
        auto sealed = cipher->Seal(plaintext, context);
        if (!sealed.ok()) {
          ++failures;
          continue;
        }
        auto opened = cipher->Open(*sealed, context);
        if (!opened.ok() || opened->value() != plaintext) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace tokenbroker
