// Samples the resident memory and open file descriptors of server
// processes from /proc, and judges their growth after a warm-up.
#ifndef TOKENBROKER_TESTS_SOAK_SAMPLER_H_
#define TOKENBROKER_TESTS_SOAK_SAMPLER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokenbroker::soak {

struct Sample {
  absl::Duration at;  // since the run started
  int64_t rss_kib = 0;
  int64_t fds = 0;
};

// VmRSS (KiB) and the entries of /proc/PID/fd; false when the process is gone.
bool ReadProc(pid_t pid, int64_t* rss_kib, int64_t* fds);

// Growth of one series: a level of the samples after the baseline window
// against a level of the samples within [warm-up end, warm-up end + baseline
// window]. RSS: the later peak against the earlier peak. Fds: the later
// floor (fewest held) against the earlier median. A leaked descriptor is
// never closed and lifts every later sample, the quietest included; the
// sockets of requests in flight (an IMS answer hanging up to --ims-timeout,
// a burst of refreshes when IMS comes back) are spikes, and a database
// restart a dip (the pool's connections closed and opened again), which
// move neither an earlier median nor a later floor up.
struct Growth {
  double baseline = 0;
  double peak = 0;
  double ratio() const { return baseline > 0 ? peak / baseline - 1 : 0; }
};

class ProcessSeries {
 public:
  explicit ProcessSeries(std::string name) : name_(std::move(name)) {}
  void Add(const Sample& sample);
  // `warm_up`: samples before it are ignored; the baseline is the level over
  // [warm_up, warm_up + baseline_window); `peak` is the level over the rest.
  // Rss: peaks. Fds: the later floor against the earlier median.
  Growth Rss(absl::Duration warm_up, absl::Duration baseline_window) const;
  Growth Fds(absl::Duration warm_up, absl::Duration baseline_window) const;
  // "name: rss KiB min/first/last/max, fds ..."
  std::string Describe() const;
  // One CSV line per sample: name,seconds,rss_kib,fds.
  std::string Csv() const;

 private:
  enum class Level { kPeak, kMedian, kFloor };
  Growth Of(int64_t Sample::*field, Level baseline_level, Level later_level, absl::Duration warm_up,
            absl::Duration window) const;
  std::string name_;
  mutable absl::Mutex mu_;
  std::vector<Sample> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker::soak

#endif  // TOKENBROKER_TESTS_SOAK_SAMPLER_H_
