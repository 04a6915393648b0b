// Waiting for a condition instead of sleeping a fixed time: integration tests
// poll what they can observe (a log line, a counter of the IMS emulator, a
// file's content, a port answering) until it holds or a deadline passes.
#ifndef TOKENBROKER_TESTS_TESTING_WAIT_H_
#define TOKENBROKER_TESTS_TESTING_WAIT_H_

#include <functional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tokenbroker::testing {

// Calls `condition` until it returns true or `timeout` has passed: at once,
// then with a growing pause between calls (5 ms up to 100 ms). Returns
// success, or a failure saying what was awaited and for how long, so that
// `ASSERT_TRUE(WaitUntil(...))` fails with a clear message. `condition` runs
// on the calling thread; it may block briefly (an RPC, a scrape).
::testing::AssertionResult WaitUntil(const std::function<bool()>& condition, absl::Duration timeout,
                                     absl::string_view description);

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_WAIT_H_
