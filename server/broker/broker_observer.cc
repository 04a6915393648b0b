#include "server/broker/broker_observer.h"

namespace tokenbroker {

absl::string_view RefreshTriggerName(RefreshTrigger trigger) {
  switch (trigger) {
    case RefreshTrigger::kCold:
      return "cold";
    case RefreshTrigger::kScheduled:
      return "scheduled";
    case RefreshTrigger::kForced:
      return "forced";
    case RefreshTrigger::kInvalidated:
      return "invalidated";
  }
  return "unknown";
}

BrokerObserver* BrokerObserver::Null() {
  static BrokerObserver* const kNull = new BrokerObserver();
  return kNull;
}

}  // namespace tokenbroker
