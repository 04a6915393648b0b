// Scheduled client-secret rotation: when an integration is due
// (NextRotationTime), the scheduler's passes over a fake Adobe and an
// in-memory store with a fake clock, its backoff after a failure, and two
// replicas sharing one store and one lease table rotating once.
#include "server/lifecycle/rotation_scheduler.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_credential_store.h"
#include "tests/lifecycle/fake_adobe.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_replica_coordination.h"
#include "tests/testing/forwarding_store.h"

namespace tokenbroker {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

using Phase = RotationResult::Phase;

const absl::Time kStored = absl::FromUnixSeconds(1'780'000'000);

Integration Rotatable() {
  Integration in;
  in.id = "billing";
  in.auth_method = AuthMethod::kOAuthServerToServer;
  in.client_id = "billing-client";
  in.org_id = "ACME@AdobeOrg";
  in.scopes = {"openid"};
  in.console = {"25591412", "17950"};
  in.create_time = kStored - absl::Hours(100);
  in.credentials.client_secrets.emplace_back(std::string("secret-1"));
  in.client_secret_info = {{kStored, ""}};
  return in;
}

TEST(NextRotationTimeTest, OwnPeriodElseTheDefaultAfterTheSecretWasStored) {
  Integration in = Rotatable();
  EXPECT_EQ(NextRotationTime(in, absl::Hours(24)), kStored + absl::Hours(24));
  in.secret_rotation_period = absl::Hours(2);
  EXPECT_EQ(NextRotationTime(in, absl::Hours(24)), kStored + absl::Hours(2));
}

TEST(NextRotationTimeTest, CountsFromTheLaterOfLastRotationAndTheSecretInUse) {
  Integration in = Rotatable();
  in.last_secret_rotation_time = kStored + absl::Hours(1);
  EXPECT_EQ(NextRotationTime(in, absl::Hours(24)), kStored + absl::Hours(25));
  in.client_secret_info.front().create_time = absl::InfinitePast();  // stored before it was kept
  EXPECT_EQ(NextRotationTime(in, absl::Hours(24)), kStored + absl::Hours(25));
  in.last_secret_rotation_time = absl::InfinitePast();
  EXPECT_EQ(NextRotationTime(in, absl::Hours(24)), in.create_time + absl::Hours(24));
}

TEST(NextRotationTimeTest, NeverWithoutAPeriodConsoleIdsOrOAuthOrWhenDisabled) {
  Integration in = Rotatable();
  EXPECT_EQ(NextRotationTime(in, absl::ZeroDuration()), absl::InfiniteFuture());
  in.secret_rotation_period = absl::ZeroDuration();  // its own "never" beats the default
  EXPECT_EQ(NextRotationTime(in, absl::Hours(1)), absl::InfiniteFuture());
  in = Rotatable();
  in.state = IntegrationState::kDisabled;
  EXPECT_EQ(NextRotationTime(in, absl::Hours(1)), absl::InfiniteFuture());
  in = Rotatable();
  in.console = {};
  EXPECT_EQ(NextRotationTime(in, absl::Hours(1)), absl::InfiniteFuture());
  in = Rotatable();
  in.auth_method = AuthMethod::kJwt;
  EXPECT_EQ(NextRotationTime(in, absl::Hours(1)), absl::InfiniteFuture());
}

TEST(NextRotationTimeTest, ARotationUnderWayResumesAtOnceWhateverThePeriod) {
  Integration in = Rotatable();
  in.secret_rotation_period = absl::ZeroDuration();
  in.state = IntegrationState::kDisabled;
  in.credentials.client_secrets.emplace_back(std::string("secret-2"));
  in.client_secret_info.push_back({kStored, "uuid-2", SecretRotationRole::kRetiring});
  EXPECT_EQ(NextRotationTime(in, absl::ZeroDuration()), absl::InfinitePast());
}

class RotationSchedulerTest : public ::testing::Test {
 protected:
  RotationSchedulerTest() {
    clock_.Set(kStored);
    adobe_.AddDirectly("secret-1");
    Integration in = Rotatable();
    in.secret_rotation_period = absl::Hours(1);
    EXPECT_TRUE(memory_.Create(in).ok());
  }

  Integration Stored() { return memory_.Get("billing").value(); }

  testing::FakeClock clock_;
  InMemoryCredentialStore memory_{&clock_};
  FakeAdobe adobe_{&clock_};
  ClientSecretManager manager_{&memory_, &adobe_, &adobe_, &clock_,
                               ClientSecretOptions{absl::Minutes(15)}};
  std::vector<RotationOutcome> heard_;
  RotationScheduler scheduler_{&memory_, &manager_, &clock_, RotationScheduleOptions{},
                               [this](const RotationOutcome& o) { heard_.push_back(o); }};
};

TEST_F(RotationSchedulerTest, RotatesWhenDueThenDeletesTheOldSecretAfterTheGrace) {
  EXPECT_THAT(scheduler_.RunOnce(), IsEmpty());
  EXPECT_EQ(adobe_.adds(), 0);

  clock_.Advance(absl::Hours(1));
  std::vector<RotationOutcome> outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_TRUE(outcomes[0].status.ok()) << outcomes[0].status;
  EXPECT_EQ(outcomes[0].phase, Phase::kWaiting);
  EXPECT_THAT(adobe_.Values(), SizeIs(2));
  EXPECT_THAT(heard_, SizeIs(1));

  clock_.Advance(absl::Minutes(10));  // the old secret unused for 10 of 15 minutes
  outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_EQ(outcomes[0].phase, Phase::kWaiting);
  clock_.Advance(absl::Minutes(5));
  outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_EQ(outcomes[0].phase, Phase::kDone);
  EXPECT_THAT(adobe_.Values(), SizeIs(1));
  EXPECT_NE(adobe_.Values().front(), "secret-1");
  EXPECT_EQ(Stored().last_secret_rotation_time, clock_.Now());

  EXPECT_THAT(scheduler_.RunOnce(), IsEmpty());  // the next one is due an hour from now
  EXPECT_EQ(adobe_.adds(), 1);
}

TEST_F(RotationSchedulerTest, FinishesAnOnDemandRotationEvenWithoutAPeriod) {
  Integration in = Stored();
  in.secret_rotation_period = absl::ZeroDuration();
  ASSERT_TRUE(memory_.Update(in, in.etag).ok());
  ASSERT_EQ(manager_.Rotate("billing", /*now=*/false)->phase, Phase::kWaiting);

  clock_.Advance(absl::Minutes(15));
  std::vector<RotationOutcome> outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_EQ(outcomes[0].phase, Phase::kDone);
  EXPECT_THAT(adobe_.Values(), SizeIs(1));
}

TEST_F(RotationSchedulerTest, SamplesTheSecretsAgeAndLastRotation) {
  scheduler_.RunOnce();
  std::vector<SecretAgeSample> samples = scheduler_.Samples();
  ASSERT_THAT(samples, SizeIs(1));
  EXPECT_EQ(samples[0].integration, "billing");
  EXPECT_EQ(samples[0].oldest_secret_time, kStored);
  EXPECT_EQ(samples[0].last_rotation_time, absl::InfinitePast());
}

TEST_F(RotationSchedulerTest, BacksOffAfterAFailureThenRetries) {
  adobe_.refuse_new_secrets = true;
  clock_.Advance(absl::Hours(1));
  std::vector<RotationOutcome> outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_TRUE(absl::IsUnavailable(outcomes[0].status)) << outcomes[0].status;

  clock_.Advance(absl::Minutes(4));
  EXPECT_THAT(scheduler_.RunOnce(), IsEmpty());  // backing off for 5 minutes
  clock_.Advance(absl::Minutes(1));
  outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_FALSE(outcomes[0].status.ok());
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(scheduler_.RunOnce(), IsEmpty());  // doubled: 10 minutes

  adobe_.refuse_new_secrets = false;
  clock_.Advance(absl::Minutes(5));
  outcomes = scheduler_.RunOnce();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_TRUE(outcomes[0].status.ok()) << outcomes[0].status;
  EXPECT_EQ(outcomes[0].phase, Phase::kWaiting);
  EXPECT_EQ(adobe_.adds(), 1);  // the secret added on the first attempt was resumed
}

// Replica B reads the integrations (due), then replica A rotates it before
// B gets to it: B decides again under the lease, on what is stored then.
class RunsOtherReplicaAfterList final : public testing::ForwardingCredentialStore {
 public:
  using ForwardingCredentialStore::ForwardingCredentialStore;
  absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view token) override {
    absl::StatusOr<IntegrationPage> page = ForwardingCredentialStore::List(page_size, token);
    if (other_replica != nullptr) other_replica->RunOnce();
    return page;
  }
  RotationScheduler* other_replica = nullptr;
};

TEST_F(RotationSchedulerTest, TwoReplicasRotateOnce) {
  testing::LeaseTable leases(&clock_);
  testing::FakeReplicaCoordination coordination_a(&leases), coordination_b(&leases);
  ClientSecretOptions a_options{absl::ZeroDuration(), &coordination_a, "replica-a"};
  ClientSecretOptions b_options{absl::ZeroDuration(), &coordination_b, "replica-b"};
  ClientSecretManager manager_a(&memory_, &adobe_, &adobe_, &clock_, a_options);
  ClientSecretManager manager_b(&memory_, &adobe_, &adobe_, &clock_, b_options);
  RunsOtherReplicaAfterList b_store(&memory_);
  RotationScheduler a(&memory_, &manager_a, &clock_, {});
  RotationScheduler b(&b_store, &manager_b, &clock_, {});
  b_store.other_replica = &a;

  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(b.RunOnce(), IsEmpty());  // A rotated (grace 0: done at once) in between
  EXPECT_EQ(adobe_.adds(), 1);
  EXPECT_THAT(adobe_.Values(), SizeIs(1));
  EXPECT_EQ(Stored().last_secret_rotation_time, clock_.Now());
}

TEST_F(RotationSchedulerTest, AReplicaHoldingTheLeaseKeepsTheOthersOut) {
  testing::LeaseTable leases(&clock_);
  testing::FakeReplicaCoordination coordination(&leases);
  ClientSecretManager manager(&memory_, &adobe_, &adobe_, &clock_,
                              {absl::Minutes(15), &coordination, "replica-b"});
  RotationScheduler b(&memory_, &manager, &clock_, {});
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(leases.TryAcquire("secret-rotation/billing", "replica-a", absl::Minutes(5)));

  EXPECT_THAT(b.RunOnce(), IsEmpty());
  EXPECT_EQ(adobe_.adds(), 0);
  absl::StatusOr<RotationResult> direct = manager.Rotate("billing", false);
  EXPECT_TRUE(absl::IsAborted(direct.status())) << direct.status();

  clock_.Advance(absl::Minutes(5));  // replica A died holding it: the lease expires
  EXPECT_THAT(b.RunOnce(), SizeIs(1));
  EXPECT_EQ(adobe_.adds(), 1);
  EXPECT_EQ(leases.Holder("secret-rotation/billing"), "");  // released after the call
}

TEST_F(RotationSchedulerTest, AStoreThatCannotTakeTheLeaseFailsTheRotation) {
  testing::LeaseTable leases(&clock_);
  testing::FakeReplicaCoordination coordination(&leases);
  coordination.FailWith(absl::UnavailableError("PostgreSQL is down"));
  ClientSecretManager manager(&memory_, &adobe_, &adobe_, &clock_,
                              {absl::Minutes(15), &coordination, "replica-b"});
  absl::StatusOr<RotationResult> result = manager.Rotate("billing", false);
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_EQ(adobe_.adds(), 0);
}

}  // namespace
}  // namespace tokenbroker
