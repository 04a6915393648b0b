// An admin "hold" of the IMS emulator: stops one chosen request of one
// client at a precise point, so that a test can kill the broker while that
// request is in flight (a crash between two steps of a secret rotation).
//
// Design note: a held request is never answered. When the hold is released
// (or its safety timeout passes) the transport drops the connection, so the
// caller sees exactly what a network failure at that point looks like: a
// request held before its effect never reached Adobe, one held after its
// effect did (the secret added or deleted) but its answer was lost. Letting a
// released request proceed instead would turn "before" into "after" whenever
// the test releases the hold after killing the broker, which is the point of
// the hold. Counting starts when the hold is set, so a test need not know how
// many requests the client made before.
//
// Transport-free: emulator_server.cc calls Arrive() when a request comes in
// and Block() at the stage Arrive() named.
#ifndef TOKENBROKER_TESTS_IMS_EMULATOR_HOLD_GATE_H_
#define TOKENBROKER_TESTS_IMS_EMULATOR_HOLD_GATE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace tokenbroker::emulator {

// The requests a hold can stop: the token endpoints (both flows), and the
// Developer Console's list, add and delete of client secrets.
enum class HoldEndpoint { kToken, kList, kAdd, kDelete };

struct HoldSpec {
  HoldEndpoint endpoint = HoldEndpoint::kToken;
  // The client whose request is held: `client_id` of a token request, the
  // client a Console request's org and credential ids address.
  std::string client_id;
  // Hold the nth request of that client at that endpoint (1-based), counted
  // from when the hold was set.
  int nth = 1;
  // false: before the request has any effect. true: after its effect (the
  // token minted and the secret's use recorded, the secret added or deleted),
  // before the answer.
  bool after = false;
};

// Parses `{"endpoint": "token"|"list"|"add"|"delete", "client": "<id>",
// "nth": K, "after": bool}` ("nth" defaults to 1, "after" to false). `{}`
// parses to nullopt: no hold. Errors: INVALID_ARGUMENT naming the field.
absl::StatusOr<std::optional<HoldSpec>> ParseHoldSpec(absl::string_view text);

// Thread-safe. Arrive() and Set() never block beyond a short mutex hold;
// Block() blocks the calling (request) thread until the hold is released or
// replaced, or `timeout` passes.
class HoldGate {
 public:
  // `timeout`: the longest a request is held (a test that forgets to release
  // its hold does not wedge the emulator's threads forever).
  explicit HoldGate(absl::Duration timeout) : timeout_(timeout) {}

  // Replaces the hold (nullopt: none) and restarts the count; every request
  // held now is released (and dropped by its caller).
  void Set(std::optional<HoldSpec> spec);

  // Where a request picked by the hold stops.
  struct Ticket {
    bool after = false;  // HoldSpec::after
    uint64_t generation = 0;
  };
  // Counts a request of `client_id` at `endpoint`; a ticket when it is the
  // one the current hold picks, else nullopt (answer it normally).
  std::optional<Ticket> Arrive(HoldEndpoint endpoint, absl::string_view client_id);

  // Blocks until the hold that issued `ticket` is released or replaced, or
  // the timeout passes. The caller then drops the request with no answer.
  void Block(const Ticket& ticket);

  // `{"hold": {"endpoint","client","nth","after"} or null, "held_now": N,
  // "held_total": N, "seen": N}`: requests blocked right now, requests ever
  // held, and requests of the hold's client and endpoint counted so far.
  nlohmann::json Status() const;
  int held_now() const;

 private:
  const absl::Duration timeout_;
  mutable absl::Mutex mu_;
  std::optional<HoldSpec> spec_ ABSL_GUARDED_BY(mu_);
  // Bumped by every Set(): a held request waits for its generation to end.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int seen_ ABSL_GUARDED_BY(mu_) = 0;
  int held_now_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t held_total_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::string_view HoldEndpointName(HoldEndpoint endpoint);

}  // namespace tokenbroker::emulator

#endif  // TOKENBROKER_TESTS_IMS_EMULATOR_HOLD_GATE_H_
