#ifndef TOKENBROKER_SERVER_COMMON_EXECUTOR_H_
#define TOKENBROKER_SERVER_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokenbroker {

// Runs closures, perhaps on another thread. The seam that lets the broker
// run blocking IMS exchanges off gRPC's callback threads (and lets tests run
// them inline). Schedule() is thread-safe and never blocks on the closure.
class Executor {
 public:
  // kHigh work starts before any queued kLow work (e.g. a first mint that
  // callers wait for, ahead of refreshes and retries).
  enum class Priority { kHigh, kLow };

  virtual ~Executor() = default;
  virtual void Schedule(std::function<void()> fn) = 0;
  // The default ignores the priority.
  virtual void Schedule(std::function<void()> fn, Priority priority) { Schedule(std::move(fn)); }
};

// A pool of threads draining two FIFO queues, kHigh first. It keeps
// `min_threads` and grows up to `max_threads` while work is queued and no
// thread is idle (IMS exchanges block on the network: a few hanging ones
// must not hold up the rest). Once no work has found every thread busy for
// `idle_timeout`, the threads above `min_threads` exit as they find the
// queues empty: a trickle of work, which wakes the waiting threads in turn,
// does not keep a burst's threads alive. The destructor runs what is
// queued, then joins.
class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(int min_threads, int max_threads = 0,
                      absl::Duration idle_timeout = absl::Seconds(30));
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> fn) override { Schedule(std::move(fn), Priority::kLow); }
  void Schedule(std::function<void()> fn, Priority priority) override;

  int threads() const;

 private:
  void Work();
  void SpawnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The calling thread leaves the pool (joined later by SpawnLocked or the
  // destructor: it no longer needs mu_ once it has released it).
  void ExitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int min_threads_;
  const int max_threads_;
  const absl::Duration idle_timeout_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> high_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> low_ ABSL_GUARDED_BY(mu_);
  int live_ ABSL_GUARDED_BY(mu_) = 0;
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // When work last found no idle thread; the pool shrinks idle_timeout after.
  absl::Time saturated_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::flat_hash_map<std::thread::id, std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> exited_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_EXECUTOR_H_
