#include "server/ims/retrying_exchanger.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace tokenbroker {
namespace {

// `status` with " (after N attempts)" appended, payloads kept.
absl::Status AfterAttempts(const absl::Status& status, int attempts) {
  if (attempts <= 1) return status;
  absl::Status out(status.code(),
                   absl::StrCat(status.message(), " (after ", attempts, " attempts)"));
  status.ForEachPayload([&out](absl::string_view type_url, const absl::Cord& payload) {
    out.SetPayload(type_url, payload);
  });
  return out;
}

}  // namespace

RetryingExchanger::RetryingExchanger(std::unique_ptr<TokenExchanger> inner, RetryPolicy policy,
                                     Sleeper* sleeper, RandomSource* random, const Clock* clock)
    : inner_(std::move(inner)),
      policy_(policy),
      sleeper_(sleeper),
      random_(random),
      clock_(clock) {}

absl::StatusOr<AccessToken> RetryingExchanger::Exchange(const Integration& integration) {
  const int max_attempts = std::max(1, policy_.max_attempts);
  const absl::Time start = clock_->Now();
  absl::Duration backoff_cap = policy_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<AccessToken> result = inner_->Exchange(integration);
    if (result.ok() || result.status().code() != absl::StatusCode::kUnavailable) return result;
    if (attempt >= max_attempts) return AfterAttempts(result.status(), attempt);

    absl::Duration cap = std::min(backoff_cap, policy_.max_backoff);
    double u = std::clamp(random_->Uniform01(), 0.0, 1.0);
    absl::Duration sleep = cap * u;
    std::optional<absl::Duration> retry_after = GetRetryDelay(result.status());
    if (retry_after) sleep = std::max(sleep, *retry_after);
    absl::Duration spent = clock_->Now() - start;
    if (spent + sleep > policy_.max_total) {
      Log(LogLevel::kWarning, "IMS retry budget exhausted",
          {{"integration", integration.id},
           {"attempts", absl::StrCat(attempt)},
           {"next_sleep_ms", absl::StrCat(absl::ToInt64Milliseconds(sleep))}});
      return AfterAttempts(result.status(), attempt);
    }
    Log(LogLevel::kInfo, "retrying IMS exchange",
        {{"integration", integration.id},
         {"attempt", absl::StrCat(attempt)},
         {"sleep_ms", absl::StrCat(absl::ToInt64Milliseconds(sleep))}});
    sleeper_->SleepFor(sleep);
    backoff_cap = std::min(policy_.max_backoff, backoff_cap * policy_.multiplier);
  }
}

}  // namespace tokenbroker
