// What the soak's clients saw: per integration, the latest expiry of any
// token the soak received (from GetAccessToken or a watch), and the tallies
// the soak prints. A token's expiry is the earlier of the server's
// `expire_time` and the one its own claims give (`created_at` +
// `expires_in`, in ms, as IMS writes them): a server that reported a later
// expiry than the token carries cannot hide an expired token.
#ifndef TOKENBROKER_TESTS_SOAK_LEDGER_H_
#define TOKENBROKER_TESTS_SOAK_LEDGER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tokenbroker/v1/token_service.pb.h"

namespace tokenbroker::soak {

// The expiry a token's own claims give, or InfiniteFuture() when the access
// token is not a JWT with numeric-string `created_at` and `expires_in`.
absl::Time ClaimedExpiry(const std::string& access_token);

// The earlier of `token.expire_time` and ClaimedExpiry().
absl::Time Expiry(const v1::AccessToken& token);

class Ledger {
 public:
  // A failed call counts as "while valid" when a token the soak had received
  // before the failure still had more than this left when the failure came.
  static constexpr absl::Duration kValidMargin = absl::Seconds(5);

  explicit Ledger(int integrations);

  // A token received for integration `index` at `now`. Returns false (and
  // counts it) when it was already expired.
  bool Received(int index, const v1::AccessToken& token, absl::Time now);
  // A call for `index` that failed at `now` with `what` (code and message).
  void Failed(int index, absl::Time now, const std::string& what);

  int64_t calls() const { return calls_.load(); }
  int64_t expired() const { return expired_.load(); }
  int64_t failed_while_valid() const { return failed_while_valid_.load(); }
  int64_t failed_no_valid_token() const { return failed_no_valid_.load(); }
  int64_t least_left_ms() const { return least_left_ms_.load(); }
  // A GetAccessToken call (answered or failed); watch messages are not calls.
  void CountCall() { ++calls_; }
  // One line per failure reason, with its count.
  std::string FailureSummary() const;

 private:
  std::vector<std::atomic<int64_t>> best_expiry_ms_;  // per integration, unix ms
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> expired_{0};
  std::atomic<int64_t> failed_while_valid_{0};
  std::atomic<int64_t> failed_no_valid_{0};
  std::atomic<int64_t> least_left_ms_{INT64_MAX};
  mutable absl::Mutex mu_;
  // "while-valid: CODE message" / "no-valid-token: ..." -> count.
  std::map<std::string, int64_t> reasons_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker::soak

#endif  // TOKENBROKER_TESTS_SOAK_LEDGER_H_
