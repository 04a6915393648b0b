// How tokenctl connects to the server.
#ifndef TOKENBROKER_CLIENT_TOKENCTL_CHANNEL_H_
#define TOKENBROKER_CLIENT_TOKENCTL_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace tokenbroker::tokenctl {

// Everything that decides how to reach the server.
struct ChannelOptions {
  // host:port, or any gRPC target URI.
  std::string server;
  // TLS: the CA bundle that verifies the server (--ca-file). Setting any of
  // ca_file/cert_file turns TLS on; empty ca_file then means system CAs.
  std::string ca_file;
  // Mutual TLS: the client certificate chain and its key (--cert, --key).
  std::string cert_file;
  std::string key_file;
};

// The caller token from `path` (--token-file), trimmed; "" when path is
// empty. Sent as `authorization: Bearer <token>` on every call.
// Errors: INVALID_ARGUMENT (unreadable or empty file).
absl::StatusOr<std::string> ReadCallerToken(const std::string& path);

// The server address: `flag_value` if set, else $TOKENBROKER_SERVER, else
// 127.0.0.1:50051.
std::string ResolveServer(const std::string& flag_value);

// Creates the channel all RPCs of one invocation use: plaintext, TLS or
// mutual TLS. Does not block or connect: connection errors surface on the
// first RPC. Errors: INVALID_ARGUMENT (empty server, --cert without --key,
// a file that cannot be read).
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ChannelOptions& options);

}  // namespace tokenbroker::tokenctl

#endif  // TOKENBROKER_CLIENT_TOKENCTL_CHANNEL_H_
