// A process-local cache of one integration's token that follows rotations.
//
// Design note: the server already refreshes tokens ahead of expiry and
// pushes each new one on WatchAccessTokens, so the source keeps one such
// stream open on a background thread and serves Token() from memory: no RPC,
// no I/O, a reader lock and a copy. The stream is an optimisation, never a
// dependency: whenever the cached token would fall below the minimum
// validity (stream broken, server restarting, connection silently dropped)
// Token() asks GetAccessToken itself, once for all concurrent callers, well
// before the token expires. A token past its minimum validity is never
// returned.
#ifndef TOKENBROKER_CLIENT_TOKEN_SOURCE_H_
#define TOKENBROKER_CLIENT_TOKEN_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbroker/client/client.h"

namespace tokenbroker::client {

struct TokenSourceOptions {
  // A cached token is served while it stays valid at least this long.
  // Unset: the server's rule, 60 s capped at 10 % of the token's lifetime.
  // Sent as min_remaining_validity on fallback calls when set.
  std::optional<absl::Duration> min_remaining_validity;
  // Follow WatchAccessTokens on a background thread. false: a plain cache
  // that calls GetAccessToken whenever the token gets too old.
  bool watch = true;
  // Reconnect waits of the watch: exponential from `initial` to `max`, with
  // jitter; reset once a token arrives.
  absl::Duration watch_initial_backoff = absl::Milliseconds(200);
  absl::Duration watch_max_backoff = absl::Seconds(30);
  // Options of the fallback calls (timeout).
  CallOptions call;
  // The clock the freshness decisions read (is the cached token still valid
  // for the minimum validity?). Unset: absl::Now. It exists for tests, which
  // drive refresh-before-expiry with a fake clock instead of sleeping; it
  // must be thread-safe. The watch's reconnect waits use the real time.
  std::function<absl::Time()> now;
};

// Counters, for tests and metrics.
struct TokenSourceStats {
  uint64_t cache_hits = 0;      // Token()/Headers() answered from memory
  uint64_t fallback_calls = 0;  // GetAccessToken calls made by Token()
  uint64_t watch_tokens = 0;    // tokens received on the stream
  uint64_t watch_restarts = 0;  // streams that ended and were reopened
};

// Thread-safe. Token() and Headers() never block while a good token is
// cached; otherwise one caller fetches while the others wait for its result.
// The destructor cancels the stream and joins the thread (promptly: it does
// not wait for a backoff or a token).
class TokenSource {
 public:
  // Starts the watch (when enabled). Does not wait for a token: the first
  // Token() does, and reports errors. Errors: INVALID_ARGUMENT (null
  // client, empty integration, negative durations).
  static absl::StatusOr<std::unique_ptr<TokenSource>> New(std::shared_ptr<Client> client,
                                                          absl::string_view integration,
                                                          TokenSourceOptions options = {});
  ~TokenSource();
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;

  // A token valid for at least the minimum validity. Errors: those of
  // Client::GetAccessToken, when no cached token is good enough.
  absl::StatusOr<AccessToken> Token();

  // The Adobe API headers with the current token in `Authorization`. The
  // other headers (x-api-key, org, sandbox) come from one GetRequestHeaders
  // call, refreshed by the background thread whenever a new token arrives.
  // Errors: as Token(), and those of GetRequestHeaders on the first call.
  absl::StatusOr<RequestHeaders> Headers();

  // `integrations/{id}`.
  const std::string& integration() const;
  TokenSourceStats stats() const;

 private:
  struct State;
  explicit TokenSource(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tokenbroker::client

#endif  // TOKENBROKER_CLIENT_TOKEN_SOURCE_H_
