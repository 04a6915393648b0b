// Answers of the Developer Console's client-secrets API
// (server/console/console_secrets.h), as HttpConsoleSecrets reads them for a
// list, an add or a delete. Input: byte 0 picks the HTTP status, byte 1 the
// call and whether a Retry-After header (the next 8 bytes) comes along; the
// rest is the body. Invariants: an error is FAILED_PRECONDITION, NOT_FOUND or
// UNAVAILABLE with a short message and details that never hold the bearer
// token (an answer may echo it); a
// listing's uuids and a new secret's uuid are safe URL path segments; a new
// secret is 1-1024 printable ASCII bytes.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "server/common/error_details.h"
#include "server/console/console_secrets.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using tokenbroker::HttpRequest;
using tokenbroker::HttpResponse;

constexpr char kToken[] = "fuzz-bearer-token-7d1c";
constexpr int kStatuses[] = {200, 201, 204, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503};

class ScriptedTransport final : public tokenbroker::HttpTransport {
 public:
  explicit ScriptedTransport(HttpResponse response) : response_(std::move(response)) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest&) override {
    HttpResponse copy;
    copy.status_code = response_.status_code;
    copy.headers = response_.headers;
    copy.body = tokenbroker::SecretString(response_.body.value());
    return copy;
  }

 private:
  HttpResponse response_;
};

bool IsUrlSegment(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

void CheckError(const absl::Status& status) {
  FUZZ_CHECK(absl::IsFailedPrecondition(status) || absl::IsNotFound(status) ||
             absl::IsUnavailable(status));
  FUZZ_CHECK(status.message().size() <= 1024);
  FUZZ_CHECK(!absl::StrContains(status.message(), kToken));
  if (auto info = tokenbroker::GetErrorInfo(status)) {
    for (const auto& [key, value] : info->metadata()) {
      FUZZ_CHECK(!absl::StrContains(value, kToken));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  HttpResponse response;
  response.status_code = kStatuses[data[0] % (sizeof(kStatuses) / sizeof(kStatuses[0]))];
  const int call = data[1] % 3;
  absl::string_view rest = tokenbroker::fuzz::AsView(data + 2, size - 2);
  if ((data[1] & 0x80) != 0 && rest.size() >= 8) {
    response.headers.emplace_back("retry-after", std::string(rest.substr(0, 8)));
    rest.remove_prefix(8);
  }
  response.body = tokenbroker::SecretString(rest);
  tokenbroker::HttpConsoleSecrets console(std::make_shared<ScriptedTransport>(std::move(response)),
                                          "https://api.example.test", absl::Seconds(5));
  const tokenbroker::ConsoleTarget target{"25591412", "17950", "client"};
  const tokenbroker::SecretString token{std::string(kToken)};
  if (call == 0) {
    auto listed = console.List(target, token);
    if (!listed.ok()) {
      CheckError(listed.status());
      return 0;
    }
    for (const auto& secret : *listed) FUZZ_CHECK(IsUrlSegment(secret.uuid));
  } else if (call == 1) {
    auto added = console.Add(target, token);
    if (!added.ok()) {
      CheckError(added.status());
      return 0;
    }
    FUZZ_CHECK(IsUrlSegment(added->uuid));
    absl::string_view value = added->value.value();
    FUZZ_CHECK(!value.empty() && value.size() <= 1024);
    for (char c : value) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  } else {
    absl::Status deleted = console.Delete(target, token, "0a1b2c3d");
    if (!deleted.ok()) CheckError(deleted);
  }
  return 0;
}
