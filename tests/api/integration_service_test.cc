// IntegrationService's operations over a store, without gRPC: an update
// never loses a concurrent write.
#include "server/api/integration_service.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/memory_credential_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/forwarding_store.h"
#include "tests/testing/stack.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::OAuthIntegration;

// A store where another writer commits a change of its own between this
// caller's read and its write (once, on the first Get after Arm).
class RacingStore final : public testing::ForwardingCredentialStore {
 public:
  explicit RacingStore(std::function<void(CredentialStore*)> other_writer)
      : ForwardingCredentialStore(&inner_), other_writer_(std::move(other_writer)) {}
  void Arm() { armed_ = true; }

  absl::StatusOr<Integration> Get(absl::string_view id) override {
    absl::StatusOr<Integration> read = inner_.Get(id);
    if (armed_) {
      armed_ = false;
      other_writer_(&inner_);
    }
    return read;
  }
  InMemoryCredentialStore& inner() { return inner_; }

 private:
  InMemoryCredentialStore inner_;
  std::function<void(CredentialStore*)> other_writer_;
  bool armed_ = false;
};

v1::UpdateIntegrationRequest Rename(const std::string& display_name, const std::string& etag) {
  v1::UpdateIntegrationRequest request;
  request.mutable_integration()->set_name("integrations/acme");
  request.mutable_integration()->set_display_name(display_name);
  request.mutable_integration()->set_etag(etag);
  request.mutable_update_mask()->add_paths("display_name");
  return request;
}

class IntegrationServiceTest : public ::testing::Test {
 protected:
  IntegrationServiceTest()
      : store_([](CredentialStore* store) {
          // Another caller's partial update of another field, committed.
          Integration other = store->Get("acme").value();
          other.sandbox_name = "changed-concurrently";
          EXPECT_TRUE(store->Update(other, other.etag).ok());
        }),
        service_(&store_, /*executor=*/nullptr, ValidationOptions(), /*api=*/nullptr, &clock_,
                 /*secrets=*/nullptr, /*migrator=*/nullptr) {
    absl::StatusOr<v1::Integration> created =
        service_.Create(OAuthIntegration("acme", "client-acme", "secret-acme", ""));
    EXPECT_TRUE(created.ok()) << created.status();
  }

  testing::FakeClock clock_;
  RacingStore store_;
  IntegrationServiceImpl service_;
};

TEST_F(IntegrationServiceTest, UpdateWithoutEtagRacingAnotherFieldIsAbortedNotAnOverwrite) {
  store_.Arm();
  absl::StatusOr<v1::Integration> updated = service_.Update(Rename("ACME", ""));
  ASSERT_EQ(updated.status().code(), absl::StatusCode::kAborted) << updated.status();
  EXPECT_THAT(std::string(updated.status().message()), HasSubstr("concurrently"));
  // The other writer's change survived.
  EXPECT_EQ(store_.inner().Get("acme")->sandbox_name, "changed-concurrently");
}

TEST_F(IntegrationServiceTest, RetriedAfterAbortedBothPartialUpdatesSurvive) {
  store_.Arm();
  ASSERT_TRUE(absl::IsAborted(service_.Update(Rename("ACME", "")).status()));
  absl::StatusOr<v1::Integration> retried = service_.Update(Rename("ACME", ""));
  ASSERT_TRUE(retried.ok()) << retried.status();
  Integration stored = store_.inner().Get("acme").value();
  EXPECT_EQ(stored.display_name, "ACME");
  EXPECT_EQ(stored.sandbox_name, "changed-concurrently");
}

TEST_F(IntegrationServiceTest, UpdateWithAStaleEtagIsAborted) {
  std::string etag = store_.inner().Get("acme")->etag;
  ASSERT_TRUE(service_.Update(Rename("first", etag)).ok());
  absl::StatusOr<v1::Integration> stale = service_.Update(Rename("second", etag));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_.inner().Get("acme")->display_name, "first");
}

}  // namespace
}  // namespace tokenbroker
