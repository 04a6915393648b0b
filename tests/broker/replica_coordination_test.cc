// Two brokers on one store, as two replicas on one PostgreSQL: the lease
// decides who mints, the other adopts the stored token.
#include <memory>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/broker/token_broker.h"
#include "server/metrics/metrics.h"
#include "server/store/memory_credential_store.h"
#include "tests/broker/broker_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_exchanger.h"
#include "tests/testing/fake_replica_coordination.h"
#include "tests/testing/replica_store_view.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::FakeClock;
using ::tokenbroker::testing::FakeReplicaCoordination;
using ::tokenbroker::testing::FakeTokenExchanger;
using ::tokenbroker::testing::FixedRandomSource;
using ::tokenbroker::testing::LeaseTable;
using ::tokenbroker::testing::MakeIntegration;
using ::tokenbroker::testing::ManualExecutor;
using ::tokenbroker::testing::ReplicaStoreView;
using ::tokenbroker::testing::Result;

// One replica: its own broker, exchanger, executor and view of the feed.
struct Replica {
  Replica(const std::string& name, CredentialStore* store, LeaseTable* leases, FakeClock* clock,
          RandomSource* random, RefreshPolicy policy)
      : view(store),
        exchanger(clock, absl::Seconds(100)),
        coordination(leases, store),
        metrics({}) {
    BrokerOptions options{.refresh = policy, .observer = &metrics};
    options.replica.coordination = &coordination;
    options.replica.replica_id = name;
    options.replica.lease_ttl = absl::Seconds(10);
    options.replica.lease_retry = absl::Milliseconds(250);
    broker = std::make_unique<TokenBroker>(&view, &exchanger, &executor, clock, random, options);
  }
  Result Get(const std::string& id) {
    Result r;
    broker->GetToken(id, std::nullopt, r.Callback());
    executor.RunAll();
    return r;
  }
  ReplicaStoreView view;  // the feed reaches it when the test says
  FakeTokenExchanger exchanger;
  ManualExecutor executor;
  FakeReplicaCoordination coordination;
  Metrics metrics;
  std::unique_ptr<TokenBroker> broker;
};

class ReplicaCoordinationTest : public ::testing::Test {
 protected:
  ReplicaCoordinationTest() : store_(&clock_), leases_(&clock_) {
    policy_.default_min_validity = absl::Seconds(5);
    a_ = std::make_unique<Replica>("a", &store_, &leases_, &clock_, &random_, policy_);
    b_ = std::make_unique<Replica>("b", &store_, &leases_, &clock_, &random_, policy_);
    EXPECT_TRUE(store_.Create(MakeIntegration("acme")).ok());
  }
  // The store's feed tells both replicas of a new token (and its expiry).
  void TokenStored(const std::string& id) {
    StoreChange change{StoreChange::Kind::kToken, id};
    change.token_expire_time = (*store_.GetToken(id))->expire_time;
    a_->view.Deliver(change);
    b_->view.Deliver(change);
    a_->executor.RunAll();
    b_->executor.RunAll();
  }
  int Exchanges() const { return a_->exchanger.calls() + b_->exchanger.calls(); }

  FakeClock clock_;
  InMemoryCredentialStore store_;
  LeaseTable leases_;
  FixedRandomSource random_{0.0};
  RefreshPolicy policy_;
  std::unique_ptr<Replica> a_, b_;
};

TEST_F(ReplicaCoordinationTest, SecondReplicaServesTheTokenTheFirstStored) {
  Result first = a_->Get("acme");
  ASSERT_TRUE(first.value->ok()) << first.value->status();
  Result second = b_->Get("acme");
  ASSERT_TRUE(second.value->ok()) << second.value->status();
  EXPECT_EQ(second.expire(), first.expire());
  EXPECT_EQ(Exchanges(), 1);
  EXPECT_EQ(leases_.Holder("acme"), "");  // released after storing
}

TEST_F(ReplicaCoordinationTest, WaitersOfTheReplicaWithoutTheLeaseGetTheHoldersToken) {
  ASSERT_TRUE(leases_.TryAcquire("acme", "a", absl::Seconds(10)));  // a is minting
  Result waiting = b_->Get("acme");
  EXPECT_FALSE(waiting.value.has_value()) << "b must wait, not mint";
  EXPECT_EQ(b_->exchanger.calls(), 0);
  EXPECT_THAT(b_->metrics.Render(),
              HasSubstr("tokenbroker_replica_events_total{event=\"lease_busy\"} 1"));

  // a stores its token, releases the lease; the feed wakes b.
  AccessToken token;
  token.access_token = SecretString(std::string("minted-by-a"));
  token.issue_time = clock_.Now();
  token.expire_time = clock_.Now() + absl::Seconds(100);
  ASSERT_TRUE(store_.PutToken("acme", token).ok());
  leases_.Release("acme", "a");
  TokenStored("acme");
  ASSERT_TRUE(waiting.value.has_value());
  ASSERT_TRUE(waiting.value->ok()) << waiting.value->status();
  EXPECT_EQ((**waiting.value)->token.access_token.value(), "minted-by-a");
  EXPECT_EQ(Exchanges(), 0);
}

TEST_F(ReplicaCoordinationTest, LeaseOfADeadHolderExpiresAndAnotherReplicaMints) {
  ASSERT_TRUE(leases_.TryAcquire("acme", "dead", absl::Seconds(10)));
  Result waiting = b_->Get("acme");
  EXPECT_FALSE(waiting.value.has_value());
  // Retries every lease_retry while the lease is held; none mints.
  for (int i = 0; i < 8; ++i) {
    clock_.Advance(absl::Milliseconds(250));
    b_->broker->RunDueRefreshes();
    b_->executor.RunAll();
  }
  EXPECT_FALSE(waiting.value.has_value());
  EXPECT_EQ(b_->exchanger.calls(), 0);
  clock_.Advance(absl::Seconds(9));  // the dead holder's lease expires
  b_->broker->RunDueRefreshes();
  b_->executor.RunAll();
  ASSERT_TRUE(waiting.value.has_value());
  EXPECT_TRUE(waiting.value->ok()) << waiting.value->status();
  EXPECT_EQ(b_->exchanger.calls(), 1);
}

TEST_F(ReplicaCoordinationTest, OneReplicaRefreshesAndTheOtherAdoptsAndReschedules) {
  Result a0 = a_->Get("acme");
  Result b0 = b_->Get("acme");
  ASSERT_EQ(Exchanges(), 1);
  std::vector<absl::Time> watched;
  b_->broker->Watch("acme", [&](absl::StatusOr<SnapshotPtr> r) {
    if (r.ok()) watched.push_back((*r)->token.expire_time);
  });
  // Both due at 75 s; a gets there first and mints.
  clock_.Advance(absl::Seconds(75));
  a_->Get("acme");  // an access, so a's refresh is not left to lapse
  a_->broker->RunDueRefreshes();
  a_->executor.RunAll();
  ASSERT_EQ(a_->exchanger.calls(), 2);
  TokenStored("acme");
  ASSERT_EQ(watched.size(), 1u) << "b's watchers get the adopted token";
  EXPECT_GT(watched[0], b0.expire());
  // b's own refresh was moved to the new token's schedule: nothing due now.
  b_->broker->RunDueRefreshes();
  b_->executor.RunAll();
  EXPECT_EQ(b_->exchanger.calls(), 0);
  Result b1 = b_->Get("acme");
  EXPECT_EQ(b1.expire(), watched[0]);
  EXPECT_THAT(b_->metrics.Render(),
              HasSubstr("tokenbroker_replica_events_total{event=\"adopted\"}"));
}

TEST_F(ReplicaCoordinationTest, OwnNotificationsAreNoOps) {
  Result first = a_->Get("acme");
  TokenStored("acme");
  Result again = a_->Get("acme");
  EXPECT_EQ(again.expire(), first.expire());
  EXPECT_EQ(Exchanges(), 1);
}

TEST_F(ReplicaCoordinationTest, ChangedCredentialsOnAnotherReplicaInvalidateTheCache) {
  a_->Get("acme");
  Result b0 = b_->Get("acme");
  ASSERT_EQ(Exchanges(), 1);
  // A cosmetic change leaves the token alone.
  Integration stored = *store_.Get("acme");
  stored.display_name = "renamed";
  ASSERT_TRUE(store_.Update(stored, "").ok());
  ASSERT_TRUE(store_.PutToken("acme", (**b0.value)->token).ok());  // Update dropped it
  b_->view.Deliver({StoreChange::Kind::kIntegration, "acme"});
  b_->executor.RunAll();
  EXPECT_EQ(b_->Get("acme").expire(), b0.expire());
  // A new secret does not.
  stored = *store_.Get("acme");
  stored.credentials.client_secrets = {SecretString(std::string("rotated"))};
  ASSERT_TRUE(store_.Update(stored, "").ok());
  b_->view.Deliver({StoreChange::Kind::kIntegration, "acme"});
  b_->executor.RunAll();
  clock_.Advance(absl::Seconds(1));
  Result b1 = b_->Get("acme");
  ASSERT_TRUE(b1.value->ok());
  EXPECT_GT(b1.expire(), b0.expire());
  EXPECT_EQ(b_->exchanger.calls(), 1);
}

TEST_F(ReplicaCoordinationTest, DeletedOnAnotherReplicaEndsWatches) {
  b_->Get("acme");
  std::optional<absl::Status> ended;
  b_->broker->Watch("acme", [&](absl::StatusOr<SnapshotPtr> r) {
    if (!r.ok()) ended = r.status();
  });
  ASSERT_TRUE(store_.Delete("acme", "").ok());
  b_->view.Deliver({StoreChange::Kind::kIntegration, "acme"});
  b_->executor.RunAll();
  ASSERT_TRUE(ended.has_value());
  EXPECT_TRUE(absl::IsNotFound(*ended));
}

TEST_F(ReplicaCoordinationTest, LeaseErrorsDoNotStopServing) {
  b_->coordination.FailWith(absl::UnavailableError("database down"));
  Result r = b_->Get("acme");
  ASSERT_TRUE(r.value->ok()) << r.value->status();
  EXPECT_EQ(b_->exchanger.calls(), 1);
  EXPECT_THAT(b_->metrics.Render(), HasSubstr("event=\"lease_error\""));
}

TEST_F(ReplicaCoordinationTest, EndWatchesFinishesEveryWatcher) {
  b_->Get("acme");
  int ended = 0;
  b_->broker->Watch("acme", [&](absl::StatusOr<SnapshotPtr> r) { ended += !r.ok(); });
  b_->broker->EndWatches(absl::UnavailableError("shutting down"));
  EXPECT_EQ(ended, 1);
}

}  // namespace
}  // namespace tokenbroker
