// Reading secrets for tokenctl: only ever from files or stdin, never from
// argv (where `ps` and shell history would show them).
#ifndef TOKENBROKER_CLIENT_TOKENCTL_SECRETS_H_
#define TOKENBROKER_CLIENT_TOKENCTL_SECRETS_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/secret.h"

namespace tokenbroker::tokenctl {

// Reads the client secrets in `path` (`-`: all of `in`): one secret per line,
// one or two lines (two while a secret is being rotated). One trailing newline
// is stripped, as is a `\r` ending a line.
// Errors: INVALID_ARGUMENT (unreadable file, no secret, an empty line, more
// than two). Messages name the file, never its content.
absl::StatusOr<std::vector<SecretString>> ReadClientSecrets(const std::string& path,
                                                            std::istream& in);

// Reads the PEM private key in `path` (`-`: all of `in`) verbatim.
// Errors: INVALID_ARGUMENT (unreadable or empty file, no PEM block).
absl::StatusOr<SecretString> ReadPrivateKey(const std::string& path, std::istream& in);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_SECRETS_H_
