#ifndef TOKENBROKER_SERVER_COMMON_RANDOM_H_
#define TOKENBROKER_SERVER_COMMON_RANDOM_H_

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"

namespace tokenbroker {

// Randomness for jitter (not for keys: those come from OpenSSL's RAND_bytes).
// Thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // A uniform double in [0, 1).
  virtual double Uniform01() = 0;
};

// absl::BitGen behind a mutex.
class BitGenRandomSource final : public RandomSource {
 public:
  double Uniform01() override {
    absl::MutexLock lock(&mu_);
    return absl::Uniform<double>(gen_, 0.0, 1.0);
  }

 private:
  absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_RANDOM_H_
