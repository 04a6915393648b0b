#ifndef TOKENBROKER_SERVER_COMMON_SECRET_H_
#define TOKENBROKER_SERVER_COMMON_SECRET_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace tokenbroker {

// Bytes that must not leak: client secrets, private keys, access tokens.
// The buffer is wiped (OPENSSL_cleanse) when the value is destroyed or
// overwritten. There is deliberately no operator<< and no implicit
// conversion to string, so a secret cannot end up in a log line by accident;
// `value()` is the one explicit way in.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  explicit SecretString(absl::string_view value) : value_(value) {}
  SecretString(const SecretString& other) = default;
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
  SecretString& operator=(const SecretString& other) {
    if (this != &other) {
      Wipe();
      value_ = other.value_;
    }
    return *this;
  }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      Wipe();
      value_ = std::move(other.value_);
      other.Wipe();
    }
    return *this;
  }
  ~SecretString() { Wipe(); }

  absl::string_view value() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }
  bool operator==(const SecretString& other) const;

  // Wipes and empties the buffer.
  void Wipe();

 private:
  std::string value_;
};

// Overwrites every byte `s` owns, spare capacity included (OPENSSL_cleanse),
// and empties it: for secrets in strings we do not own the type of
// (protobuf fields, a parsed JSON value) before they are freed.
void WipeString(std::string* s);

// `sha256:` and the first 16 hex digits of SHA-256(value): safe to show.
// The format is fingerprint::Sha256Fingerprint (client/common/fingerprint.h),
// shared with tokenctl.
std::string Fingerprint(absl::string_view value);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_SECRET_H_
