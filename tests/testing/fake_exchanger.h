// Test doubles for the broker's collaborators. Not for production use.
#ifndef TOKENBROKER_TESTS_TESTING_FAKE_EXCHANGER_H_
#define TOKENBROKER_TESTS_TESTING_FAKE_EXCHANGER_H_

#include <deque>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "server/common/clock.h"
#include "server/common/executor.h"
#include "server/common/random.h"
#include "server/ims/token_exchanger.h"

namespace tokenbroker::testing {

// Mints "token-N" living `lifetime` from clock->Now(), or fails with the
// status set by FailWith(). Counts calls. Thread-safe.
class FakeTokenExchanger final : public TokenExchanger {
 public:
  FakeTokenExchanger(const Clock* clock, absl::Duration lifetime)
      : clock_(clock), lifetime_(lifetime) {}

  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_integration_ = integration.id;
    if (!failure_.ok()) return failure_;
    AccessToken token;
    token.access_token = SecretString(absl::StrCat("token-", ++minted_));
    token.issue_time = clock_->Now();
    token.expire_time = token.issue_time + lifetime_;
    token.debug_id = absl::StrCat("debug-", minted_);
    return token;
  }

  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failure_ = std::move(status);
  }
  void set_lifetime(absl::Duration lifetime) {
    absl::MutexLock lock(&mu_);
    lifetime_ = lifetime;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const Clock* clock_;
  mutable absl::Mutex mu_;
  absl::Duration lifetime_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int minted_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_integration_ ABSL_GUARDED_BY(mu_);
};

class MockTokenExchanger : public TokenExchanger {
 public:
  MOCK_METHOD(absl::StatusOr<AccessToken>, Exchange, (const Integration& integration), (override));
};

// Queues closures until RunAll(): lets a test decide when "background" work
// happens, deterministically, on the test's thread.
class ManualExecutor final : public Executor {
 public:
  void Schedule(std::function<void()> fn) override {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
  }
  // Runs queued closures (and those they queue) until none is left.
  int RunAll() {
    int n = 0;
    while (true) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        if (queue_.empty()) return n;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
      ++n;
    }
  }
  size_t pending() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
};

// Always returns the same value: makes jitter deterministic.
class FixedRandomSource final : public RandomSource {
 public:
  explicit FixedRandomSource(double value = 0.5) : value_(value) {}
  double Uniform01() override { return value_; }

 private:
  double value_;
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_FAKE_EXCHANGER_H_
