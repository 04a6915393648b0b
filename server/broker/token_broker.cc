#include "server/broker/token_broker.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace tokenbroker {
namespace {

SnapshotPtr MakeSnapshot(const Integration& integration, AccessToken token) {
  auto snap = std::make_shared<TokenSnapshot>();
  snap->integration_id = integration.id;
  snap->token = std::move(token);
  snap->client_id = integration.client_id;
  snap->org_id = integration.org_id;
  snap->sandbox_name = integration.sandbox_name;
  snap->include_org_header = integration.include_org_header;
  return snap;
}

// What a token depends on: a change to any of these invalidates it.
uint64_t SettingsDigest(const Integration& i) {
  std::string key =
      absl::StrCat(static_cast<int>(i.auth_method), "\n", i.client_id, "\n", i.org_id, "\n",
                   i.technical_account_id, "\n", absl::StrJoin(i.scopes, ","), "\n",
                   absl::StrJoin(i.metascopes, ","), "\n", i.ims_url, "\n", i.sandbox_name, "\n",
                   i.include_org_header, "\n", i.credentials.private_key_pem.value());
  for (const SecretString& secret : i.credentials.client_secrets) {
    absl::StrAppend(&key, "\n", secret.value());
  }
  uint64_t digest = absl::Hash<std::string>{}(key);
  OPENSSL_cleanse(key.data(), key.size());
  return digest;
}

absl::Status Disabled(const std::string& id) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat("integration '", id, "' is disabled")),
      kReasonIntegrationDisabled, {{"integration", id}});
}

absl::Status TooShortLived(const std::string& id, absl::Duration min_validity,
                           absl::Duration lifetime) {
  return absl::FailedPreconditionError(absl::StrCat(
      "IMS tokens of integration '", id, "' live ", absl::FormatDuration(lifetime),
      ", less than the requested minimum validity ", absl::FormatDuration(min_validity)));
}

}  // namespace

TokenBroker::TokenBroker(CredentialStore* store, TokenExchanger* exchanger, Executor* executor,
                         const Clock* clock, RandomSource* random, RefreshPolicy policy)
    : store_(store),
      exchanger_(exchanger),
      executor_(executor),
      clock_(clock),
      random_(random),
      policy_(policy) {}

TokenBroker::~TokenBroker() { Shutdown(); }

TokenBroker::Shard& TokenBroker::ShardFor(const std::string& id) {
  return shards_[absl::Hash<std::string>{}(id) % kShards];
}

std::shared_ptr<TokenBroker::Entry> TokenBroker::Find(const std::string& id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(id);
  return it == shard.entries.end() ? nullptr : it->second;
}

std::shared_ptr<TokenBroker::Entry> TokenBroker::FindOrCreate(const std::string& id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto& slot = shard.entries[id];
  if (slot == nullptr) slot = std::make_shared<Entry>(id);
  return slot;
}

void TokenBroker::Erase(const std::string& id, const Entry* entry) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(id);
  if (it != shard.entries.end() && it->second.get() == entry) shard.entries.erase(it);
}

absl::Duration TokenBroker::MinValidityFor(const std::optional<absl::Duration>& requested,
                                           const AccessToken& token) const {
  if (requested.has_value()) return *requested;
  return DefaultMinValidity(token.issue_time, token.expire_time, policy_);
}

void TokenBroker::GetToken(const std::string& id, std::optional<absl::Duration> min_validity,
                           TokenCallback done) {
  std::shared_ptr<Entry> entry = FindOrCreate(id);
  absl::Time now = clock_->Now();
  entry->last_access_nanos.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
  SnapshotPtr hit;
  {
    absl::MutexLock lock(&entry->mu);
    if (entry->current != nullptr &&
        Satisfies(entry->current->token.expire_time, now,
                  MinValidityFor(min_validity, entry->current->token))) {
      hit = entry->current;
    } else {
      entry->waiters.push_back(Waiter{min_validity, std::move(done)});
      StartExchangeLocked(entry);
    }
  }
  if (hit != nullptr) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    // `done` was moved into a waiter only when there was no hit.
    done(std::move(hit));  // NOLINT(bugprone-use-after-move)
  } else {
    misses_.fetch_add(1, std::memory_order_relaxed);
  }
}

void TokenBroker::Refresh(const std::string& id, TokenCallback done) {
  std::shared_ptr<Entry> entry = FindOrCreate(id);
  entry->last_access_nanos.store(absl::ToUnixNanos(clock_->Now()), std::memory_order_relaxed);
  absl::MutexLock lock(&entry->mu);
  // A zero minimum: any new token satisfies a forced refresh.
  entry->waiters.push_back(Waiter{absl::ZeroDuration(), std::move(done), /*force=*/true});
  entry->force_pending = true;
  StartExchangeLocked(entry);
}

uint64_t TokenBroker::Watch(const std::string& id, TokenCallback on_token) {
  std::shared_ptr<Entry> entry = FindOrCreate(id);
  uint64_t handle = next_watch_handle_.fetch_add(1);
  absl::MutexLock lock(&entry->mu);
  entry->watchers.emplace(handle, std::move(on_token));
  // A refresh left to lapse (nobody asked since the last mint) is re-armed:
  // watched integrations are always refreshed ahead of expiry.
  if (entry->current != nullptr && !entry->in_flight &&
      entry->next_refresh == absl::InfiniteFuture()) {
    absl::Time when =
        NextRefreshTime(entry->current->token.issue_time, entry->current->token.expire_time,
                        policy_, random_->Uniform01());
    if (when <= clock_->Now()) {
      entry->refresh_due = true;
      StartExchangeLocked(entry);
    } else {
      ScheduleRefreshLocked(*entry, when);
    }
  }
  return handle;
}

void TokenBroker::Unwatch(const std::string& id, uint64_t handle) {
  std::shared_ptr<Entry> entry = Find(id);
  if (entry == nullptr) return;
  absl::MutexLock lock(&entry->mu);
  entry->watchers.erase(handle);
}

void TokenBroker::Invalidate(const std::string& id) {
  std::shared_ptr<Entry> entry = Find(id);
  if (entry == nullptr) return;
  absl::MutexLock lock(&entry->mu);
  ++entry->generation;
  entry->current = nullptr;
  entry->invalidated = true;
  entry->loaded_from_store = true;  // the store dropped its token on update
  entry->next_refresh = absl::InfiniteFuture();
  entry->consecutive_failures = 0;
  if (!entry->watchers.empty()) {
    entry->refresh_due = true;
    StartExchangeLocked(entry);
  }
}

void TokenBroker::Remove(const std::string& id) {
  std::shared_ptr<Entry> entry = Find(id);
  if (entry == nullptr) return;
  std::map<uint64_t, TokenCallback> watchers;
  {
    absl::MutexLock lock(&entry->mu);
    ++entry->generation;
    entry->current = nullptr;
    entry->next_refresh = absl::InfiniteFuture();
    watchers.swap(entry->watchers);
  }
  Erase(id, entry.get());
  absl::Status gone =
      WithErrorInfo(absl::NotFoundError(absl::StrCat("integration '", id, "' was deleted")),
                    kReasonIntegrationNotFound, {{"integration", id}});
  for (auto& [handle, callback] : watchers) callback(gone);
}

void TokenBroker::StartExchangeLocked(const std::shared_ptr<Entry>& entry) {
  if (entry->in_flight) return;
  entry->in_flight = true;
  executor_->Schedule([this, entry] { RunExchange(entry); });
}

void TokenBroker::ScheduleRefreshLocked(Entry& entry, absl::Time when) {
  entry.next_refresh = when;
  absl::MutexLock lock(&schedule_mu_);
  schedule_.emplace(when, entry.id);
}

std::optional<std::vector<TokenCallback>> TokenBroker::AdoptLocked(Entry& entry,
                                                                   const Integration& integration,
                                                                   AccessToken token) {
  absl::Time now = clock_->Now();
  if (!Satisfies(token.expire_time, now, absl::ZeroDuration())) return std::nullopt;
  if (entry.current != nullptr && token.expire_time <= entry.current->token.expire_time) {
    return std::nullopt;
  }
  entry.current = MakeSnapshot(integration, std::move(token));
  entry.settings_digest = SettingsDigest(integration);
  entry.refresh_due = false;
  ScheduleRefreshLocked(
      entry, NextRefreshTime(entry.current->token.issue_time, entry.current->token.expire_time,
                             policy_, random_->Uniform01()));
  std::vector<TokenCallback> watchers;
  for (auto& [h, cb] : entry.watchers) watchers.push_back(cb);
  return watchers;
}

bool TokenBroker::AcquireLease(const Entry& entry, absl::Time current_expire) {
  absl::Duration ttl = replica_.lease_ttl;
  absl::Time now = clock_->Now();
  if (current_expire > now) {
    ttl = std::clamp((current_expire - now) / 3, absl::Seconds(1), replica_.lease_ttl);
  }
  absl::StatusOr<bool> held =
      replica_.coordination->TryAcquireRefreshLease(entry.id, replica_.replica_id, ttl);
  if (!held.ok()) {
    // Serving beats deduplicating: mint without the lease.
    if (metrics_ != nullptr) metrics_->RecordReplicaEvent("lease_error");
    Log(LogLevel::kWarning, "could not take the refresh lease; minting without it",
        {{"integration", entry.id}, {"error", std::string(held.status().message())}});
    return true;
  }
  if (!*held && metrics_ != nullptr) metrics_->RecordReplicaEvent("lease_busy");
  return *held;
}

void TokenBroker::ReleaseLease(const std::string& id) {
  absl::Status released = replica_.coordination->ReleaseRefreshLease(id, replica_.replica_id);
  if (!released.ok()) {
    Log(LogLevel::kWarning, "could not release the refresh lease (it expires on its own)",
        {{"integration", id}, {"error", std::string(released.message())}});
  }
}

void TokenBroker::RunExchange(std::shared_ptr<Entry> entry) {
  const std::string& id = entry->id;
  while (true) {
    uint64_t generation;
    bool load_from_store;
    bool force;
    {
      absl::MutexLock lock(&entry->mu);
      generation = entry->generation;
      load_from_store = !entry->loaded_from_store;
      force = entry->force_pending;
    }

    absl::StatusOr<Integration> integration = store_->Get(id);
    if (!integration.ok() || integration->state == IntegrationState::kDisabled) {
      absl::Status error = integration.ok() ? Disabled(id) : integration.status();
      if (absl::IsNotFound(error)) {
        error = WithErrorInfo(std::move(error), kReasonIntegrationNotFound, {{"integration", id}});
      }
      std::vector<Waiter> waiters;
      std::map<uint64_t, TokenCallback> watchers;
      bool erase = false;
      {
        absl::MutexLock lock(&entry->mu);
        if (entry->generation != generation) continue;
        waiters.swap(entry->waiters);
        entry->current = nullptr;
        entry->in_flight = false;
        entry->force_pending = false;
        if (absl::IsNotFound(error)) {
          watchers.swap(entry->watchers);
          erase = true;
        }
      }
      if (erase) Erase(id, entry.get());
      for (auto& w : waiters) w.done(error);
      for (auto& [h, cb] : watchers) cb(error);
      return;
    }

    // The token persisted in the store is served when it is good: after a
    // restart (no new exchange), and when another replica minted it.
    if (load_from_store) {
      absl::StatusOr<std::optional<AccessToken>> stored = store_->GetToken(id);
      std::optional<std::vector<TokenCallback>> adopted;
      SnapshotPtr current;
      {
        absl::MutexLock lock(&entry->mu);
        entry->loaded_from_store = true;
        if (stored.ok() && stored->has_value() && entry->generation == generation) {
          adopted = AdoptLocked(*entry, *integration, std::move(**stored));
          current = entry->current;
        } else if (!stored.ok()) {
          Log(LogLevel::kWarning, "could not read the persisted token; minting a new one",
              {{"integration", id}, {"error", std::string(stored.status().message())}});
        }
      }
      if (adopted.has_value()) {
        if (replica_.coordination != nullptr && metrics_ != nullptr) {
          metrics_->RecordReplicaEvent("adopted");
        }
        for (auto& cb : *adopted) cb(current);
      }
    }

    // Serve waiters the (possibly just loaded) current token when it is good
    // enough and nothing forces an exchange.
    absl::Time current_expire = absl::InfinitePast();
    RefreshTrigger trigger = RefreshTrigger::kScheduled;
    {
      std::vector<std::pair<TokenCallback, SnapshotPtr>> served;
      bool need_exchange = false;
      {
        absl::MutexLock lock(&entry->mu);
        absl::Time now = clock_->Now();
        bool refresh_due =
            entry->refresh_due || entry->current == nullptr || now >= entry->next_refresh;
        if (!force) entry->refresh_due = false;
        std::vector<Waiter> remaining;
        for (auto& w : entry->waiters) {
          if (!w.force && entry->current != nullptr &&
              Satisfies(entry->current->token.expire_time, now,
                        MinValidityFor(w.min_validity, entry->current->token))) {
            served.emplace_back(std::move(w.done), entry->current);
          } else {
            remaining.push_back(std::move(w));
          }
        }
        entry->waiters.swap(remaining);
        need_exchange = !entry->waiters.empty() || entry->force_pending || refresh_due;
        if (!need_exchange) entry->in_flight = false;
        if (entry->current != nullptr) current_expire = entry->current->token.expire_time;
        trigger = force                       ? RefreshTrigger::kForced
                  : entry->current != nullptr ? RefreshTrigger::kScheduled
                  : entry->invalidated        ? RefreshTrigger::kInvalidated
                                              : RefreshTrigger::kCold;
      }
      for (auto& [done, snap] : served) done(snap);
      if (!need_exchange) return;
    }

    // With replicas, the store's lease picks the one that mints; the others
    // wait for its token (change feed, or a look again after lease_retry).
    bool holds_lease = false;
    if (replica_.coordination != nullptr) {
      if (!AcquireLease(*entry, current_expire)) {
        absl::MutexLock lock(&entry->mu);
        if (entry->generation != generation) continue;
        entry->loaded_from_store = false;
        entry->in_flight = false;
        ScheduleRefreshLocked(*entry, clock_->Now() + replica_.lease_retry);
        return;
      }
      holds_lease = true;
      // The previous holder may have stored its token after we last looked.
      if (!force) {
        absl::StatusOr<std::optional<AccessToken>> stored = store_->GetToken(id);
        if (stored.ok() && stored->has_value() && (*stored)->expire_time > current_expire &&
            clock_->Now() < NextRefreshTime((*stored)->issue_time, (*stored)->expire_time, policy_,
                                            /*u=*/0.0)) {
          ReleaseLease(id);
          absl::MutexLock lock(&entry->mu);
          entry->loaded_from_store = false;  // adopted on the next pass
          continue;
        }
      }
    }

    absl::Time started = clock_->Now();
    absl::StatusOr<AccessToken> minted = exchanger_->Exchange(*integration);
    exchanges_.fetch_add(1, std::memory_order_relaxed);
    if (metrics_ != nullptr) {
      metrics_->RecordImsExchange(
          integration->auth_method == AuthMethod::kJwt ? "jwt" : "oauth_s2s",
          clock_->Now() - started, minted.status());
      metrics_->RecordRefresh(trigger, minted.status());
    }

    std::vector<std::pair<TokenCallback, absl::StatusOr<SnapshotPtr>>> results;
    std::vector<TokenCallback> watchers;
    SnapshotPtr fresh;
    {
      absl::MutexLock lock(&entry->mu);
      if (entry->generation != generation) continue;  // settings changed mid-flight
      absl::Time now = clock_->Now();
      entry->force_pending = false;
      if (minted.ok()) {
        fresh = MakeSnapshot(*integration, *std::move(minted));
        entry->current = fresh;
        entry->settings_digest = SettingsDigest(*integration);
        entry->invalidated = false;
        entry->consecutive_failures = 0;
        ScheduleRefreshLocked(
            *entry, NextRefreshTime(fresh->token.issue_time, fresh->token.expire_time, policy_,
                                    random_->Uniform01()));
        absl::Duration lifetime = fresh->token.expire_time - fresh->token.issue_time;
        for (auto& w : entry->waiters) {
          absl::Duration min = MinValidityFor(w.min_validity, fresh->token);
          if (Satisfies(fresh->token.expire_time, now, min)) {
            results.emplace_back(std::move(w.done), fresh);
          } else {
            results.emplace_back(std::move(w.done), TooShortLived(id, min, lifetime));
          }
        }
        for (auto& [h, cb] : entry->watchers) watchers.push_back(cb);
      } else {
        failures_.fetch_add(1, std::memory_order_relaxed);
        ++entry->consecutive_failures;
        for (auto& w : entry->waiters) {
          // While IMS fails, a cached token that still satisfies the caller
          // is served (forced refreshes want a new one: they get the error).
          if (w.force) {
            results.emplace_back(std::move(w.done), minted.status());
          } else if (entry->current != nullptr &&
                     Satisfies(entry->current->token.expire_time, now,
                               MinValidityFor(w.min_validity, entry->current->token))) {
            results.emplace_back(std::move(w.done), entry->current);
          } else {
            results.emplace_back(std::move(w.done), minted.status());
          }
        }
        absl::Time expire =
            entry->current != nullptr ? entry->current->token.expire_time : absl::InfinitePast();
        bool keep_trying =
            absl::IsUnavailable(minted.status()) && (expire > now || !entry->watchers.empty());
        if (keep_trying) {
          ScheduleRefreshLocked(*entry, NextRetryTime(now, expire, entry->consecutive_failures,
                                                      policy_, random_->Uniform01()));
        } else {
          entry->next_refresh = absl::InfiniteFuture();
        }
        Log(LogLevel::kWarning, "token exchange failed",
            {{"integration", id},
             {"code", absl::StatusCodeToString(minted.status().code())},
             {"error", std::string(minted.status().message())},
             {"consecutive_failures", absl::StrCat(entry->consecutive_failures)},
             {"cached_token_valid_for",
              absl::FormatDuration(std::max(expire - now, absl::ZeroDuration()))}});
      }
      entry->waiters.clear();
      entry->in_flight = false;
    }
    if (fresh != nullptr) {
      Log(LogLevel::kDebug, "token minted",
          {{"integration", id},
           {"trigger", std::string(RefreshTriggerName(trigger))},
           {"expire_time", absl::FormatTime(fresh->token.expire_time)},
           {"latency", absl::FormatDuration(clock_->Now() - started)}});
      // Stored before the lease is released: the next holder finds it.
      absl::Status persisted = store_->PutToken(id, fresh->token);
      if (!persisted.ok() && !absl::IsNotFound(persisted)) {
        Log(LogLevel::kWarning, "could not persist the token",
            {{"integration", id}, {"error", std::string(persisted.message())}});
      }
    }
    if (holds_lease) ReleaseLease(id);
    if (fresh != nullptr) {
      for (auto& cb : watchers) cb(fresh);
    }
    for (auto& [done, result] : results) done(std::move(result));
    return;
  }
}

void TokenBroker::EnableReplicaCoordination(ReplicaOptions options) {
  replica_ = std::move(options);
  if (replica_.coordination != nullptr) {
    replica_.coordination->SetChangeListener(
        [this](const StoreChange& change) { OnStoreChange(change); });
  }
}

void TokenBroker::OnStoreChange(const StoreChange& change) {
  std::vector<std::shared_ptr<Entry>> entries;
  if (change.kind == StoreChange::Kind::kResync) {
    for (auto& shard : shards_) {
      absl::MutexLock lock(&shard.mu);
      for (auto& [id, entry] : shard.entries) entries.push_back(entry);
    }
  } else if (std::shared_ptr<Entry> entry = Find(change.id)) {
    entries.push_back(std::move(entry));
  }
  for (auto& entry : entries) {
    absl::MutexLock lock(&entry->mu);
    if (entry->in_flight) {
      // The exchange in flight reads the store again before it mints.
      entry->loaded_from_store = false;
      continue;
    }
    if (!entry->waiters.empty() || entry->force_pending) {
      // Callers are waiting (another replica held the lease): an exchange
      // pass adopts the stored token and serves them.
      entry->loaded_from_store = false;
      StartExchangeLocked(entry);
      continue;
    }
    if (entry->reconcile_queued) continue;
    entry->reconcile_queued = true;
    executor_->Schedule([this, entry] { Reconcile(entry); });
  }
}

void TokenBroker::Reconcile(std::shared_ptr<Entry> entry) {
  const std::string& id = entry->id;
  uint64_t generation;
  {
    absl::MutexLock lock(&entry->mu);
    entry->reconcile_queued = false;
    generation = entry->generation;
  }
  absl::StatusOr<Integration> integration = store_->Get(id);
  if (absl::IsNotFound(integration.status())) {
    Remove(id);
    return;
  }
  if (!integration.ok()) return;  // the next change or refresh tries again
  bool changed;
  {
    absl::MutexLock lock(&entry->mu);
    changed =
        entry->current != nullptr && (entry->settings_digest != SettingsDigest(*integration) ||
                                      integration->state == IntegrationState::kDisabled);
  }
  if (changed) {
    Invalidate(id);
    return;
  }
  absl::StatusOr<std::optional<AccessToken>> stored = store_->GetToken(id);
  if (!stored.ok() || !stored->has_value()) return;
  std::optional<std::vector<TokenCallback>> adopted;
  SnapshotPtr current;
  {
    absl::MutexLock lock(&entry->mu);
    if (entry->generation != generation || entry->in_flight) return;
    adopted = AdoptLocked(*entry, *integration, std::move(**stored));
    current = entry->current;
  }
  if (!adopted.has_value()) return;
  if (metrics_ != nullptr) metrics_->RecordReplicaEvent("adopted");
  Log(LogLevel::kDebug, "token adopted from the store",
      {{"integration", id}, {"expire_time", absl::FormatTime(current->token.expire_time)}});
  for (auto& cb : *adopted) cb(current);
}

void TokenBroker::EndWatches(const absl::Status& status) {
  std::vector<TokenCallback> watchers;
  for (auto& shard : shards_) {
    std::vector<std::shared_ptr<Entry>> entries;
    {
      absl::MutexLock lock(&shard.mu);
      for (auto& [id, entry] : shard.entries) entries.push_back(entry);
    }
    for (auto& entry : entries) {
      absl::MutexLock lock(&entry->mu);
      for (auto& [h, cb] : entry->watchers) watchers.push_back(std::move(cb));
      entry->watchers.clear();
    }
  }
  for (auto& cb : watchers) cb(status);
}

void TokenBroker::FailWaiters(const absl::Status& status) {
  std::vector<TokenCallback> waiters;
  for (auto& shard : shards_) {
    std::vector<std::shared_ptr<Entry>> entries;
    {
      absl::MutexLock lock(&shard.mu);
      for (auto& [id, entry] : shard.entries) entries.push_back(entry);
    }
    for (auto& entry : entries) {
      absl::MutexLock lock(&entry->mu);
      for (auto& w : entry->waiters) waiters.push_back(std::move(w.done));
      entry->waiters.clear();
      entry->force_pending = false;
    }
  }
  for (auto& done : waiters) done(status);
}

CacheSample TokenBroker::SampleCache() const {
  CacheSample sample;
  sample.hits = hits_.load(std::memory_order_relaxed);
  sample.misses = misses_.load(std::memory_order_relaxed);
  for (auto& shard : shards_) {
    std::vector<std::shared_ptr<Entry>> entries;
    {
      absl::MutexLock lock(const_cast<absl::Mutex*>(&shard.mu));
      for (auto& [id, entry] : shard.entries) entries.push_back(entry);
    }
    sample.entries += static_cast<int64_t>(entries.size());
    for (auto& entry : entries) {
      absl::MutexLock lock(&entry->mu);
      if (entry->current != nullptr) {
        sample.tokens.emplace_back(entry->id, entry->current->token.expire_time);
      }
    }
  }
  return sample;
}

absl::Time TokenBroker::RunDueRefreshes() {
  absl::Time now = clock_->Now();
  std::vector<std::string> due;
  absl::Time next = absl::InfiniteFuture();
  {
    absl::MutexLock lock(&schedule_mu_);
    while (!schedule_.empty() && schedule_.begin()->first <= now) {
      due.push_back(std::move(schedule_.begin()->second));
      schedule_.erase(schedule_.begin());
    }
    if (!schedule_.empty()) next = schedule_.begin()->first;
  }
  for (const std::string& id : due) {
    Log(LogLevel::kDebug, "refresh due", {{"integration", id}});
    std::shared_ptr<Entry> entry = Find(id);
    if (entry == nullptr) continue;
    absl::MutexLock lock(&entry->mu);
    if (entry->next_refresh > now) continue;  // stale row: rescheduled
    entry->next_refresh = absl::InfiniteFuture();
    entry->refresh_due = true;
    // Integrations nobody asked for since their token was minted are left
    // to lapse: minting for no one would only spend IMS quota.
    int64_t last_access = entry->last_access_nanos.load(std::memory_order_relaxed);
    if (entry->watchers.empty() && entry->waiters.empty() && !entry->force_pending &&
        entry->current != nullptr &&
        absl::FromUnixNanos(last_access) <= entry->current->token.issue_time) {
      entry->refresh_due = false;
      continue;
    }
    StartExchangeLocked(entry);
  }
  return next;
}

void TokenBroker::Start() {
  absl::MutexLock lock(&schedule_mu_);
  if (refresher_.joinable()) return;
  stopping_ = false;
  refresher_ = std::thread([this] {
    while (true) {
      absl::Time next = RunDueRefreshes();
      absl::MutexLock lock(&schedule_mu_);
      wake_at_ = next;
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(schedule_mu_) {
        return stopping_ || (!schedule_.empty() && schedule_.begin()->first < wake_at_);
      };
      schedule_mu_.AwaitWithDeadline(absl::Condition(&wake),
                                     std::min(next, absl::Now() + absl::Seconds(1)));
      if (stopping_) return;
    }
  });
}

void TokenBroker::Shutdown() {
  if (replica_.coordination != nullptr) replica_.coordination->SetChangeListener(nullptr);
  {
    absl::MutexLock lock(&schedule_mu_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
}

BrokerStats TokenBroker::stats() const {
  return BrokerStats{hits_.load(), misses_.load(), exchanges_.load(), failures_.load()};
}

int64_t TokenBroker::cached_integrations() const {
  int64_t n = 0;
  for (auto& shard : shards_) {
    absl::MutexLock lock(const_cast<absl::Mutex*>(&shard.mu));
    n += static_cast<int64_t>(shard.entries.size());
  }
  return n;
}

}  // namespace tokenbroker
