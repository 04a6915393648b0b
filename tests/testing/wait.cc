#include "tests/testing/wait.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace tokenbroker::testing {

::testing::AssertionResult WaitUntil(const std::function<bool()>& condition, absl::Duration timeout,
                                     absl::string_view description) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  absl::Duration pause = absl::Milliseconds(5);
  while (true) {
    if (condition()) return ::testing::AssertionSuccess();
    absl::Time now = absl::Now();
    if (now >= deadline) break;
    absl::SleepFor(std::min(pause, deadline - now));
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  return ::testing::AssertionFailure()
         << "timed out after " << absl::FormatDuration(absl::Now() - start) << " waiting for "
         << description;
}

}  // namespace tokenbroker::testing
