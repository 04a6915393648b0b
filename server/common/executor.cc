#include "server/common/executor.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace tokenbroker {

ThreadPool::ThreadPool(int min_threads, int max_threads, absl::Duration idle_timeout)
    : min_threads_(std::max(1, min_threads)),
      max_threads_(std::max(min_threads_, max_threads)),
      idle_timeout_(idle_timeout) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < min_threads_; ++i) SpawnLocked();
}

ThreadPool::~ThreadPool() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    auto all_exited = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0; };
    mu_.Await(absl::Condition(&all_exited));
    threads.swap(exited_);
  }
  for (auto& t : threads) t.join();
}

void ThreadPool::SpawnLocked() {
  for (std::thread& t : exited_) t.join();
  exited_.clear();
  ++live_;
  std::thread t([this] { Work(); });
  std::thread::id id = t.get_id();
  threads_.emplace(id, std::move(t));
}

void ThreadPool::ExitLocked() {
  --live_;
  auto it = threads_.find(std::this_thread::get_id());
  if (it != threads_.end()) {
    exited_.push_back(std::move(it->second));
    threads_.erase(it);
  }
}

void ThreadPool::Schedule(std::function<void()> fn, Priority priority) {
  absl::MutexLock lock(&mu_);
  (priority == Priority::kHigh ? high_ : low_).push_back(std::move(fn));
  const int queued = static_cast<int>(high_.size() + low_.size());
  if (queued > idle_) {
    saturated_at_ = absl::Now();
    if (live_ < max_threads_ && !stopping_) SpawnLocked();
  }
}

int ThreadPool::threads() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

void ThreadPool::Work() {
  while (true) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !high_.empty() || !low_.empty();
      };
      if (live_ > min_threads_ && high_.empty() && low_.empty() && !stopping_ &&
          absl::Now() - saturated_at_ >= idle_timeout_) {
        ExitLocked();  // no work has needed this many threads for idle_timeout
        return;
      }
      ++idle_;
      bool woke = mu_.AwaitWithTimeout(absl::Condition(&ready), idle_timeout_);
      --idle_;
      if (!woke && live_ > min_threads_) {
        ExitLocked();  // idle too long above the minimum
        return;
      }
      if (high_.empty() && low_.empty()) {
        if (!stopping_) continue;
        ExitLocked();  // stopping and drained
        return;
      }
      auto& queue = high_.empty() ? low_ : high_;
      fn = std::move(queue.front());
      queue.pop_front();
    }
    fn();
  }
}

}  // namespace tokenbroker
