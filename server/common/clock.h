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

// Blocks the calling thread: the seam that keeps retry backoff out of unit
// tests' wall time. Thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepFor(absl::Duration d) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void SleepFor(absl::Duration d) override { absl::SleepFor(d); }
  static Sleeper* Get() {
    static RealSleeper* sleeper = new RealSleeper();
    return sleeper;
  }
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_CLOCK_H_
