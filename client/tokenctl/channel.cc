#include "client/tokenctl/channel.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace tokenbroker::tokenctl {

std::string ResolveServer(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("TOKENBROKER_SERVER");
  if (env != nullptr && *env != '\0') return env;
  return "127.0.0.1:50051";
}

namespace {

absl::StatusOr<std::string> ReadFileFlag(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

absl::StatusOr<std::string> ReadCallerToken(const std::string& path) {
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> token = ReadFileFlag(path, "token-file");
  if (!token.ok()) return token.status();
  std::string trimmed(absl::StripAsciiWhitespace(*token));
  if (trimmed.empty()) return absl::InvalidArgumentError("--token-file: " + path + " is empty");
  return trimmed;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ChannelOptions& options) {
  if (options.server.empty()) return absl::InvalidArgumentError("--server must not be empty");
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  if (options.ca_file.empty() && options.cert_file.empty()) {
    return grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFileFlag(options.ca_file, "ca-file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!options.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFileFlag(options.cert_file, "cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFileFlag(options.key_file, "key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::CreateChannel(options.server, grpc::SslCredentials(ssl));
}

}  // namespace tokenbroker::tokenctl
