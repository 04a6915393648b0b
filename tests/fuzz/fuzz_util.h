// Helpers shared by the libFuzzer targets of this folder (see README.md,
// "Fuzzing"). Not a test double: only what every target needs.
#ifndef TOKENBROKER_TESTS_FUZZ_FUZZ_UTIL_H_
#define TOKENBROKER_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "server/common/log.h"

namespace tokenbroker::fuzz {

// The parsers log warnings about what they reject; at a million inputs a
// minute that is noise that hides the sanitizer's report and slows the run.
inline void QuietLogs() { SetMinLogLevel(LogLevel::kError); }

inline absl::string_view AsView(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// A broken invariant the fuzzer found: abort, so that libFuzzer saves the
// input as a crash (a plain assert would vanish under NDEBUG).
#define FUZZ_CHECK(condition)                                                                  \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (false)

}  // namespace tokenbroker::fuzz

#endif  // TOKENBROKER_TESTS_FUZZ_FUZZ_UTIL_H_
