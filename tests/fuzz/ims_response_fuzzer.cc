// IMS token responses of both flows (OAuth S2S: `expires_in` in seconds;
// JWT exchange: milliseconds), as a proxy, a captive portal or IMS itself
// may send them. An input reads like the response, so that seeds are
// readable: a first line `<status> <s|ms>` (the flow's unit), header lines
// `name: value` (names lower-cased, as the transport gives them), an empty
// line, then the body. A first line that does not parse means status 200.
// Invariants (ims_response.h): a token only for a 200; a token is never
// already expired; the status message never carries the body (it depends on
// the body only through the body's JSON value: the same body with whitespace
// around it gives the same status); the codes are those of TokenExchanger's
// contract.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/common/error_details.h"
#include "server/ims/ims_response.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

bool ContractCode(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kFailedPrecondition;
}

// Splits `input` into the response and the flow's unit.
tokenbroker::HttpResponse Response(absl::string_view input, tokenbroker::ExpiresInUnit* unit) {
  tokenbroker::HttpResponse response;
  response.status_code = 200;
  *unit = tokenbroker::ExpiresInUnit::kSeconds;
  std::pair<absl::string_view, absl::string_view> head_body =
      absl::StrSplit(input, absl::MaxSplits("\n\n", 1));
  std::vector<absl::string_view> lines = absl::StrSplit(head_body.first, '\n');
  std::pair<absl::string_view, absl::string_view> first = absl::StrSplit(lines[0], ' ');
  int status = 0;
  if (absl::SimpleAtoi(first.first, &status)) response.status_code = status;
  if (first.second == "ms") *unit = tokenbroker::ExpiresInUnit::kMilliseconds;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> header =
        absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    response.headers.emplace_back(absl::AsciiStrToLower(header.first),
                                  std::string(absl::StripLeadingAsciiWhitespace(header.second)));
  }
  response.body = tokenbroker::SecretString(head_body.second);
  return response;
}

// Code, message, retry delay and error info (reason and metadata; two equal
// ErrorInfo payloads may serialize their metadata map in different orders).
bool SameError(const absl::Status& a, const absl::Status& b) {
  auto info_a = tokenbroker::GetErrorInfo(a), info_b = tokenbroker::GetErrorInfo(b);
  auto metadata = [](const google::rpc::ErrorInfo& info) {
    return std::map<std::string, std::string>(info.metadata().begin(), info.metadata().end());
  };
  return a.code() == b.code() && a.message() == b.message() &&
         a.GetPayload(tokenbroker::kRetryInfoTypeUrl) ==
             b.GetPayload(tokenbroker::kRetryInfoTypeUrl) &&
         info_a.has_value() == info_b.has_value() &&
         (!info_a ||
          (info_a->reason() == info_b->reason() && metadata(*info_a) == metadata(*info_b)));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokenbroker::ExpiresInUnit unit;
  const tokenbroker::HttpResponse response = Response(tokenbroker::fuzz::AsView(data, size), &unit);

  auto token = tokenbroker::ParseImsTokenResponse(response, unit, "acme", kNow);
  if (token.ok()) {
    FUZZ_CHECK(response.status_code == 200);
    FUZZ_CHECK(!token->access_token.value().empty());
    FUZZ_CHECK(token->issue_time == kNow && token->expire_time > kNow);
  } else {
    FUZZ_CHECK(ContractCode(token.status().code()));
    // The message may quote IMS's error code and description (fields of the body's JSON), never
    // the body's own bytes: whitespace around the body, the same JSON (or the same non-JSON),
    // must leave the status unchanged. (A check that the body is not a substring of the message
    // failed on a body that is a piece of the message's own text, "egration 'acme': ".)
    tokenbroker::HttpResponse padded = response;
    padded.body = tokenbroker::SecretString(absl::StrCat(" ", response.body.value(), " "));
    auto again = tokenbroker::ParseImsTokenResponse(padded, unit, "acme", kNow);
    FUZZ_CHECK(!again.ok() && SameError(again.status(), token.status()));
  }
  (void)tokenbroker::ParseRetryAfter(response.Header("retry-after"), kNow);
  return 0;
}
