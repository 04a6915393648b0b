// An in-process ReplicaCoordination for unit tests: replicas are objects
// sharing one LeaseTable timed by a fake clock; changes are delivered only
// when the test calls Deliver, so interleavings are the test's to choose.
#ifndef TOKENBROKER_TESTS_TESTING_FAKE_REPLICA_COORDINATION_H_
#define TOKENBROKER_TESTS_TESTING_FAKE_REPLICA_COORDINATION_H_

#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/store/credential_store.h"
#include "server/store/replica_coordination.h"

namespace tokenbroker::testing {

class LeaseTable {
 public:
  explicit LeaseTable(const Clock* clock) : clock_(clock) {}

  bool TryAcquire(const std::string& id, const std::string& holder, absl::Duration ttl) {
    absl::MutexLock lock(&mu_);
    ++attempts_;
    auto it = leases_.find(id);
    absl::Time now = clock_->Now();
    if (it != leases_.end() && it->second.first != holder && it->second.second > now) return false;
    leases_[id] = {holder, now + ttl};
    return true;
  }
  void Release(const std::string& id, const std::string& holder) {
    absl::MutexLock lock(&mu_);
    auto it = leases_.find(id);
    if (it != leases_.end() && it->second.first == holder) leases_.erase(it);
  }
  std::string Holder(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = leases_.find(id);
    return it == leases_.end() || it->second.second <= clock_->Now() ? "" : it->second.first;
  }
  int attempts() {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }

 private:
  const Clock* const clock_;
  absl::Mutex mu_;
  std::map<std::string, std::pair<std::string, absl::Time>> leases_ ABSL_GUARDED_BY(mu_);
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
};

class FakeReplicaCoordination final : public ReplicaCoordination {
 public:
  // `store` (not owned; may be null) is the shared store whose tokens a
  // lease grant reads and PutTokenAndReleaseLease writes.
  explicit FakeReplicaCoordination(LeaseTable* table, CredentialStore* store = nullptr)
      : table_(table), store_(store) {}

  absl::StatusOr<LeaseGrant> TryAcquireRefreshLease(absl::string_view id, absl::string_view holder,
                                                    absl::Duration ttl) override {
    if (!failure_.ok()) return failure_;
    LeaseGrant grant{table_->TryAcquire(std::string(id), std::string(holder), ttl), std::nullopt};
    if (grant.held && store_ != nullptr) {
      absl::StatusOr<std::optional<AccessToken>> token = store_->GetToken(id);
      if (!token.ok()) return token.status();
      grant.stored_token = *std::move(token);
    }
    return grant;
  }
  absl::Status PutTokenAndReleaseLease(absl::string_view id, const AccessToken& token,
                                       absl::string_view holder) override {
    absl::Status put = store_ != nullptr ? store_->PutToken(id, token) : absl::OkStatus();
    table_->Release(std::string(id), std::string(holder));
    return put;
  }
  absl::Status ReleaseRefreshLease(absl::string_view id, absl::string_view holder) override {
    table_->Release(std::string(id), std::string(holder));
    return absl::OkStatus();
  }
  absl::StatusOr<bool> TryAcquireLease(absl::string_view name, absl::string_view holder,
                                       absl::Duration ttl) override {
    if (!failure_.ok()) return failure_;
    return table_->TryAcquire(std::string(name), std::string(holder), ttl);
  }
  absl::Status ReleaseLease(absl::string_view name, absl::string_view holder) override {
    table_->Release(std::string(name), std::string(holder));
    return absl::OkStatus();
  }
  void FailWith(absl::Status status) { failure_ = std::move(status); }

 private:
  LeaseTable* const table_;
  CredentialStore* const store_;
  absl::Status failure_;
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_FAKE_REPLICA_COORDINATION_H_
