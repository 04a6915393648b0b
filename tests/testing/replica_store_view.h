// One simulated replica's view of a shared store, for unit tests: every
// call goes to the shared store, but the change feed reaches this view's
// listener only when the test calls Deliver, so interleavings are the
// test's to choose. Not for production use.
#ifndef TOKENBROKER_TESTS_TESTING_REPLICA_STORE_VIEW_H_
#define TOKENBROKER_TESTS_TESTING_REPLICA_STORE_VIEW_H_

#include <utility>

#include "server/store/credential_store.h"

namespace tokenbroker::testing {

class ReplicaStoreView final : public CredentialStore {
 public:
  // `shared` is not owned and must outlive the view.
  explicit ReplicaStoreView(CredentialStore* shared) : shared_(shared) {}

  absl::StatusOr<Integration> Create(const Integration& integration) override {
    return shared_->Create(integration);
  }
  absl::StatusOr<Integration> Get(absl::string_view id) override { return shared_->Get(id); }
  absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view page_token) override {
    return shared_->List(page_size, page_token);
  }
  absl::StatusOr<Integration> Update(const Integration& integration,
                                     absl::string_view expected_etag) override {
    return shared_->Update(integration, expected_etag);
  }
  absl::Status Delete(absl::string_view id, absl::string_view expected_etag) override {
    return shared_->Delete(id, expected_etag);
  }
  absl::Status PutToken(absl::string_view id, const AccessToken& token) override {
    return shared_->PutToken(id, token);
  }
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) override {
    return shared_->GetToken(id);
  }
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override {
    return shared_->GetWithToken(id);
  }
  void SetChangeListener(StoreChangeListener listener) override {
    feed_.SetListener(std::move(listener));
  }

  // Hands `change` to this view's listener, as the store's feed would.
  void Deliver(const StoreChange& change) { feed_.Deliver(change); }

 private:
  CredentialStore* const shared_;
  ChangeFanout feed_;
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_REPLICA_STORE_VIEW_H_
