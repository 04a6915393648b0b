// Whether this test binary is built under a sanitizer, for the few latency
// bounds a test asserts: ASan/TSan slow every allocation and memory access
// (2-5x measured here), so a bound that proves "not queued behind a 2 s
// timeout" at 100 ms in a plain build gets kSanitizerSlowdown times that.
// Counts, orders and statuses are never scaled.
#ifndef TOKENBROKER_TESTS_TESTING_SANITIZERS_H_
#define TOKENBROKER_TESTS_TESTING_SANITIZERS_H_

namespace tokenbroker::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerSlowdown = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr int kSanitizerSlowdown = 4;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_SANITIZERS_H_
