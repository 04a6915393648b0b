#include "client/tokenctl/channel.h"

#include <cstdlib>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace tokenbroker::tokenctl {

std::string ResolveServer(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("TOKENBROKER_SERVER");
  if (env != nullptr && *env != '\0') return env;
  return "127.0.0.1:50051";
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ChannelOptions& options) {
  if (options.server.empty()) return absl::InvalidArgumentError("--server must not be empty");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateChannel(options.server, credentials);
}

}  // namespace tokenbroker::tokenctl
