// tokenctl: the command-line client of tokenbroker. See tokenctl.h.
#include <grpc/support/log.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/tokenctl/tokenctl.h"

namespace {

void DiscardGrpcLog(gpr_log_func_args*) {}

}  // namespace

int main(int argc, char** argv) {
  // gRPC logs failed TLS handshakes and the like to stderr itself; tokenctl
  // reports every failed call with its status (which carries the same
  // detail), so its stderr stays one error, not two. GRPC_VERBOSITY or
  // GRPC_TRACE brings gRPC's own log back for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr && std::getenv("GRPC_TRACE") == nullptr) {
    gpr_set_log_function(DiscardGrpcLog);
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  return tokenbroker::tokenctl::Run(args, tokenbroker::tokenctl::ProcessEnvironment(), std::cin,
                                    std::cout, std::cerr);
}
