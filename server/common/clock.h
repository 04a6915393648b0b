#ifndef TOKENBROKER_SERVER_COMMON_CLOCK_H_
#define TOKENBROKER_SERVER_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tokenbroker {

// A source of the current time. The seam that lets tests run rotation
// without waiting. Implementations are thread-safe and never block.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance.
  static Clock* Get() {
    static SystemClock* clock = new SystemClock();
    return clock;
  }
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_CLOCK_H_
