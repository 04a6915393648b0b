#include "server/lifecycle/rotation_scheduler.h"

#include <algorithm>
#include <utility>

#include "server/common/log.h"

namespace tokenbroker {
namespace {

constexpr int kPageSize = 200;

SecretAgeSample SampleOf(const Integration& integration) {
  SecretAgeSample sample{integration.id};
  for (const ClientSecretInfo& info : integration.client_secret_info) {
    if (info.create_time == absl::InfinitePast()) continue;
    if (sample.oldest_secret_time == absl::InfinitePast() ||
        info.create_time < sample.oldest_secret_time) {
      sample.oldest_secret_time = info.create_time;
    }
  }
  sample.last_rotation_time = integration.last_secret_rotation_time;
  return sample;
}

}  // namespace

RotationScheduler::RotationScheduler(CredentialStore* store, ClientSecretManager* secrets,
                                     const Clock* clock, RotationScheduleOptions options,
                                     std::function<void(const RotationOutcome&)> on_outcome)
    : store_(store),
      secrets_(secrets),
      clock_(clock),
      options_(options),
      on_outcome_(std::move(on_outcome)) {}

RotationScheduler::~RotationScheduler() { Stop(); }

void RotationScheduler::Start() {
  // The first pass comes one interval after the start, not during it.
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    // Wakes early only to stop; the clock seam is for RunOnce's decisions.
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.check_interval)) {
      mu_.Unlock();
      RunOnce();
      mu_.Lock();
    }
  });
}

void RotationScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool RotationScheduler::Due(const Integration& integration, absl::Time now) const {
  if (NextRotationTime(integration, options_.default_period) > now) return false;
  auto backing_off = backoff_.find(integration.id);
  return backing_off == backoff_.end() || backing_off->second.next_attempt <= now;
}

std::vector<RotationOutcome> RotationScheduler::RunOnce() {
  std::vector<std::string> due;
  std::vector<SecretAgeSample> samples;
  const absl::Time now = clock_->Now();
  std::string page_token;
  do {
    absl::StatusOr<IntegrationPage> page = store_->List(kPageSize, page_token);
    if (!page.ok()) {
      Log(LogLevel::kWarning, "secret rotation: listing the integrations failed",
          {{"error", std::string(page.status().message())}});
      return {};
    }
    for (const Integration& integration : page->integrations) {
      samples.push_back(SampleOf(integration));
      if (Due(integration, now)) due.push_back(integration.id);
    }
    page_token = page->next_page_token;
  } while (!page_token.empty());
  {
    absl::MutexLock lock(&mu_);
    samples_ = std::move(samples);
  }
  std::vector<RotationOutcome> outcomes;
  for (const std::string& id : due) {
    if (std::optional<RotationOutcome> outcome = Attempt(id)) {
      if (on_outcome_) on_outcome_(*outcome);
      outcomes.push_back(*std::move(outcome));
    }
  }
  absl::MutexLock lock(&mu_);
  ++passes_;
  return outcomes;
}

// nullopt when nothing happened: not due after all (read under the lease),
// or rotated by another replica or call right now.
std::optional<RotationOutcome> RotationScheduler::Attempt(const std::string& id) {
  absl::StatusOr<RotationResult> result = secrets_->RotateIfDue(id, options_.default_period);
  if (absl::IsAborted(result.status()) || absl::IsNotFound(result.status())) return std::nullopt;
  if (result.ok() && result->phase == RotationResult::Phase::kNotDue) return std::nullopt;
  RotationOutcome outcome{id, result.status()};
  if (result.ok()) {
    backoff_.erase(id);
    outcome.phase = result->phase;
    outcome.detail = result->detail;
    return outcome;
  }
  Backoff& backoff = backoff_[id];
  backoff.delay = backoff.delay == absl::ZeroDuration()
                      ? options_.retry_after_failure
                      : std::min(backoff.delay * 2, options_.max_retry_after_failure);
  backoff.next_attempt = clock_->Now() + backoff.delay;
  Log(LogLevel::kWarning, "scheduled client-secret rotation failed",
      {{"integration", id},
       {"error", std::string(result.status().message())},
       {"retry_in", absl::FormatDuration(backoff.delay)}});
  return outcome;
}

int64_t RotationScheduler::passes() const {
  absl::MutexLock lock(&mu_);
  return passes_;
}

std::vector<SecretAgeSample> RotationScheduler::Samples() const {
  absl::MutexLock lock(&mu_);
  return samples_;
}

}  // namespace tokenbroker
