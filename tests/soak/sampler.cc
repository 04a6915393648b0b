#include "tests/soak/sampler.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace tokenbroker::soak {

bool ReadProc(pid_t pid, int64_t* rss_kib, int64_t* fds) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  bool found = false;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, "kB");
      found = absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), rss_kib);
    }
  }
  if (!found) return false;
  std::error_code ec;
  int64_t count = 0;
  for (std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid, "/fd"), ec), end;
       !ec && it != end; it.increment(ec)) {
    ++count;
  }
  if (ec) return false;
  *fds = count;
  return true;
}

void ProcessSeries::Add(const Sample& sample) {
  absl::MutexLock lock(&mu_);
  samples_.push_back(sample);
}

Growth ProcessSeries::Of(int64_t Sample::*field, Level baseline_level, Level later_level,
                         absl::Duration warm_up, absl::Duration window) const {
  absl::MutexLock lock(&mu_);
  std::vector<double> baseline, later;
  for (const Sample& s : samples_) {
    if (s.at < warm_up) continue;
    (s.at < warm_up + window ? baseline : later).push_back(static_cast<double>(s.*field));
  }
  auto level_of = [](std::vector<double>& values, Level level) -> double {
    if (values.empty()) return 0;
    if (level == Level::kPeak) return *std::max_element(values.begin(), values.end());
    if (level == Level::kFloor) return *std::min_element(values.begin(), values.end());
    auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
    std::nth_element(values.begin(), middle, values.end());
    return *middle;
  };
  Growth growth;
  growth.baseline = level_of(baseline, baseline_level);
  growth.peak = later.empty() ? growth.baseline : level_of(later, later_level);
  return growth;
}

Growth ProcessSeries::Rss(absl::Duration warm_up, absl::Duration window) const {
  return Of(&Sample::rss_kib, Level::kPeak, Level::kPeak, warm_up, window);
}

Growth ProcessSeries::Fds(absl::Duration warm_up, absl::Duration window) const {
  return Of(&Sample::fds, Level::kMedian, Level::kFloor, warm_up, window);
}

std::string ProcessSeries::Describe() const {
  absl::MutexLock lock(&mu_);
  if (samples_.empty()) return absl::StrCat(name_, ": no samples");
  int64_t rss_max = 0, fds_max = 0;
  for (const Sample& s : samples_) {
    rss_max = std::max(rss_max, s.rss_kib);
    fds_max = std::max(fds_max, s.fds);
  }
  return absl::StrFormat(
      "%s: %d samples; RSS first %d KiB, last %d KiB, max %d KiB; fds first %d, "
      "last %d, max %d",
      name_, samples_.size(), samples_.front().rss_kib, samples_.back().rss_kib, rss_max,
      samples_.front().fds, samples_.back().fds, fds_max);
}

}  // namespace tokenbroker::soak

namespace tokenbroker::soak {

std::string ProcessSeries::Csv() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const Sample& s : samples_) {
    absl::StrAppendFormat(&out, "%s,%.1f,%d,%d\n", name_, absl::ToDoubleSeconds(s.at), s.rss_kib,
                          s.fds);
  }
  return out;
}

}  // namespace tokenbroker::soak
