#ifndef TOKENBROKER_SERVER_STORE_CREDENTIAL_STORE_H_
#define TOKENBROKER_SERVER_STORE_CREDENTIAL_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/model/integration.h"
#include "server/store/change_feed.h"

namespace tokenbroker {

// An integration with the token last stored for it, read together.
struct IntegrationWithToken {
  Integration integration;
  std::optional<AccessToken> token;
};

// One page of ListIntegrations.
struct IntegrationPage {
  std::vector<Integration> integrations;
  std::string next_page_token;  // empty at the end
};

// One write of CredentialStore::WriteAll.
struct IntegrationWrite {
  enum class Kind { kCreate, kReplace };
  Kind kind = Kind::kCreate;
  Integration integration;
  // kReplace: as Update's `expected_etag` (empty: whatever is stored).
  std::string expected_etag;
};

// What every store checks of a WriteAll batch before touching anything:
// INVALID_ARGUMENT when it is empty, an id is empty, or an id repeats.
absl::Status CheckWriteBatch(const std::vector<IntegrationWrite>& writes);

// Durable home of integrations, their secrets and their cached tokens.
//
// Implementations: InMemoryCredentialStore (tests, `--store=memory`), and
// the encrypted SQLite and PostgreSQL stores. Every implementation passes
// the conformance suite in tests/store/credential_store_conformance.h.
//
// Contract:
// - The store owns `etag`, `create_time` and `update_time`: it sets them on
//   Create and Update and ignores what the caller passed.
// - Integrations are returned with their credentials (the broker needs them
//   to mint tokens); the API layer strips them from responses.
// - The SQLite and PostgreSQL stores return one `client_secret_info` per
//   client secret: missing entries are added (create_time InfinitePast, no
//   uuid), extra ones dropped. The in-memory store keeps what was given.
// - A successful return means the change is durable (for persistent stores,
//   committed to disk).
// - Thread-safe. Calls may block on I/O: never call them from a path that
//   must not block (the broker calls them from its executor).
//
// Error codes: NOT_FOUND (no such integration), ALREADY_EXISTS (Create of an
// existing id), ABORTED (etag given and not current), INVALID_ARGUMENT (bad
// page token), DATA_LOSS (a record failed its integrity check),
// UNAVAILABLE/INTERNAL (the backend failed).
class CredentialStore {
 public:
  virtual ~CredentialStore() = default;

  // Stores a new integration; returns it as stored (etag, times set).
  virtual absl::StatusOr<Integration> Create(const Integration& integration) = 0;
  virtual absl::StatusOr<Integration> Get(absl::string_view id) = 0;
  // Integrations in id order, after the one encoded in `page_token`.
  // `page_size` is at least 1.
  virtual absl::StatusOr<IntegrationPage> List(int page_size, absl::string_view page_token) = 0;
  // Replaces the stored integration `integration.id`. When `expected_etag` is
  // not empty and differs from the stored etag: ABORTED.
  virtual absl::StatusOr<Integration> Update(const Integration& integration,
                                             absl::string_view expected_etag) = 0;
  // Update also drops the cached token (it may belong to old credentials).

  // Creates and replaces integrations in one transaction (an import of a
  // Developer Console file): all of them, or none. kCreate writes as Create,
  // kReplace as Update. Returns them as stored, in the order given; the
  // change feed hears of each after the commit. Errors as Create and Update,
  // of the first write that fails (nothing written); INVALID_ARGUMENT when
  // an id appears twice or `writes` is empty.
  virtual absl::StatusOr<std::vector<Integration>> WriteAll(
      const std::vector<IntegrationWrite>& writes) = 0;

  // Deletes an integration and its cached token. `expected_etag` as Update.
  virtual absl::Status Delete(absl::string_view id, absl::string_view expected_etag) = 0;

  // Remembers the integration's newest token so a restart can serve it
  // without a new IMS exchange. NOT_FOUND if the integration is gone.
  virtual absl::Status PutToken(absl::string_view id, const AccessToken& token) = 0;
  // The token last put, or nullopt. NOT_FOUND if the integration is gone.
  virtual absl::StatusOr<std::optional<AccessToken>> GetToken(absl::string_view id) = 0;

  // Get and GetToken in one read (one SELECT on the SQL stores). A stored
  // token that cannot be opened (DATA_LOSS, unknown key) is logged and
  // returned as nullopt: it is a cache, the broker mints a new one. The
  // default calls both. Errors as Get.
  virtual absl::StatusOr<IntegrationWithToken> GetWithToken(absl::string_view id) {
    absl::StatusOr<Integration> integration = Get(id);
    if (!integration.ok()) return integration.status();
    absl::StatusOr<std::optional<AccessToken>> token = GetToken(id);
    if (absl::IsDataLoss(token.status()) || absl::IsFailedPrecondition(token.status())) {
      return IntegrationWithToken{*std::move(integration), std::nullopt};  // logged by the store
    }
    if (!token.ok()) return token.status();
    return IntegrationWithToken{*std::move(integration), *std::move(token)};
  }

  // The change feed (change_feed.h): calls `listener` after every committed
  // Create, Update, Delete and PutToken (and, on shared stores, for those of
  // other replicas). Replaces a listener set before; nullptr stops the
  // calls: once it returns, the old listener is not called again.
  virtual void SetChangeListener(StoreChangeListener listener) = 0;

  // Whether the backend answers now (readiness): OK, or UNAVAILABLE with
  // the reason. Cheap; called every few seconds.
  virtual absl::Status CheckHealth() { return absl::OkStatus(); }
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_CREDENTIAL_STORE_H_
