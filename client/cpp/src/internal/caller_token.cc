#include "internal/caller_token.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "internal/status_macros.h"

namespace tokenbroker::client::internal {
namespace {

// gRPC metadata values (non-binary keys) must be printable ASCII.
absl::StatusOr<std::string> CheckToken(absl::string_view raw, const char* origin) {
  absl::string_view token = absl::StripAsciiWhitespace(raw);
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(origin, " is empty"));
  for (char c : token) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, " holds a character that gRPC metadata cannot carry"));
    }
  }
  return absl::StrCat("Bearer ", token);
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", what, " '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::unique_ptr<CallerToken>> CallerToken::FromString(absl::string_view token) {
  TBC_ASSIGN_OR_RETURN(std::string value, CheckToken(token, "caller_token"));
  return std::unique_ptr<CallerToken>(
      new CallerToken("", absl::InfiniteDuration(), std::move(value), absl::InfiniteFuture()));
}

absl::StatusOr<std::unique_ptr<CallerToken>> CallerToken::FromFile(std::string path,
                                                                   absl::Duration reload) {
  TBC_ASSIGN_OR_RETURN(std::string raw, ReadSmallFile(path, "caller_token_file"));
  TBC_ASSIGN_OR_RETURN(std::string value, CheckToken(raw, "caller_token_file"));
  return std::unique_ptr<CallerToken>(
      new CallerToken(std::move(path), reload, std::move(value), absl::Now()));
}

absl::StatusOr<std::string> CallerToken::AuthorizationValue() {
  absl::MutexLock lock(&mu_);
  if (path_.empty() || absl::Now() - read_at_ < reload_) return value_;
  // A failed read is not remembered: the next call reads the file again.
  absl::StatusOr<std::string> raw = ReadSmallFile(path_, "caller_token_file");
  absl::StatusOr<std::string> value =
      raw.ok() ? CheckToken(*raw, "caller_token_file") : raw.status();
  if (!value.ok()) {
    // The messages name the file, never its content.
    return absl::UnauthenticatedError(
        absl::StrCat(value.status().message(), " (caller_token_file '", path_, "')"));
  }
  value_ = *std::move(value);
  read_at_ = absl::Now();
  return value_;
}

}  // namespace tokenbroker::client::internal
