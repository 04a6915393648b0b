#include "server/broker/token_broker.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/broker/settings_digest.h"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace tokenbroker {
namespace {

absl::Status TooShortLived(const std::string& id, absl::Duration min_validity,
                           absl::Duration lifetime) {
  return absl::FailedPreconditionError(absl::StrCat(
      "IMS tokens of integration '", id, "' live ", absl::FormatDuration(lifetime),
      ", less than the requested minimum validity ", absl::FormatDuration(min_validity)));
}

absl::Status Deleted(const std::string& id) {
  return WithErrorInfo(absl::NotFoundError(absl::StrCat("integration '", id, "' was deleted")),
                       kReasonIntegrationNotFound, {{"integration", id}});
}

// `status` with " (after N attempts)" appended, payloads kept.
absl::Status AfterAttempts(const absl::Status& status, int attempts) {
  if (attempts <= 1) return status;
  absl::Status out(status.code(),
                   absl::StrCat(status.message(), " (after ", attempts, " attempts)"));
  status.ForEachPayload([&out](absl::string_view type_url, const absl::Cord& payload) {
    out.SetPayload(type_url, payload);
  });
  return out;
}

bool Valid(const SnapshotPtr& snap, absl::Time now) {
  return snap != nullptr && Satisfies(snap->token.expire_time, now, absl::ZeroDuration());
}

}  // namespace

// Callbacks (waiters, watchers) are collected under a flight's lock and run
// when this goes out of scope, after the lock is released.
class TokenBroker::Deferred {
 public:
  Deferred() = default;
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  ~Deferred() {
    for (auto& [done, result] : calls_) done(std::move(result));
  }
  void Add(TokenCallback done, absl::StatusOr<SnapshotPtr> result) {
    calls_.emplace_back(std::move(done), std::move(result));
  }
  void AddAll(std::vector<TokenCallback> callbacks, const absl::StatusOr<SnapshotPtr>& result) {
    for (auto& cb : callbacks) Add(std::move(cb), result);
  }

 private:
  std::vector<std::pair<TokenCallback, absl::StatusOr<SnapshotPtr>>> calls_;
};

TokenBroker::TokenBroker(CredentialStore* store, TokenExchanger* exchanger, Executor* executor,
                         const Clock* clock, RandomSource* random, BrokerOptions options)
    : store_(store),
      executor_(executor),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      observer_(options_.observer != nullptr ? options_.observer : BrokerObserver::Null()),
      pipeline_(store, exchanger, clock, options_.refresh, options_.replica, observer_),
      cache_(options_.refresh) {
  store_->SetChangeListener([this](const StoreChange& change) { OnStoreChange(change); });
}

TokenBroker::~TokenBroker() { Shutdown(); }

// ---- Flights --------------------------------------------------------------

TokenBroker::FlightPtr TokenBroker::FindFlight(const std::string& id) const {
  absl::MutexLock lock(&flights_mu_);
  auto it = flights_.find(id);
  return it == flights_.end() ? nullptr : it->second;
}

TokenBroker::FlightPtr TokenBroker::FindOrCreateFlight(const std::string& id) {
  absl::MutexLock lock(&flights_mu_);
  FlightPtr& slot = flights_[id];
  if (slot == nullptr) slot = std::make_shared<Flight>(id);
  return slot;
}

void TokenBroker::EraseFlight(const FlightPtr& flight) {
  absl::MutexLock lock(&flights_mu_);
  auto it = flights_.find(flight->id);
  if (it != flights_.end() && it->second == flight) flights_.erase(it);
}

std::vector<TokenBroker::FlightPtr> TokenBroker::AllFlights() const {
  std::vector<FlightPtr> all;
  absl::MutexLock lock(&flights_mu_);
  all.reserve(flights_.size());
  for (const auto& [id, flight] : flights_) all.push_back(flight);
  return all;
}

// ---- Callers --------------------------------------------------------------

void TokenBroker::GetToken(const std::string& id, std::optional<absl::Duration> min_validity,
                           TokenCallback done) {
  absl::Time now = clock_->Now();
  if (SnapshotPtr hit = cache_.Find(id, min_validity, now)) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    done(std::move(hit));
    return;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  Join(id, Waiter{min_validity, std::move(done), /*force=*/false, now});
}

void TokenBroker::Refresh(const std::string& id, TokenCallback done) {
  // A zero minimum: any new token satisfies a forced refresh.
  Join(id, Waiter{absl::ZeroDuration(), std::move(done), /*force=*/true, clock_->Now()});
}

void TokenBroker::Join(const std::string& id, Waiter waiter) {
  FlightPtr flight = FindOrCreateFlight(id);
  Deferred deferred;
  absl::MutexLock lock(&flight->mu);
  const absl::Time now = waiter.arrived;
  cache_.Touch(id, now);
  // A run may have cached a good token since the caller looked.
  SnapshotPtr current = cache_.Current(id);
  if (!waiter.force && current != nullptr && cache_.Satisfies(*current, waiter.min_validity, now)) {
    deferred.Add(std::move(waiter.done), current);
    return;
  }
  // During a backoff the caller waits for the retry, unless it comes later
  // than the caller would wait in all.
  if (flight->phase == Phase::kBackingOff && flight->backoff.BackingOff(now) &&
      flight->backoff.retry_at() > now + options_.max_wait) {
    absl::Status error = flight->last_error;
    if (!GetRetryDelay(error).has_value()) {
      error = WithRetryDelay(std::move(error), flight->backoff.retry_at() - now);
    }
    deferred.Add(std::move(waiter.done), std::move(error));
    return;
  }
  if (options_.max_waiters > 0 &&
      flight->waiters.size() >= static_cast<size_t>(options_.max_waiters)) {
    deferred.Add(std::move(waiter.done),
                 absl::ResourceExhaustedError(absl::StrCat(
                     flight->waiters.size(), " callers already wait for a token of integration '",
                     id, "', the most allowed (--max-waiters-per-integration); retry shortly")));
    return;
  }
  if (waiter.force) flight->force_pending = true;
  flight->waiters.push_back(std::move(waiter));
  KickLocked(flight, now, deferred);
}

TokenBroker::WatchStart TokenBroker::Watch(const std::string& id, TokenCallback on_token) {
  FlightPtr flight = FindOrCreateFlight(id);
  absl::MutexLock lock(&flight->mu);
  WatchStart start{watches_.Subscribe(id, std::move(on_token)), cache_.Current(id)};
  // A refresh left to lapse (nobody asked since the last mint) is re-armed.
  if (flight->phase == Phase::kIdle && flight->held != nullptr &&
      flight->wake_at == absl::InfiniteFuture()) {
    const AccessToken& token = flight->held->token;
    absl::Time when = NextRefreshTime(token.issue_time, token.expire_time, options_.refresh,
                                      random_->Uniform01());
    if (when <= clock_->Now()) {
      flight->refresh_due = true;
      StartRunLocked(flight);
    } else {
      WakeLocked(*flight, when);
    }
  }
  return start;
}

void TokenBroker::Unwatch(const std::string& id, uint64_t handle) {
  watches_.Unsubscribe(id, handle);
}

// ---- Runs -----------------------------------------------------------------

void TokenBroker::KickLocked(const FlightPtr& flight, absl::Time now, Deferred& deferred) {
  switch (flight->phase) {
    case Phase::kIdle:
      StartRunLocked(flight);
      return;
    case Phase::kBackingOff:
      if (!flight->backoff.BackingOff(now)) {
        StartRunLocked(flight);
      } else if (flight->wake_at != flight->backoff.retry_at()) {
        WakeLocked(*flight, flight->backoff.retry_at());
      }
      return;
    case Phase::kRunning:
    case Phase::kAwaitingReplica:
      return;  // the run, or the wake-up, serves the waiters
  }
}

void TokenBroker::StartRunLocked(const FlightPtr& flight) {
  flight->phase = Phase::kRunning;
  // A first mint that callers wait for goes ahead of refreshes and retries.
  const bool cold = flight->held == nullptr && !flight->waiters.empty();
  executor_->Schedule([this, flight] { Run(flight); },
                      cold ? Executor::Priority::kHigh : Executor::Priority::kLow);
}

void TokenBroker::WakeLocked(Flight& flight, absl::Time when) {
  flight.wake_at = when;
  scheduler_.WakeAt(flight.id, when);
}

MintRequest TokenBroker::RequestLocked(const Flight& flight) const {
  MintRequest request;
  request.id = flight.id;
  const bool has_token = flight.held != nullptr && !flight.changed;
  if (flight.force_pending || flight.need_new) {
    request.mode = MintRequest::Mode::kForce;
  } else if (flight.adopt_pending && ((flight.waiters.empty() && !flight.refresh_due) ||
                                      flight.backoff.BackingOff(clock_->Now()))) {
    // The feed announced a token: read it, but never exchange early (a
    // backoff still holds for IMS).
    request.mode = MintRequest::Mode::kAdoptOnly;
  } else if (flight.refresh_due && has_token) {
    request.mode = MintRequest::Mode::kRefresh;
  }
  request.trigger = flight.force_pending ? RefreshTrigger::kForced
                    : flight.changed     ? RefreshTrigger::kInvalidated
                    : has_token          ? RefreshTrigger::kScheduled
                                         : RefreshTrigger::kCold;
  request.known = flight.integration;
  if (flight.held != nullptr) {
    request.held_expire = flight.held->token.expire_time;
    if (flight.changed) {
      request.reusable = flight.held->token;
      request.reusable_digest = flight.digest;
    }
  }
  return request;
}

void TokenBroker::Run(const FlightPtr& flight) {
  MintRequest request;
  uint64_t generation;
  {
    absl::MutexLock lock(&flight->mu);
    request = RequestLocked(*flight);
    generation = flight->generation;
  }
  MintOutcome outcome = pipeline_.Run(request);
  if (outcome.exchanged) {
    exchanges_.fetch_add(1, std::memory_order_relaxed);
    if (!outcome.status.ok()) failures_.fetch_add(1, std::memory_order_relaxed);
  }
  Complete(flight, generation, std::move(outcome));
}

void TokenBroker::Complete(const FlightPtr& flight, uint64_t generation, MintOutcome outcome) {
  Deferred deferred;
  absl::MutexLock lock(&flight->mu);
  if (flight->generation != generation) {
    StartRunLocked(flight);  // the integration changed mid-run: its outcome is stale
    return;
  }
  switch (outcome.kind) {
    case MintOutcome::Kind::kFailed:
      if (outcome.exchanged) {
        flight->integration = std::move(outcome.integration);
        OnExchangeFailedLocked(flight, outcome.status, deferred);
      } else {
        OnLoadFailedLocked(flight, outcome.status, deferred);
      }
      return;
    case MintOutcome::Kind::kLeaseBusy:
      flight->integration = std::move(outcome.integration);
      OnLeaseBusyLocked(*flight);
      return;
    case MintOutcome::Kind::kNothing:
      flight->integration = std::move(outcome.integration);
      flight->adopt_pending = false;
      if (flight->backoff.BackingOff(clock_->Now())) {
        flight->phase = Phase::kBackingOff;  // the scheduled retry serves the waiters
        if (!flight->waiters.empty()) WakeLocked(*flight, flight->backoff.retry_at());
        return;
      }
      flight->phase = Phase::kIdle;
      if (!flight->waiters.empty() || flight->force_pending) StartRunLocked(flight);
      return;
    case MintOutcome::Kind::kReused:
    case MintOutcome::Kind::kAdopted:
    case MintOutcome::Kind::kMinted:
      OnTokenLocked(flight, outcome, deferred);
      return;
  }
}

void TokenBroker::OnTokenLocked(const FlightPtr& flight, MintOutcome& outcome, Deferred& deferred) {
  const bool minted = outcome.kind == MintOutcome::Kind::kMinted;
  Flight& f = *flight;
  SnapshotPtr snap = outcome.kind == MintOutcome::Kind::kReused
                         ? f.held
                         : MakeSnapshot(*outcome.integration, *std::move(outcome.token));
  f.digest =
      outcome.kind == MintOutcome::Kind::kReused ? f.digest : SettingsDigest(*outcome.integration);
  f.integration = std::move(outcome.integration);
  f.held = snap;
  f.changed = f.refresh_due = f.adopt_pending = f.need_new = false;
  if (minted) f.force_pending = false;
  f.backoff.Reset();
  f.last_error = absl::OkStatus();
  cache_.Put(f.id, snap);
  if (outcome.kind == MintOutcome::Kind::kAdopted) observer_->OnReplicaEvent("adopted");
  if (outcome.kind != MintOutcome::Kind::kReused) {
    deferred.AddAll(watches_.Subscribers(f.id), snap);
  }
  const AccessToken& token = snap->token;
  WakeLocked(f, NextRefreshTime(token.issue_time, token.expire_time, options_.refresh,
                                random_->Uniform01()));
  if (minted) {
    Log(LogLevel::kDebug, "token minted",
        {{"integration", f.id}, {"expire_time", absl::FormatTime(token.expire_time)}});
  }
  const bool left = ServeWaitersLocked(f, snap, minted, deferred);
  f.phase = Phase::kIdle;
  if (left) {
    f.need_new = true;  // a stored token did not satisfy them: mint
    StartRunLocked(flight);
  } else if (f.announced_expire > token.expire_time) {
    f.adopt_pending = true;  // the feed announced a newer one meanwhile
    StartRunLocked(flight);
  }
  f.announced_expire = absl::InfinitePast();
}

bool TokenBroker::ServeWaitersLocked(Flight& flight, const SnapshotPtr& snap, bool minted,
                                     Deferred& deferred) {
  const absl::Time now = clock_->Now();
  const absl::Duration lifetime = snap->token.expire_time - snap->token.issue_time;
  std::vector<Waiter> left;
  for (Waiter& w : flight.waiters) {
    if (w.force && !minted) {
      left.push_back(std::move(w));
    } else if (cache_.Satisfies(*snap, w.min_validity, now)) {
      deferred.Add(std::move(w.done), snap);
    } else if (minted) {
      absl::Duration min = w.min_validity.value_or(
          DefaultMinValidity(snap->token.issue_time, snap->token.expire_time, options_.refresh));
      deferred.Add(std::move(w.done), TooShortLived(flight.id, min, lifetime));
    } else {
      left.push_back(std::move(w));
    }
  }
  flight.waiters.swap(left);
  return !flight.waiters.empty();
}

void TokenBroker::OnLoadFailedLocked(const FlightPtr& flight, const absl::Status& status,
                                     Deferred& deferred) {
  Flight& f = *flight;
  if (absl::IsNotFound(status)) {
    ForgetLocked(flight, status, deferred);
    return;
  }
  const bool disabled = absl::IsFailedPrecondition(status);
  if (disabled) {
    cache_.Drop(f.id);
    f.held = nullptr;
    f.wake_at = absl::InfiniteFuture();
  }
  // A store that fails for a moment does not take a good token away.
  const absl::Time now = clock_->Now();
  for (Waiter& w : f.waiters) {
    if (!w.force && f.held != nullptr && !f.changed &&
        cache_.Satisfies(*f.held, w.min_validity, now)) {
      deferred.Add(std::move(w.done), f.held);
    } else {
      deferred.Add(std::move(w.done), status);
    }
  }
  f.waiters.clear();
  f.force_pending = f.need_new = f.adopt_pending = false;
  f.phase = Phase::kIdle;
}

void TokenBroker::OnExchangeFailedLocked(const FlightPtr& flight, const absl::Status& status,
                                         Deferred& deferred) {
  Flight& f = *flight;
  const absl::Time now = clock_->Now();
  const SnapshotPtr held = f.changed ? nullptr : f.held;
  const absl::Time expire = held != nullptr ? held->token.expire_time : absl::InfinitePast();
  const bool transient = absl::IsUnavailable(status);
  absl::Time retry_at = absl::InfiniteFuture();
  if (transient) {
    retry_at = f.backoff.OnFailure(now, expire, GetRetryDelay(status), options_.refresh,
                                   random_->Uniform01());
    f.last_error = status;
  }
  std::vector<Waiter> left;
  for (Waiter& w : f.waiters) {
    ++w.attempts;
    if (!w.force && held != nullptr && cache_.Satisfies(*held, w.min_validity, now)) {
      deferred.Add(std::move(w.done), held);  // IMS fails, the cached token still serves
    } else if (transient && w.attempts < options_.max_attempts &&
               retry_at <= w.arrived + options_.max_wait) {
      left.push_back(std::move(w));  // waits for the retry
    } else {
      deferred.Add(std::move(w.done), AfterAttempts(status, w.attempts));
    }
  }
  f.waiters.swap(left);
  if (f.waiters.empty()) f.force_pending = f.need_new = false;
  Log(LogLevel::kWarning, "token exchange failed",
      {{"integration", f.id},
       {"code", absl::StatusCodeToString(status.code())},
       {"error", std::string(status.message())},
       {"consecutive_failures", absl::StrCat(f.backoff.failures())},
       {"cached_token_valid_for",
        absl::FormatDuration(std::max(expire - now, absl::ZeroDuration()))}});
  if (!transient) {
    f.phase = Phase::kIdle;  // needs an operator: no retry until a caller asks
    f.wake_at = absl::InfiniteFuture();
    return;
  }
  f.phase = Phase::kBackingOff;
  if (!f.waiters.empty() || Valid(held, now) || watches_.Watched(f.id)) WakeLocked(f, retry_at);
}

void TokenBroker::OnLeaseBusyLocked(Flight& flight) {
  flight.phase = Phase::kAwaitingReplica;
  WakeLocked(flight, clock_->Now() + options_.replica.lease_retry);
}

void TokenBroker::ForgetLocked(const FlightPtr& flight, const absl::Status& status,
                               Deferred& deferred) {
  Flight& f = *flight;
  for (Waiter& w : f.waiters) deferred.Add(std::move(w.done), status);
  f.waiters.clear();
  deferred.AddAll(watches_.TakeAll(f.id), status);
  cache_.Drop(f.id);
  f.held = nullptr;
  f.integration.reset();
  f.force_pending = f.need_new = f.adopt_pending = f.refresh_due = false;
  f.wake_at = absl::InfiniteFuture();
  f.phase = Phase::kIdle;
  EraseFlight(flight);
}

// ---- The scheduler --------------------------------------------------------

absl::Time TokenBroker::RunDueRefreshes() {
  const absl::Time now = clock_->Now();
  absl::Time next;
  for (const std::string& id : scheduler_.TakeDue(now, &next)) OnDue(id, now);
  return next;
}

void TokenBroker::OnDue(const std::string& id, absl::Time now) {
  FlightPtr flight = FindFlight(id);
  if (flight == nullptr) return;
  absl::MutexLock lock(&flight->mu);
  Flight& f = *flight;
  if (f.wake_at > now) return;  // superseded by a later wake-up
  f.wake_at = absl::InfiniteFuture();
  const bool watched = watches_.Watched(id);
  // Integrations nobody asked for since their token was minted are left to
  // lapse: minting for no one would only spend IMS quota.
  const bool wanted = !f.waiters.empty() || f.force_pending || watched ||
                      (f.held != nullptr && cache_.LastAccess(id) > f.held->token.issue_time);
  switch (f.phase) {
    case Phase::kRunning:
      return;
    case Phase::kAwaitingReplica:
      f.refresh_due = f.held != nullptr && f.waiters.empty();
      StartRunLocked(flight);
      return;
    case Phase::kBackingOff:
      if (wanted) {
        f.refresh_due = f.held != nullptr && f.waiters.empty();
        StartRunLocked(flight);
      }
      return;
    case Phase::kIdle:
      if (f.held == nullptr || !wanted) return;
      Log(LogLevel::kDebug, "refresh due", {{"integration", id}});
      f.refresh_due = true;
      StartRunLocked(flight);
      return;
  }
}

void TokenBroker::Start() {
  scheduler_.Start([this] { RunDueRefreshes(); });
}

void TokenBroker::Shutdown() {
  store_->SetChangeListener(nullptr);
  scheduler_.Stop();
}

// ---- The change feed ------------------------------------------------------

void TokenBroker::OnStoreChange(const StoreChange& change) {
  if (change.kind == StoreChange::Kind::kResync) {
    for (const FlightPtr& flight : AllFlights()) OnResync(flight);
    return;
  }
  FlightPtr flight = FindFlight(change.id);
  if (flight == nullptr) return;  // nothing cached, nobody waiting
  if (change.kind == StoreChange::Kind::kIntegration) {
    OnIntegrationChanged(flight, change.deleted);
  } else {
    OnTokenStored(flight, change.token_expire_time);
  }
}

void TokenBroker::OnIntegrationChanged(const FlightPtr& flight, bool deleted) {
  Deferred deferred;
  absl::MutexLock lock(&flight->mu);
  Flight& f = *flight;
  ++f.generation;
  if (deleted && f.phase != Phase::kRunning) {
    ForgetLocked(flight, Deleted(f.id), deferred);
    return;
  }
  // The cached token may belong to old settings: callers wait for the next
  // run, which keeps it when the settings digest is unchanged.
  cache_.Drop(f.id);
  f.integration.reset();
  f.changed = f.held != nullptr;
  f.backoff.Reset();
  f.wake_at = absl::InfiniteFuture();
  if (f.phase == Phase::kRunning) return;  // Complete runs it again
  f.phase = Phase::kIdle;
  if (!f.waiters.empty() || f.force_pending || watches_.Watched(f.id)) StartRunLocked(flight);
}

void TokenBroker::OnResync(const FlightPtr& flight) {
  absl::MutexLock lock(&flight->mu);
  Flight& f = *flight;
  // Changes may have been missed: look again, but keep serving the cached
  // token meanwhile (a reconnect is no reason to make every caller wait).
  ++f.generation;
  f.integration.reset();
  if (f.held == nullptr) return;  // nothing cached: the next caller loads anyway
  f.changed = true;
  // A run in flight is run again by Complete; a backoff or a lease wait
  // ends in a run that looks again anyway.
  if (f.phase == Phase::kIdle) StartRunLocked(flight);
}

void TokenBroker::OnTokenStored(const FlightPtr& flight, absl::Time expire) {
  absl::MutexLock lock(&flight->mu);
  Flight& f = *flight;
  if (expire == absl::InfinitePast()) expire = absl::InfiniteFuture();  // unknown: look
  if (f.held != nullptr && !f.changed && expire <= f.held->token.expire_time) return;
  if (f.phase == Phase::kRunning) {
    f.announced_expire = std::max(f.announced_expire, expire);
    return;
  }
  if (f.held == nullptr && f.waiters.empty()) return;  // the next caller loads it
  f.adopt_pending = true;
  StartRunLocked(flight);
}

// ---- Shutdown and stats ---------------------------------------------------

void TokenBroker::EndWatches(const absl::Status& status) {
  for (TokenCallback& cb : watches_.TakeEverything()) cb(status);
}

void TokenBroker::FailWaiters(const absl::Status& status) {
  for (const FlightPtr& flight : AllFlights()) {
    Deferred deferred;
    absl::MutexLock lock(&flight->mu);
    for (Waiter& w : flight->waiters) deferred.Add(std::move(w.done), status);
    flight->waiters.clear();
    flight->force_pending = flight->need_new = false;
  }
}

BrokerStats TokenBroker::stats() const {
  return BrokerStats{hits_.load(), misses_.load(), exchanges_.load(), failures_.load()};
}

CacheSample TokenBroker::SampleCache() const {
  CacheSample sample;
  sample.hits = hits_.load(std::memory_order_relaxed);
  sample.misses = misses_.load(std::memory_order_relaxed);
  sample.tokens = cache_.Expiries();
  sample.entries = static_cast<int64_t>(sample.tokens.size());
  return sample;
}

}  // namespace tokenbroker
