// A CredentialStore decorator that counts failed calls by operation and code
// (tokenbroker_store_errors_total). NOT_FOUND, ALREADY_EXISTS and ABORTED
// are answers, not store errors, and are not counted.
#ifndef TOKENBROKER_SERVER_METRICS_INSTRUMENTED_STORE_H_
#define TOKENBROKER_SERVER_METRICS_INSTRUMENTED_STORE_H_

#include <utility>

#include "server/metrics/metrics.h"
#include "server/store/credential_store.h"

namespace tokenbroker {

class InstrumentedCredentialStore final : public CredentialStore {
 public:
  // Neither is owned; both must outlive this.
  InstrumentedCredentialStore(CredentialStore* store, Metrics* metrics)
      : store_(store), metrics_(metrics) {}

  absl::StatusOr<Integration> Create(const Integration& integration) override {
    return Count("create", store_->Create(integration));
  }
  absl::StatusOr<Integration> Get(absl::string_view id) override {
    return Count("get", store_->Get(id));
  }
  absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view page_token) override {
    return Count("list", store_->List(page_size, page_token));
  }
  absl::StatusOr<Integration> Update(const Integration& integration,
                                     absl::string_view expected_etag) override {
    return Count("update", store_->Update(integration, expected_etag));
  }
  absl::StatusOr<std::vector<Integration>> WriteAll(
      const std::vector<IntegrationWrite>& writes) override {
    return Count("write_all", store_->WriteAll(writes));
  }
  absl::Status Delete(absl::string_view id, absl::string_view expected_etag) override {
    return CountStatus("delete", store_->Delete(id, expected_etag));
  }
  absl::Status PutToken(absl::string_view id, const AccessToken& token) override {
    return CountStatus("put_token", store_->PutToken(id, token));
  }
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) override {
    return Count("get_token", store_->GetToken(id));
  }
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override {
    return Count("get_with_token", store_->GetWithToken(id));
  }
  void SetChangeListener(StoreChangeListener listener) override {
    store_->SetChangeListener(std::move(listener));
  }
  absl::Status CheckHealth() override { return CountStatus("check_health", store_->CheckHealth()); }

 private:
  absl::Status CountStatus(const char* operation, absl::Status status) {
    if (!status.ok() && !absl::IsNotFound(status) && !absl::IsAlreadyExists(status) &&
        !absl::IsAborted(status) && !absl::IsInvalidArgument(status)) {
      metrics_->RecordStoreError(operation, status.code());
    }
    return status;
  }
  template <typename T>
  absl::StatusOr<T> Count(const char* operation, absl::StatusOr<T> result) {
    if (!result.ok()) CountStatus(operation, result.status()).IgnoreError();
    return result;
  }

  CredentialStore* const store_;
  Metrics* const metrics_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_METRICS_INSTRUMENTED_STORE_H_
