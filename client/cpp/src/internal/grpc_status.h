// gRPC ↔ Abseil status translation, done once at the SDK's edge.
#ifndef TOKENBROKER_CLIENT_INTERNAL_GRPC_STATUS_H_
#define TOKENBROKER_CLIENT_INTERNAL_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tokenbroker::client::internal {

// Same code and message; each google.rpc.Status detail of
// `grpc-status-details-bin` (error_details()) becomes a payload keyed by its
// type URL. Undecodable details are dropped, never the error.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The google.rpc.RetryInfo delay carried by `status`, if any.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

}  // namespace tokenbroker::client::internal

#endif  // TOKENBROKER_CLIENT_INTERNAL_GRPC_STATUS_H_
