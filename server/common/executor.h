#ifndef TOKENBROKER_SERVER_COMMON_EXECUTOR_H_
#define TOKENBROKER_SERVER_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace tokenbroker {

// Runs closures, perhaps on another thread. The seam that lets the broker
// run blocking IMS exchanges off gRPC's callback threads (and lets tests run
// them inline). Schedule() is thread-safe and never blocks on the closure.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Schedule(std::function<void()> fn) = 0;
};

// A fixed pool of threads draining one FIFO queue. The destructor runs what
// is queued, then joins.
class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> fn) override;

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_EXECUTOR_H_
