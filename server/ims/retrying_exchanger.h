#ifndef TOKENBROKER_SERVER_IMS_RETRYING_EXCHANGER_H_
#define TOKENBROKER_SERVER_IMS_RETRYING_EXCHANGER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/random.h"
#include "server/ims/token_exchanger.h"

namespace tokenbroker {

struct RetryPolicy {
  // Attempts in all, the first included (values below 1 mean 1).
  int max_attempts = 4;
  // Backoff cap before attempt n+1 = min(max_backoff, initial_backoff *
  // multiplier^(n-1)); the actual sleep is uniform in [0, cap) ("full
  // jitter"), or IMS's Retry-After if that is longer.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  double multiplier = 2;
  // Retrying stops when the time spent (attempts and sleeps) plus the next
  // sleep would exceed this.
  absl::Duration max_total = absl::Seconds(30);
};

// Decorator that retries the inner exchanger on UNAVAILABLE only (IMS 429,
// 5xx, garbled answers, transport failures). FAILED_PRECONDITION (IMS
// rejected the credential), INVALID_ARGUMENT and every other code are
// returned at once: retrying them would only hammer IMS.
//
// When it gives up it returns the last UNAVAILABLE, payloads (ErrorInfo,
// RetryInfo) kept, with the number of attempts added to the message; a
// Retry-After that does not fit in max_total ends the retries early, and its
// RetryInfo tells the caller when to come back.
//
// Thread-safe if the inner exchanger is; blocks (in `sleeper`). Does not own
// `sleeper`, `random` or `clock`; `clock` measures the time spent.
class RetryingExchanger final : public TokenExchanger {
 public:
  RetryingExchanger(std::unique_ptr<TokenExchanger> inner, RetryPolicy policy, Sleeper* sleeper,
                    RandomSource* random, const Clock* clock = SystemClock::Get());

  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override;

 private:
  const std::unique_ptr<TokenExchanger> inner_;
  const RetryPolicy policy_;
  Sleeper* const sleeper_;
  RandomSource* const random_;
  const Clock* const clock_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_RETRYING_EXCHANGER_H_
