// A CredentialStore that forwards every call to another one: the base of
// test decorators that change one or two calls (a replica's view of the
// feed, a store that owns its files, a store with a racing writer). Not for
// production use.
#ifndef TOKENBROKER_TESTS_TESTING_FORWARDING_STORE_H_
#define TOKENBROKER_TESTS_TESTING_FORWARDING_STORE_H_

#include <utility>

#include "server/store/credential_store.h"

namespace tokenbroker::testing {

class ForwardingCredentialStore : public CredentialStore {
 public:
  // `target` is not owned; it may be set later (set_target) by a subclass
  // that opens it in its constructor.
  explicit ForwardingCredentialStore(CredentialStore* target = nullptr) : target_(target) {}

  absl::StatusOr<Integration> Create(const Integration& i) override { return target_->Create(i); }
  absl::StatusOr<Integration> Get(absl::string_view id) override { return target_->Get(id); }
  absl::StatusOr<IntegrationPage> List(int size, absl::string_view token) override {
    return target_->List(size, token);
  }
  absl::StatusOr<Integration> Update(const Integration& i, absl::string_view etag) override {
    return target_->Update(i, etag);
  }
  absl::StatusOr<std::vector<Integration>> WriteAll(
      const std::vector<IntegrationWrite>& writes) override {
    return target_->WriteAll(writes);
  }
  absl::Status Delete(absl::string_view id, absl::string_view etag) override {
    return target_->Delete(id, etag);
  }
  absl::Status PutToken(absl::string_view id, const AccessToken& t) override {
    return target_->PutToken(id, t);
  }
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) override {
    return target_->GetToken(id);
  }
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override {
    return target_->GetWithToken(id);
  }
  void SetChangeListener(StoreChangeListener listener) override {
    target_->SetChangeListener(std::move(listener));
  }
  absl::Status CheckHealth() override { return target_->CheckHealth(); }

 protected:
  void set_target(CredentialStore* target) { target_ = target; }
  CredentialStore* target() const { return target_; }

 private:
  CredentialStore* target_;
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_FORWARDING_STORE_H_
