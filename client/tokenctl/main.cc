// tokenctl: the command-line client of tokenbroker. See tokenctl.h.
#include <iostream>
#include <string>
#include <vector>

#include "client/tokenctl/tokenctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return tokenbroker::tokenctl::Run(args, std::cin, std::cout, std::cerr);
}
