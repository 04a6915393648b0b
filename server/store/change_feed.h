// The store's change feed: what changed, told to whoever caches store data.
//
// Every CredentialStore emits one StoreChange after each committed write:
// in-process stores (memory, SQLite) from the writer's thread, right after
// the commit; shared stores (PostgreSQL) also for writes committed by other
// replicas, from a feed thread. It is the broker's only invalidation path:
// an API handler never tells the broker what it changed.
#ifndef TOKENBROKER_SERVER_STORE_CHANGE_FEED_H_
#define TOKENBROKER_SERVER_STORE_CHANGE_FEED_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokenbroker {

// What changed in the store.
struct StoreChange {
  enum class Kind {
    kToken,        // a new token of integration `id` was stored
    kIntegration,  // integration `id` was created, updated or deleted
    kResync,       // changes may have been missed (feed reconnected): re-read all
  };
  Kind kind = Kind::kToken;
  std::string id;  // empty for kResync
  // kToken: the stored token's expiry, so a listener that already holds a
  // token expiring as late skips reading it. InfinitePast when unknown.
  absl::Time token_expire_time = absl::InfinitePast();
  // kIntegration: the integration no longer exists.
  bool deleted = false;
};

using StoreChangeListener = std::function<void(const StoreChange&)>;

// Holds the one listener of a store and calls it. Thread-safe. Deliver
// runs the listener on the calling thread, under a lock that SetListener
// also takes: once SetListener(nullptr) returns, the old listener is not
// running and is not called again. A listener must not block and must not
// call SetListener.
class ChangeFanout {
 public:
  void SetListener(StoreChangeListener listener) {
    absl::MutexLock lock(&mu_);
    listener_ = std::move(listener);
  }
  bool has_listener() const {
    absl::MutexLock lock(&mu_);
    return listener_ != nullptr;
  }
  void Deliver(const StoreChange& change) {
    absl::MutexLock lock(&mu_);
    if (listener_) listener_(change);
  }

 private:
  mutable absl::Mutex mu_;
  StoreChangeListener listener_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_CHANGE_FEED_H_
