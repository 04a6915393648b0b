// A minted token with what is needed to build request headers: immutable,
// shared between every caller it is handed to.
#ifndef TOKENBROKER_SERVER_BROKER_TOKEN_SNAPSHOT_H_
#define TOKENBROKER_SERVER_BROKER_TOKEN_SNAPSHOT_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "server/model/integration.h"

namespace tokenbroker {

struct TokenSnapshot {
  std::string integration_id;
  AccessToken token;
  std::string client_id;
  std::string org_id;
  std::string sandbox_name;
  bool include_org_header = false;
};

using SnapshotPtr = std::shared_ptr<const TokenSnapshot>;
using TokenCallback = std::function<void(absl::StatusOr<SnapshotPtr>)>;

inline SnapshotPtr MakeSnapshot(const Integration& integration, AccessToken token) {
  auto snap = std::make_shared<TokenSnapshot>();
  snap->integration_id = integration.id;
  snap->token = std::move(token);
  snap->client_id = integration.client_id;
  snap->org_id = integration.org_id;
  snap->sandbox_name = integration.sandbox_name;
  snap->include_org_header = integration.include_org_header;
  return snap;
}

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_TOKEN_SNAPSHOT_H_
