// The check that `make test-tsan` can fail: tests/tsan/run.sh builds this against the
// instrumented Abseil before the suites run. Without arguments two threads only touch a counter
// an absl::Mutex guards, which must give no report (with Debian's uninstrumented libabsl it
// gives one); with an argument they also touch an unguarded one, which must be reported.
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace {

absl::Mutex mu;
int guarded ABSL_GUARDED_BY(mu) = 0;
int unguarded = 0;

void Work(bool race) {
  for (int i = 0; i < 1000; ++i) {
    absl::MutexLock lock(&mu);
    ++guarded;
  }
  if (race) ++unguarded;
}

}  // namespace

int main(int argc, char** argv) {
  const bool race = argc > 1;
  std::thread a(Work, race);
  std::thread b(Work, race);
  a.join();
  b.join();
  absl::MutexLock lock(&mu);
  return guarded == 2000 ? 0 : 1;
}
