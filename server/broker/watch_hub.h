// Who watches which integration, and telling them. The broker publishes
// under the integration's flight lock, and subscribes under it too, so a
// subscriber gets the current token and every later one, none twice.
// Thread-safe; callbacks run on the publisher's thread, outside the hub's
// lock.
#ifndef TOKENBROKER_SERVER_BROKER_WATCH_HUB_H_
#define TOKENBROKER_SERVER_BROKER_WATCH_HUB_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/token_snapshot.h"

namespace tokenbroker {

class WatchHub {
 public:
  uint64_t Subscribe(const std::string& id, TokenCallback on_token);
  // After it returns, `on_token` is not called again by a later Publish
  // (a call already running on another thread may still finish).
  void Unsubscribe(const std::string& id, uint64_t handle);
  bool Watched(const std::string& id) const;

  // The callbacks of `id`, to be called by the publisher outside its locks.
  std::vector<TokenCallback> Subscribers(const std::string& id) const;
  // Removes and returns the callbacks of `id` (deleted integration).
  std::vector<TokenCallback> TakeAll(const std::string& id);
  // Removes and returns every callback (shutdown).
  std::vector<TokenCallback> TakeEverything();

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::map<uint64_t, TokenCallback>> watchers_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_WATCH_HUB_H_
