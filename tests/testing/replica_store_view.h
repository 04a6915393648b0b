// One simulated replica's view of a shared store, for unit tests: every
// call goes to the shared store, but the change feed reaches this view's
// listener only when the test calls Deliver, so interleavings are the
// test's to choose. Not for production use.
#ifndef TOKENBROKER_TESTS_TESTING_REPLICA_STORE_VIEW_H_
#define TOKENBROKER_TESTS_TESTING_REPLICA_STORE_VIEW_H_

#include <utility>

#include "server/store/credential_store.h"
#include "tests/testing/forwarding_store.h"

namespace tokenbroker::testing {

class ReplicaStoreView final : public ForwardingCredentialStore {
 public:
  // `shared` is not owned and must outlive the view.
  explicit ReplicaStoreView(CredentialStore* shared) : ForwardingCredentialStore(shared) {}

  void SetChangeListener(StoreChangeListener listener) override {
    feed_.SetListener(std::move(listener));
  }

  // Hands `change` to this view's listener, as the store's feed would.
  void Deliver(const StoreChange& change) { feed_.Deliver(change); }

 private:
  ChangeFanout feed_;
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_REPLICA_STORE_VIEW_H_
