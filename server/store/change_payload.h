// The text a shared store sends with each change notification (PostgreSQL
// NOTIFY on channel `tokenbroker_changes`), so that replicas learn what
// changed without reading the store. Format: server/store/SCHEMA.md,
// "Change feed".
#ifndef TOKENBROKER_SERVER_STORE_CHANGE_PAYLOAD_H_
#define TOKENBROKER_SERVER_STORE_CHANGE_PAYLOAD_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "server/store/change_feed.h"

namespace tokenbroker::internal {

// A change as received, with the store instance that wrote it.
struct ReceivedChange {
  StoreChange change;
  std::string origin;  // empty when the sender did not say (older format)
};

// A JSON object, e.g.
//   {"v":1,"kind":"token","id":"acme","origin":"9f2c...","expire_time_ns":1800000000000000000}
//   {"v":1,"kind":"integration","id":"acme","origin":"9f2c...","deleted":true}
// `origin` identifies the writing store instance (random per process), so
// that it can skip its own notifications. kResync is never sent.
std::string EncodeChangePayload(const StoreChange& change, absl::string_view origin);

// Parses a payload. Unknown fields are ignored (a newer writer may add
// some); a payload that is not a JSON object with a known `kind` and a
// non-empty `id` is nullopt (ignored by the reader). The format of earlier
// releases (`t:<id>`, `i:<id>`) is still read, as a change with no expiry
// and no origin, so a mixed-version rollout loses no invalidation.
std::optional<ReceivedChange> DecodeChangePayload(absl::string_view payload);

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_STORE_CHANGE_PAYLOAD_H_
