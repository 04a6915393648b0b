// A fake EnvelopeCipher for the SQLite store's tests.
//
// INSECURE TEST DOUBLE: it does not encrypt anything. A "ciphertext" is
//
//   FAKE|<key id>|<context>|<base64(plaintext)>|<hex SHA-256(key id, context, plaintext)>
//
// so the plaintext is trivially recoverable. It exists so that store tests
// need no real keyring, while still behaving like the real cipher where the
// store depends on it: Open fails with DATA_LOSS when a byte changed or the
// context differs, with FAILED_PRECONDITION naming the key id when the key is
// not in the (switchable) keyring; Rewrap moves a ciphertext to the primary
// key; KeyIdOf reads the header. Never use it outside tests.
#ifndef TOKENBROKER_TESTS_STORE_SQLITE_TEST_CIPHER_H_
#define TOKENBROKER_TESTS_STORE_SQLITE_TEST_CIPHER_H_

#include <openssl/sha.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "server/crypto/envelope.h"

namespace tokenbroker::testing {

class FakeEnvelopeCipher final : public EnvelopeCipher {
 public:
  // A keyring holding only `primary`.
  explicit FakeEnvelopeCipher(std::string primary = "test-key-1") : primary_(primary) {
    known_.insert(std::move(primary));
  }

  // Adds `key_id` to the keyring (if missing) and makes it the primary.
  void SetPrimary(const std::string& key_id) {
    absl::MutexLock lock(&mu_);
    known_.insert(key_id);
    primary_ = key_id;
  }
  void AddKey(const std::string& key_id) {
    absl::MutexLock lock(&mu_);
    known_.insert(key_id);
  }
  // Forgets `key_id` (it may not be the primary).
  void RemoveKey(const std::string& key_id) {
    absl::MutexLock lock(&mu_);
    known_.erase(key_id);
  }

  absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                   absl::string_view context) override {
    return SealWith(PrimaryKeyId(), plaintext, context);
  }

  absl::StatusOr<SecretString> Open(absl::string_view ciphertext,
                                    absl::string_view context) override {
    std::vector<std::string> parts = absl::StrSplit(ciphertext, '|');
    if (parts.size() != 5 || parts[0] != "FAKE") {
      return absl::DataLossError("fake ciphertext: unknown format");
    }
    {
      absl::MutexLock lock(&mu_);
      if (known_.count(parts[1]) == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("key '", parts[1], "' is not in the keyring"));
      }
    }
    std::string plaintext;
    if (!absl::Base64Unescape(parts[3], &plaintext)) {
      return absl::DataLossError("fake ciphertext: bad payload");
    }
    if (parts[2] != context || parts[4] != Digest(parts[1], parts[2], plaintext)) {
      return absl::DataLossError("fake ciphertext: integrity check failed");
    }
    return SecretString(std::move(plaintext));
  }

  absl::StatusOr<std::string> Rewrap(absl::string_view ciphertext,
                                     absl::string_view context) override {
    absl::StatusOr<SecretString> plaintext = Open(ciphertext, context);
    if (!plaintext.ok()) return plaintext.status();
    return SealWith(PrimaryKeyId(), plaintext->value(), context);
  }

  absl::StatusOr<std::string> KeyIdOf(absl::string_view ciphertext) const override {
    std::vector<std::string> parts = absl::StrSplit(ciphertext, '|');
    if (parts.size() != 5 || parts[0] != "FAKE") {
      return absl::DataLossError("fake ciphertext: unknown format");
    }
    return parts[1];
  }

  std::string PrimaryKeyId() const override {
    absl::MutexLock lock(&mu_);
    return primary_;
  }

  // A ciphertext under `key_id` whether or not it is in the keyring.
  static std::string SealWith(absl::string_view key_id, absl::string_view plaintext,
                              absl::string_view context) {
    return absl::StrCat("FAKE|", key_id, "|", context, "|", absl::Base64Escape(plaintext), "|",
                        Digest(key_id, context, plaintext));
  }

 private:
  static std::string Digest(absl::string_view key_id, absl::string_view context,
                            absl::string_view plaintext) {
    std::string input =
        absl::StrCat(key_id.size(), ":", key_id, context.size(), ":", context, plaintext);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  }

  mutable absl::Mutex mu_;
  std::string primary_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> known_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_STORE_SQLITE_TEST_CIPHER_H_
