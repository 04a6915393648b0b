#ifndef TOKENBROKER_SERVER_STORE_MEMORY_CREDENTIAL_STORE_H_
#define TOKENBROKER_SERVER_STORE_MEMORY_CREDENTIAL_STORE_H_

#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/store/credential_store.h"

namespace tokenbroker {

// A CredentialStore in process memory: nothing survives a restart and
// nothing is encrypted. For tests and `--store=memory` demos only.
// Thread-safe; never blocks on I/O.
class InMemoryCredentialStore final : public CredentialStore {
 public:
  explicit InMemoryCredentialStore(const Clock* clock = SystemClock::Get()) : clock_(clock) {}

  absl::StatusOr<Integration> Create(const Integration& integration) override;
  absl::StatusOr<Integration> Get(absl::string_view id) override;
  absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view page_token) override;
  absl::StatusOr<Integration> Update(const Integration& integration,
                                     absl::string_view expected_etag) override;
  absl::Status Delete(absl::string_view id, absl::string_view expected_etag) override;
  absl::StatusOr<std::vector<Integration>> WriteAll(
      const std::vector<IntegrationWrite>& writes) override;
  absl::Status PutToken(absl::string_view id, const AccessToken& token) override;
  absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) override;
  absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) override;
  void SetChangeListener(StoreChangeListener listener) override {
    feed_.SetListener(std::move(listener));
  }

 private:
  // The writes, without telling the feed.
  absl::StatusOr<Integration> CreateLocked(const Integration& integration);
  absl::StatusOr<Integration> UpdateLocked(const Integration& integration,
                                           absl::string_view expected_etag);
  absl::Status DeleteLocked(absl::string_view id, absl::string_view expected_etag);
  absl::StatusOr<std::vector<Integration>> WriteAllLocked(
      const std::vector<IntegrationWrite>& writes);

  struct Record {
    Integration integration;
    std::optional<AccessToken> token;
  };

  const Clock* clock_;
  ChangeFanout feed_;  // delivered after mu_ is released
  absl::Mutex mu_;
  std::map<std::string, Record, std::less<>> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_MEMORY_CREDENTIAL_STORE_H_
