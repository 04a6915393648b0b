#ifndef TOKENBROKER_SERVER_COMMON_FLAG_NAMES_H_
#define TOKENBROKER_SERVER_COMMON_FLAG_NAMES_H_

#include <string>
#include <vector>

namespace tokenbroker {

// Abseil flag names are C identifiers (`--ims_url`); users type dashes
// (`--ims-url`). Returns argv with '-' turned into '_' inside the *name* of
// every `--flag[=value]` argument (values untouched; stops at a bare `--`).
// `storage` owns the rewritten strings; the returned pointers point into it.
std::vector<char*> NormalizeFlagNames(int argc, char** argv, std::vector<std::string>* storage);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_FLAG_NAMES_H_
