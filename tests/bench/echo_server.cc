// The baseline for the token benchmark: a bare gRPC callback server that
// answers GetAccessToken with fixed bytes (the same token the broker serves),
// doing no work at all. `make bench` runs ghz against it and against
// tokenbroker under the same load; the ratio is the broker's overhead. With
// --tls_cert, --tls_key and --client_ca it serves mutual TLS set up as
// tokenbroker sets it up (server/server.cc: a file-watching certificate
// provider, client certificates required and verified).
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "Listen address.");
ABSL_FLAG(std::string, port_file, "", "Write the bound port here.");
ABSL_FLAG(std::string, token_file, "", "File holding the access token to return.");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (mutual TLS with the two below).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, client_ca, "", "PEM CA that must have issued the client's certificate.");

namespace {

class EchoTokenService final : public tokenbroker::v1::TokenService::CallbackService {
 public:
  explicit EchoTokenService(tokenbroker::v1::GetAccessTokenResponse response)
      : response_(std::move(response)) {}

  grpc::ServerUnaryReactor* GetAccessToken(grpc::CallbackServerContext* context,
                                           const tokenbroker::v1::GetAccessTokenRequest*,
                                           tokenbroker::v1::GetAccessTokenResponse* out) override {
    *out = response_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const tokenbroker::v1::GetAccessTokenResponse response_;
};

std::shared_ptr<grpc::ServerCredentials> Credentials() {
  if (absl::GetFlag(FLAGS_tls_cert).empty()) return grpc::InsecureServerCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_client_ca),
      10);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  tls.watch_root_certs();
  tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::ifstream in(absl::GetFlag(FLAGS_token_file));
  std::stringstream token;
  token << in.rdbuf();
  tokenbroker::v1::GetAccessTokenResponse response;
  std::string text = token.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  response.mutable_token()->set_access_token(text);
  response.mutable_token()->set_token_type("bearer");
  response.mutable_token()->mutable_issue_time()->set_seconds(1'800'000'000);
  response.mutable_token()->mutable_expire_time()->set_seconds(1'800'086'400);
  response.mutable_token()->set_integration("integrations/bench");

  EchoTokenService service(response);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), Credentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return 1;
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_port_file)) << port << "\n";
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int sig;
  sigwait(&signals, &sig);
  server->Shutdown();
  return 0;
}
