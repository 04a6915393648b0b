#include "client/tokenctl/secrets.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/tokenctl/flags.h"

namespace tokenbroker::tokenctl {

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

void Secret::Wipe() {
  value_.resize(value_.capacity());
  OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

namespace {

std::string DisplayName(const std::string& path) { return path == "-" ? "stdin" : path; }

absl::StatusOr<Secret> ReadAll(const std::string& path, std::istream& in) {
  if (path.empty()) return absl::InvalidArgumentError("empty file name");
  if (path == "-") {
    return Secret(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  Secret content(std::string(std::istreambuf_iterator<char>(file), {}));
  if (file.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  return content;
}

}  // namespace

absl::StatusOr<std::vector<Secret>> ReadClientSecrets(const std::string& path, std::istream& in) {
  absl::StatusOr<Secret> content = ReadAll(path, in);
  if (!content.ok()) return content.status();
  absl::string_view text = content->value();
  if (absl::EndsWith(text, "\n")) text.remove_suffix(1);
  std::vector<Secret> secrets;
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), " holds no client secret"));
  }
  int line = 0;
  while (true) {
    ++line;
    size_t end = text.find('\n');
    absl::string_view secret = text.substr(0, end);
    if (absl::EndsWith(secret, "\r")) secret.remove_suffix(1);
    if (secret.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), ": line ", line,
                                                     " is empty; expected one client "
                                                     "secret per line"));
    }
    if (secrets.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(DisplayName(path), " holds more than two client secrets (one per line)"));
    }
    if (!IsValidUtf8(secret)) {
      return absl::InvalidArgumentError(
          absl::StrCat(DisplayName(path), ": line ", line, " is not valid UTF-8"));
    }
    secrets.emplace_back(std::string(secret));
    if (end == absl::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return secrets;
}

absl::StatusOr<Secret> ReadPrivateKey(const std::string& path, std::istream& in) {
  absl::StatusOr<Secret> content = ReadAll(path, in);
  if (!content.ok()) return content.status();
  if (content->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), " is empty"));
  }
  if (!absl::StrContains(content->value(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), " holds no PEM private key"));
  }
  if (!IsValidUtf8(content->value())) {
    return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), " is not valid UTF-8"));
  }
  return content;
}

absl::StatusOr<Secret> ReadCredentialFile(const std::string& path, std::istream& in) {
  // The server's --max-admin-request-bytes default; a Console download of a
  // workspace is a few KiB.
  constexpr size_t kMaxBytes = 64 * 1024;
  absl::StatusOr<Secret> content = ReadAll(path, in);
  if (!content.ok()) return content.status();
  absl::string_view text = absl::StripAsciiWhitespace(content->value());
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), " is empty"));
  if (content->value().size() > kMaxBytes) {
    return absl::InvalidArgumentError(absl::StrCat(DisplayName(path), " is larger than ",
                                                   kMaxBytes / 1024,
                                                   " KiB: not a Developer Console download"));
  }
  if (text.front() != '{') {
    return absl::InvalidArgumentError(
        absl::StrCat(DisplayName(path),
                     " is not a JSON object (expected the Developer Console's "
                     "\"Download JSON\" or an AEM service credential)"));
  }
  return content;
}

}  // namespace tokenbroker::tokenctl
