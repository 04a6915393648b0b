// All of the broker's waiting, in one place: refreshes ahead of expiry,
// retries after IMS failures (backoff, Retry-After) and looks again at a
// lease another replica holds. Integrations are woken at a time; nothing
// else in the broker sleeps, and no exchange thread ever waits.
//
// Thread-safe. The thread started by Start() calls `run_due` whenever
// something is due; unit tests call TakeDue with a fake clock instead.
#ifndef TOKENBROKER_SERVER_BROKER_REFRESH_SCHEDULER_H_
#define TOKENBROKER_SERVER_BROKER_REFRESH_SCHEDULER_H_

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokenbroker {

class RefreshScheduler {
 public:
  RefreshScheduler() = default;
  ~RefreshScheduler() { Stop(); }
  RefreshScheduler(const RefreshScheduler&) = delete;
  RefreshScheduler& operator=(const RefreshScheduler&) = delete;

  // Wakes `id` at `when`. Earlier wake-ups of the same id are not removed:
  // the owner skips the ones it no longer expects (it keeps its own time).
  void WakeAt(const std::string& id, absl::Time when);
  // Removes and returns every id due at `now`; `next` gets the time the
  // next one is due (InfiniteFuture if none).
  std::vector<std::string> TakeDue(absl::Time now, absl::Time* next);

  // Starts a thread that calls `run_due` when the earliest wake-up is due
  // by the real clock (and at least once a second). Stop joins it.
  void Start(std::function<void()> run_due);
  void Stop();

 private:
  absl::Mutex mu_;
  std::multimap<absl::Time, std::string> queue_ ABSL_GUARDED_BY(mu_);
  absl::Time sleeping_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_REFRESH_SCHEDULER_H_
