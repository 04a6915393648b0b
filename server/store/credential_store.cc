#include "server/store/credential_store.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace tokenbroker {

absl::Status CheckWriteBatch(const std::vector<IntegrationWrite>& writes) {
  if (writes.empty()) return absl::InvalidArgumentError("nothing to write");
  absl::flat_hash_set<absl::string_view> ids;
  for (const IntegrationWrite& write : writes) {
    const std::string& id = write.integration.id;
    if (id.empty()) return absl::InvalidArgumentError("integration id is empty");
    if (!ids.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("integration '", id, "' is written twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace tokenbroker
