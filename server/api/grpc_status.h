#ifndef TOKENBROKER_SERVER_API_GRPC_STATUS_H_
#define TOKENBROKER_SERVER_API_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace tokenbroker {

// absl::Status -> grpc::Status, done once, at the edge. Codes map one to one;
// ErrorInfo/RetryInfo/BadRequest payloads become the rich error model's
// details (a google.rpc.Status in `grpc-status-details-bin`).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_GRPC_STATUS_H_
