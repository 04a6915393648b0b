// Rendering of tokenctl's output: tables, key-value listings, JSON and
// errors. Pure functions over the API's messages; no I/O.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_OUTPUT_H_
#define TOKENBROKER_CLIENT_TOKENCTL_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"
#include "nlohmann/json.hpp"
#include "tokenbroker/v1/integration.pb.h"

namespace tokenbroker::tokenctl {

// RFC 3339 in UTC with the fraction of a second the time has, e.g.
// `2024-05-01T10:00:00.25Z` (for JSON); "" for an unset timestamp.
std::string Rfc3339(const google::protobuf::Timestamp& timestamp);
std::string Rfc3339(absl::Time time);
// As Rfc3339, truncated to whole seconds, e.g. `2024-05-01T10:00:00Z` (for
// humans).
std::string Rfc3339Seconds(const google::protobuf::Timestamp& timestamp);

// `integrations/{id}` -> `{id}`; other strings unchanged.
std::string IntegrationId(const std::string& name);

// The CLI's names, which are also the values of --auth and --state:
// `oauth-s2s`, `jwt`; `active`, `disabled`. `unspecified` for zero values.
std::string AuthMethodName(v1::AuthMethod method);
std::string StateName(v1::Integration::State state);

// The integration as JSON with snake_case keys, times in RFC 3339 and enums
// in the CLI's names. Carries fingerprints only (the API never returns
// secrets).
nlohmann::ordered_json IntegrationToJson(const v1::Integration& integration);

// The integration as `key: value` lines, for humans; secrets' ages as of
// `now` (default: the clock).
std::string FormatIntegration(const v1::Integration& integration);
std::string FormatIntegration(const v1::Integration& integration, absl::Time now);

// An age for humans: `45s`, `12m`, `5h`, `3d` (negative counts as 0).
std::string FormatAge(absl::Duration age);

// `rows` (the first is the header) as columns padded with spaces.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// `tokenctl: <CODE>: <message>` and, on further indented lines, the status
// details (the SDK's Status payloads, see tokenbroker/client/error.h), in
// this order: ErrorInfo (reason and metadata as `key=value`), BadRequest
// field violations, RetryInfo. Ends with a newline.
std::string FormatRpcError(const absl::Status& status);

// The same code and message, with each google.rpc.Status detail as a
// payload keyed by its type URL, as the SDK's calls return errors: for the
// calls tokenctl makes on a stub of its own (the watch stream, health).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_OUTPUT_H_
