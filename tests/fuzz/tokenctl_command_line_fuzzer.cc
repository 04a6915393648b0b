// tokenctl's command line: argv words separated by NUL bytes, parsed by
// ParseCommandLine (what `main` runs before anything is sent). Environment
// variables are empty, except that a first word `ENV=<value>` gives every
// variable tokenctl reads that value. Invariants: INVALID_ARGUMENT or a
// command; a command's spec is one of the table's; an update's mask paths
// name flags that were given.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/tokenctl/flags.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace tc = tokenbroker::tokenctl;
  std::vector<std::string> argv =
      absl::StrSplit(tokenbroker::fuzz::AsView(data, size), absl::ByChar('\0'));
  std::optional<std::string> env_value;
  if (!argv.empty() && absl::StartsWith(argv.front(), "ENV=")) {
    env_value = argv.front().substr(4);
    argv.erase(argv.begin());
  }
  tc::EnvLookup env = [&](absl::string_view) { return env_value; };
  auto line = tc::ParseCommandLine(argv, env);
  if (!line.ok()) {
    FUZZ_CHECK(line.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  if (line->help) return 0;
  // Help, or no command words (flags only): no command, tokenctl prints the usage.
  if (line->command == nullptr) return 0;
  FUZZ_CHECK(&tc::SpecOf(line->command->command) == line->command);
  (void)tc::Synopsis(*line->command);
  (void)tc::UpdateMaskPaths(line->options);
  return 0;
}
