// The access token's own claims: IMS tokens are JWTs whose payload carries
// `created_at` and `expires_in` (ms), cross-checked against the response's
// `expires_in`. The input is the payload's JSON, wrapped as the middle part
// of a token in an otherwise valid 200 response of each flow.
// Invariant: the claims can only shorten the lifetime (never past the
// response's own expires_in), and never yield a token already expired.
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/ims/ims_response.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

void Check(const std::string& body, tokenbroker::ExpiresInUnit unit, absl::Duration lifetime) {
  tokenbroker::HttpResponse response;
  response.status_code = 200;
  response.body = tokenbroker::SecretString(body);
  auto token = tokenbroker::ParseImsTokenResponse(response, unit, "acme", kNow);
  if (!token.ok()) {
    FUZZ_CHECK(token.status().code() == absl::StatusCode::kUnavailable);
    return;
  }
  FUZZ_CHECK(token->expire_time > kNow && token->expire_time <= kNow + lifetime);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string token =
      absl::StrCat("eyJhbGciOiJSUzI1NiJ9.",
                   absl::WebSafeBase64Escape(tokenbroker::fuzz::AsView(data, size)), ".c2ln");
  Check(
      absl::StrCat(R"({"access_token":")", token, R"(","token_type":"bearer","expires_in":86399})"),
      tokenbroker::ExpiresInUnit::kSeconds, absl::Seconds(86399));
  Check(absl::StrCat(R"({"access_token":")", token, R"(","expires_in":86399999})"),
        tokenbroker::ExpiresInUnit::kMilliseconds, absl::Milliseconds(86399999));
  return 0;
}
