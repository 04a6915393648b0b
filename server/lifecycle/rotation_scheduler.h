// Scheduled client-secret rotation: every --secret-rotation-check-interval
// the scheduler reads the integrations and calls
// ClientSecretManager::RotateIfDue for each one that NextRotationTime says
// is due (its own rotation period, else --secret-rotation-period), and for
// each whose rotation is under way (an on-demand rotation waiting for its
// grace period is finished here too). Replicas each run one; the rotation
// lease and the due check under it make exactly one of them rotate.
//
// A failed rotation is retried after a backoff (doubling from
// `retry_after_failure` up to `max_retry_after_failure`), not at every
// check: a credential missing the I/O Management API fails the same way
// until an operator acts, and each attempt mints an IMS token.
#ifndef TOKENBROKER_SERVER_LIFECYCLE_ROTATION_SCHEDULER_H_
#define TOKENBROKER_SERVER_LIFECYCLE_ROTATION_SCHEDULER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/lifecycle/client_secrets.h"
#include "server/store/credential_store.h"

namespace tokenbroker {

struct RotationScheduleOptions {
  // For integrations without their own period (--secret-rotation-period);
  // zero: they are not rotated on a schedule.
  absl::Duration default_period = absl::ZeroDuration();
  absl::Duration check_interval = absl::Minutes(1);
  absl::Duration retry_after_failure = absl::Minutes(5);
  absl::Duration max_retry_after_failure = absl::Hours(6);
};

// What one scheduled rotation attempt did (it changed something, or failed).
struct RotationOutcome {
  std::string integration;
  absl::Status status;                                         // ok, or why it failed
  RotationResult::Phase phase = RotationResult::Phase::kDone;  // when ok
  std::string detail;                                          // RotationResult::detail
};

// The client-secret facts of one integration, for the metrics.
struct SecretAgeSample {
  std::string integration;
  // When its oldest stored secret was stored (InfinitePast: unknown).
  absl::Time oldest_secret_time = absl::InfinitePast();
  // InfinitePast: never rotated by tokenbroker.
  absl::Time last_rotation_time = absl::InfinitePast();
};

class RotationScheduler {
 public:
  // `on_outcome` (may be empty) hears of every attempt that did something
  // or failed (audit log, metrics, called on the scheduler's thread).
  // `store`, `secrets` and `clock` are not owned and must outlive it.
  RotationScheduler(CredentialStore* store, ClientSecretManager* secrets, const Clock* clock,
                    RotationScheduleOptions options,
                    std::function<void(const RotationOutcome&)> on_outcome = {});
  ~RotationScheduler();  // Stop()
  RotationScheduler(const RotationScheduler&) = delete;
  RotationScheduler& operator=(const RotationScheduler&) = delete;

  // Runs RunOnce every check_interval (the first one interval from now) on a
  // thread of its own.
  void Start();
  // Waits for a pass under way to end. Idempotent.
  void Stop();

  // One pass over every integration; the outcomes of its attempts. A store
  // that cannot be listed ends the pass (logged; the next one retries).
  std::vector<RotationOutcome> RunOnce();

  // What the last pass read of each integration's secrets.
  std::vector<SecretAgeSample> Samples() const;
  // Passes finished (attempts included).
  int64_t passes() const;

 private:
  // Due now, and not backing off after a failure.
  bool Due(const Integration& integration, absl::Time now) const;
  std::optional<RotationOutcome> Attempt(const std::string& id);

  CredentialStore* const store_;
  ClientSecretManager* const secrets_;
  const Clock* const clock_;
  const RotationScheduleOptions options_;
  const std::function<void(const RotationOutcome&)> on_outcome_;

  struct Backoff {
    absl::Time next_attempt;
    absl::Duration delay;
  };
  std::map<std::string, Backoff> backoff_;  // the pass's thread only

  mutable absl::Mutex mu_;
  std::vector<SecretAgeSample> samples_ ABSL_GUARDED_BY(mu_);
  int64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_LIFECYCLE_ROTATION_SCHEDULER_H_
