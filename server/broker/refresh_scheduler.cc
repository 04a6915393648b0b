#include "server/broker/refresh_scheduler.h"

#include <algorithm>
#include <utility>

namespace tokenbroker {

void RefreshScheduler::WakeAt(const std::string& id, absl::Time when) {
  absl::MutexLock lock(&mu_);
  queue_.emplace(when, id);
}

std::vector<std::string> RefreshScheduler::TakeDue(absl::Time now, absl::Time* next) {
  std::vector<std::string> due;
  absl::MutexLock lock(&mu_);
  while (!queue_.empty() && queue_.begin()->first <= now) {
    due.push_back(std::move(queue_.begin()->second));
    queue_.erase(queue_.begin());
  }
  *next = queue_.empty() ? absl::InfiniteFuture() : queue_.begin()->first;
  return due;
}

void RefreshScheduler::Start(std::function<void()> run_due) {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, run_due = std::move(run_due)] {
    while (true) {
      run_due();
      absl::MutexLock lock(&mu_);
      absl::Time next = queue_.empty() ? absl::InfiniteFuture() : queue_.begin()->first;
      sleeping_until_ = std::min(next, absl::Now() + absl::Seconds(1));
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!queue_.empty() && queue_.begin()->first < sleeping_until_);
      };
      mu_.AwaitWithDeadline(absl::Condition(&wake), sleeping_until_);
      if (stopping_) return;
    }
  });
}

void RefreshScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace tokenbroker
