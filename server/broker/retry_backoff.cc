#include "server/broker/retry_backoff.h"

#include <algorithm>

namespace tokenbroker {

absl::Time RetryBackoff::OnFailure(absl::Time now, absl::Time expire,
                                   std::optional<absl::Duration> retry_after,
                                   const RefreshPolicy& policy, double u) {
  ++failures_;
  retry_at_ = NextRetryTime(now, expire, failures_, policy, u);
  if (retry_after.has_value()) retry_at_ = std::max(retry_at_, now + *retry_after);
  return retry_at_;
}

}  // namespace tokenbroker
