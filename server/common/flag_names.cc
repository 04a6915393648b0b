#include "server/common/flag_names.h"

#include <cstring>

namespace tokenbroker {

std::vector<char*> NormalizeFlagNames(int argc, char** argv, std::vector<std::string>* storage) {
  storage->clear();
  storage->reserve(argc);
  bool done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (!done && i > 0 && arg == "--") done = true;
    if (!done && i > 0 && arg.size() > 2 && arg[0] == '-') {
      size_t start = arg[1] == '-' ? 2 : 1;
      size_t end = arg.find('=');
      if (end == std::string::npos) end = arg.size();
      for (size_t j = start; j < end; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    storage->push_back(std::move(arg));
  }
  std::vector<char*> out;
  for (auto& s : *storage) out.push_back(s.data());
  return out;
}

}  // namespace tokenbroker
