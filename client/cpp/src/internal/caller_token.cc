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

std::string CallerToken::AuthorizationValue() {
  absl::MutexLock lock(&mu_);
  if (!path_.empty()) {
    absl::Time now = absl::Now();
    if (now - read_at_ >= reload_) {
      read_at_ = now;
      absl::StatusOr<std::string> raw = ReadSmallFile(path_, "caller_token_file");
      if (raw.ok()) {
        absl::StatusOr<std::string> value = CheckToken(*raw, "caller_token_file");
        if (value.ok()) value_ = *std::move(value);
      }
    }
  }
  return value_;
}

}  // namespace tokenbroker::client::internal
