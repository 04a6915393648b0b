// Reading secrets for tokenctl: only ever from files or stdin, never from
// argv (where `ps` and shell history would show them).
#ifndef TOKENBROKER_CLIENT_TOKENCTL_SECRETS_H_
#define TOKENBROKER_CLIENT_TOKENCTL_SECRETS_H_

#include <istream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbroker::tokenctl {

// Bytes that must not outlive their use: wiped (OPENSSL_cleanse) when
// destroyed or moved from. Move-only, no operator<<: `value()` is the one way
// in. (The server's SecretString is in server/, which tokenctl does not
// include; this is the little tokenctl needs.)
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { Wipe(); }

  absl::string_view value() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  // Wipes the whole buffer, spare capacity included, and empties it.
  void Wipe();
  std::string value_;
};

// Reads the client secrets in `path` (`-`: all of `in`): one secret per line,
// one or two lines (two while a secret is being rotated). One trailing newline
// is stripped, as is a `\r` ending a line.
// Errors: INVALID_ARGUMENT (unreadable file, no secret, an empty line, more
// than two). Messages name the file, never its content.
absl::StatusOr<std::vector<Secret>> ReadClientSecrets(const std::string& path, std::istream& in);

// Reads the PEM private key in `path` (`-`: all of `in`) verbatim.
// Errors: INVALID_ARGUMENT (unreadable or empty file, no PEM block).
absl::StatusOr<Secret> ReadPrivateKey(const std::string& path, std::istream& in);

// Reads an Adobe credential file (a Developer Console download, an AEM
// service credential) in `path` (`-`: all of `in`) verbatim: it holds
// client secrets (and a private key).
// Errors: INVALID_ARGUMENT (unreadable or empty file, larger than 64 KiB,
// not a JSON object). Messages name the file, never its content.
absl::StatusOr<Secret> ReadCredentialFile(const std::string& path, std::istream& in);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_SECRETS_H_
