#include "server/store/memory_credential_store.h"

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/store/page_token.h"
#include "server/store/stored_record.h"

namespace tokenbroker {
namespace {

// The errors the SQL stores answer with, worded alike.
using internal::EtagMismatch;
constexpr auto& NotFound = internal::IntegrationNotFound;

absl::Status AlreadyExists(absl::string_view id) {
  return absl::AlreadyExistsError(absl::StrCat("integration '", id, "' already exists"));
}

}  // namespace

absl::StatusOr<Integration> InMemoryCredentialStore::Create(const Integration& integration) {
  absl::StatusOr<Integration> created = CreateLocked(integration);
  if (created.ok()) feed_.Deliver({StoreChange::Kind::kIntegration, integration.id});
  return created;
}

absl::StatusOr<Integration> InMemoryCredentialStore::CreateLocked(const Integration& integration) {
  absl::MutexLock lock(&mu_);
  if (records_.count(integration.id) > 0) return AlreadyExists(integration.id);
  Record record{integration, std::nullopt};
  record.integration.create_time = record.integration.update_time = clock_->Now();
  record.integration.etag = NewEtag();
  auto [it, inserted] = records_.emplace(integration.id, std::move(record));
  return it->second.integration;
}

absl::StatusOr<Integration> InMemoryCredentialStore::Get(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return NotFound(id);
  return it->second.integration;
}

absl::StatusOr<IntegrationPage> InMemoryCredentialStore::List(int page_size,
                                                              absl::string_view page_token) {
  TB_ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
  absl::MutexLock lock(&mu_);
  IntegrationPage page;
  auto it = after.empty() ? records_.begin() : records_.upper_bound(after);
  for (; it != records_.end() && static_cast<int>(page.integrations.size()) < page_size; ++it) {
    page.integrations.push_back(it->second.integration);
  }
  if (it != records_.end() && !page.integrations.empty()) {
    page.next_page_token = EncodePageToken(page.integrations.back().id);
  }
  return page;
}

absl::StatusOr<Integration> InMemoryCredentialStore::Update(const Integration& integration,
                                                            absl::string_view expected_etag) {
  absl::StatusOr<Integration> updated = UpdateLocked(integration, expected_etag);
  if (updated.ok()) feed_.Deliver({StoreChange::Kind::kIntegration, integration.id});
  return updated;
}

absl::StatusOr<Integration> InMemoryCredentialStore::UpdateLocked(const Integration& integration,
                                                                  absl::string_view expected_etag) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(integration.id);
  if (it == records_.end()) return NotFound(integration.id);
  Integration& stored = it->second.integration;
  if (!expected_etag.empty() && expected_etag != stored.etag) return EtagMismatch(integration.id);
  absl::Time created = stored.create_time;
  stored = integration;
  stored.create_time = created;
  stored.update_time = clock_->Now();
  stored.etag = NewEtag();
  it->second.token.reset();
  return stored;
}

absl::Status InMemoryCredentialStore::Delete(absl::string_view id,
                                             absl::string_view expected_etag) {
  absl::Status deleted = DeleteLocked(id, expected_etag);
  if (deleted.ok()) {
    StoreChange change{StoreChange::Kind::kIntegration, std::string(id)};
    change.deleted = true;
    feed_.Deliver(change);
  }
  return deleted;
}

absl::Status InMemoryCredentialStore::DeleteLocked(absl::string_view id,
                                                   absl::string_view expected_etag) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return NotFound(id);
  if (!expected_etag.empty() && expected_etag != it->second.integration.etag) {
    return EtagMismatch(id);
  }
  records_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Integration>> InMemoryCredentialStore::WriteAll(
    const std::vector<IntegrationWrite>& writes) {
  absl::StatusOr<std::vector<Integration>> written = WriteAllLocked(writes);
  if (written.ok()) {
    for (const Integration& integration : *written) {
      feed_.Deliver({StoreChange::Kind::kIntegration, integration.id});
    }
  }
  return written;
}

absl::StatusOr<std::vector<Integration>> InMemoryCredentialStore::WriteAllLocked(
    const std::vector<IntegrationWrite>& writes) {
  TB_RETURN_IF_ERROR(CheckWriteBatch(writes));
  absl::MutexLock lock(&mu_);
  for (const IntegrationWrite& write : writes) {  // check all before changing any
    auto it = records_.find(write.integration.id);
    if (write.kind == IntegrationWrite::Kind::kCreate) {
      if (it != records_.end()) return AlreadyExists(write.integration.id);
    } else if (it == records_.end()) {
      return NotFound(write.integration.id);
    } else if (!write.expected_etag.empty() && write.expected_etag != it->second.integration.etag) {
      return EtagMismatch(write.integration.id);
    }
  }
  std::vector<Integration> written;
  const absl::Time now = clock_->Now();
  for (const IntegrationWrite& write : writes) {
    Record& record = records_[write.integration.id];
    absl::Time created =
        write.kind == IntegrationWrite::Kind::kCreate ? now : record.integration.create_time;
    record.integration = write.integration;
    record.integration.create_time = created;
    record.integration.update_time = now;
    record.integration.etag = NewEtag();
    record.token.reset();
    written.push_back(record.integration);
  }
  return written;
}

absl::Status InMemoryCredentialStore::PutToken(absl::string_view id, const AccessToken& token) {
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return NotFound(id);
    it->second.token = token;
  }
  StoreChange change{StoreChange::Kind::kToken, std::string(id)};
  change.token_expire_time = token.expire_time;
  feed_.Deliver(change);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AccessToken>> InMemoryCredentialStore::GetToken(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return NotFound(id);
  return it->second.token;
}

absl::StatusOr<IntegrationWithToken> InMemoryCredentialStore::GetWithToken(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return NotFound(id);
  return IntegrationWithToken{it->second.integration, it->second.token};
}

}  // namespace tokenbroker
