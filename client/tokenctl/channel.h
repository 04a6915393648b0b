// How tokenctl connects to the server.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_CHANNEL_H_
#define TOKENBROKER_CLIENT_TOKENCTL_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace tokenbroker::tokenctl {

// Everything that decides how to reach the server. TLS (`--ca-file`,
// `--cert`, `--key`) and a bearer token (`--token-file`) will be added here.
struct ChannelOptions {
  // host:port, or any gRPC target URI.
  std::string server;
};

// The server address: `flag_value` if set, else $TOKENBROKER_SERVER, else
// 127.0.0.1:50051.
std::string ResolveServer(const std::string& flag_value);

// Creates the channel all RPCs of one invocation use. Plaintext for now.
// Does not block or connect: connection errors surface on the first RPC.
// Errors: INVALID_ARGUMENT (empty server); later also files that cannot be
// read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ChannelOptions& options);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_CHANNEL_H_
