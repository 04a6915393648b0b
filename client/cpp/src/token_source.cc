#include "tokenbroker/client/token_source.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "internal/convert.h"
#include "internal/grpc_status.h"
#include "internal/retry.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace tokenbroker::client {
namespace {

using TokenPtr = std::shared_ptr<const AccessToken>;
using HeadersPtr = std::shared_ptr<const std::vector<Header>>;

// The server's default rule (server/broker/refresh_policy.cc), so that the
// cache and the server agree on when a token is too old to hand out.
constexpr absl::Duration kDefaultMinValidity = absl::Seconds(60);
constexpr double kDefaultMinValidityFraction = 0.1;

bool IsAuthorization(const Header& header) {
  return absl::EqualsIgnoreCase(header.name, "authorization");
}

}  // namespace

struct TokenSource::State {
  State(std::shared_ptr<Client> c, std::string n, TokenSourceOptions o)
      : client(std::move(c)), name(std::move(n)), options(std::move(o)) {}

  absl::Time Now() const { return options.now ? options.now() : absl::Now(); }

  const std::shared_ptr<Client> client;
  const std::string name;
  const TokenSourceOptions options;

  // One GetAccessToken in flight, shared by all callers that need it.
  struct Flight {
    absl::Notification done;
    absl::StatusOr<AccessToken> result;
  };

  mutable absl::Mutex mu;
  TokenPtr current ABSL_GUARDED_BY(mu);
  HeadersPtr extra_headers ABSL_GUARDED_BY(mu);  // all but Authorization
  bool headers_wanted ABSL_GUARDED_BY(mu) = false;
  std::shared_ptr<Flight> flight ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  TokenWatch* watch ABSL_GUARDED_BY(mu) = nullptr;                     // the open stream
  grpc::ClientContext* background_call ABSL_GUARDED_BY(mu) = nullptr;  // header refresh

  absl::Mutex headers_mu;  // serializes first-time header fetches

  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> fallback_calls{0};
  std::atomic<uint64_t> watch_tokens{0};
  std::atomic<uint64_t> watch_restarts{0};

  std::thread thread;

  absl::Duration MinValidity(const AccessToken& token) const {
    if (options.min_remaining_validity.has_value()) return *options.min_remaining_validity;
    absl::Duration lifetime = std::max(token.expire_time - token.issue_time, absl::ZeroDuration());
    return std::min(kDefaultMinValidity, lifetime * kDefaultMinValidityFraction);
  }

  bool Fresh(const AccessToken& token, absl::Time now) const {
    return token.expire_time > now && token.expire_time - now >= MinValidity(token);
  }

  // A fresh cached token, or null.
  TokenPtr Cached(absl::Time now) const ABSL_LOCKS_EXCLUDED(mu) {
    TokenPtr token;
    {
      absl::ReaderMutexLock lock(&mu);
      token = current;
    }
    if (token == nullptr || !Fresh(*token, now)) return nullptr;
    return token;
  }

  // Keeps the newer of `token` and the cached one.
  void StoreLocked(TokenPtr token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (current == nullptr || token->expire_time >= current->expire_time) {
      current = std::move(token);
    }
  }

  // The fallback asks for the validity the cache requires, so that the
  // answer is fresh here too even when the server's --min-validity is
  // lower. Before the first token the lifetime is unknown: the server's
  // default (the same rule) applies.
  CallOptions FallbackCall(const AccessToken* cached) const {
    CallOptions call = options.call;
    if (options.min_remaining_validity.has_value()) {
      call.min_remaining_validity = options.min_remaining_validity;
    } else if (cached != nullptr) {
      call.min_remaining_validity = MinValidity(*cached);
    }
    return call;
  }

  absl::StatusOr<AccessToken> Token() {
    if (TokenPtr token = Cached(Now())) {
      cache_hits.fetch_add(1, std::memory_order_relaxed);
      return *token;
    }
    return Fetch();
  }

  // The slow path: one GetAccessToken for every caller arriving meanwhile.
  absl::StatusOr<AccessToken> Fetch() {
    std::shared_ptr<Flight> mine;
    TokenPtr stale;
    bool leader = false;
    {
      absl::MutexLock lock(&mu);
      // The stream (or another caller) may have brought a token meanwhile.
      if (current != nullptr && Fresh(*current, Now())) {
        cache_hits.fetch_add(1, std::memory_order_relaxed);
        return *current;
      }
      if (flight == nullptr) {
        flight = std::make_shared<Flight>();
        leader = true;
      }
      mine = flight;
      stale = current;
    }
    if (!leader) {
      mine->done.WaitForNotification();
      return mine->result;
    }
    fallback_calls.fetch_add(1, std::memory_order_relaxed);
    mine->result = client->GetAccessToken(name, FallbackCall(stale.get()));
    bool refresh_headers = false;
    {
      absl::MutexLock lock(&mu);
      if (mine->result.ok()) StoreLocked(std::make_shared<const AccessToken>(*mine->result));
      flight = nullptr;
      refresh_headers = mine->result.ok() && !options.watch && headers_wanted;
    }
    mine->done.Notify();
    // Without a watch thread, the other headers follow rotations here.
    if (refresh_headers) FetchExtraHeaders(/*cancellable=*/false).IgnoreError();
    return mine->result;
  }

  // GetRequestHeaders, keeping all but Authorization. `cancellable`: a
  // background call the destructor may cancel.
  absl::Status FetchExtraHeaders(bool cancellable) {
    CallOptions call = options.call;
    absl::StatusOr<RequestHeaders> response;
    if (!cancellable) {
      response = client->GetRequestHeaders(name, call);
    } else {
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&mu);
        if (stopping) return absl::CancelledError("token source stopping");
        background_call = &context;
      }
      absl::Status prepared = client->PrepareContext(&context, call);
      v1::GetRequestHeadersRequest request;
      request.set_name(name);
      v1::GetRequestHeadersResponse proto;
      grpc::Status status = prepared.ok() ? v1::TokenService::NewStub(client->channel())
                                                ->GetRequestHeaders(&context, request, &proto)
                                          : grpc::Status::CANCELLED;
      {
        absl::MutexLock lock(&mu);
        background_call = nullptr;
      }
      if (!prepared.ok()) return prepared;
      if (!status.ok()) return internal::FromGrpcStatus(status);
      response = internal::FromProto(proto);
    }
    if (!response.ok()) return response.status();
    auto extra = std::make_shared<std::vector<Header>>();
    for (Header& header : response->headers) {
      if (!IsAuthorization(header)) extra->push_back(std::move(header));
    }
    absl::MutexLock lock(&mu);
    extra_headers = std::move(extra);
    return absl::OkStatus();
  }

  absl::StatusOr<RequestHeaders> Headers() {
    absl::StatusOr<AccessToken> token = Token();
    if (!token.ok()) return token.status();
    HeadersPtr extra;
    {
      absl::MutexLock lock(&mu);
      headers_wanted = true;
      extra = extra_headers;
    }
    if (extra == nullptr) {
      absl::MutexLock fetch_lock(&headers_mu);
      {
        absl::ReaderMutexLock lock(&mu);
        extra = extra_headers;
      }
      if (extra == nullptr) {
        absl::Status fetched = FetchExtraHeaders(/*cancellable=*/false);
        if (!fetched.ok()) return fetched;
        absl::ReaderMutexLock lock(&mu);
        extra = extra_headers;
      }
    }
    RequestHeaders out;
    out.headers.reserve(extra->size() + 1);
    out.headers.push_back(Header{"Authorization", absl::StrCat("Bearer ", token->token)});
    out.headers.insert(out.headers.end(), extra->begin(), extra->end());
    out.expire_time = token->expire_time;
    return out;
  }

  // The background thread: follow the stream, reconnect with backoff.
  void WatchLoop() {
    RetryPolicy backoff_policy;
    backoff_policy.initial_backoff = options.watch_initial_backoff;
    backoff_policy.max_backoff = options.watch_max_backoff;
    int failures = 0;
    for (;;) {
      std::unique_ptr<TokenWatch> watch_stream = client->Watch(name);
      {
        absl::MutexLock lock(&mu);
        if (stopping) return;
        watch = watch_stream.get();
      }
      absl::Status end;
      for (;;) {
        absl::StatusOr<AccessToken> token = watch_stream->Next();
        if (!token.ok()) {
          end = token.status();
          break;
        }
        failures = 0;
        watch_tokens.fetch_add(1, std::memory_order_relaxed);
        bool refresh_headers;
        {
          absl::MutexLock lock(&mu);
          StoreLocked(std::make_shared<const AccessToken>(*std::move(token)));
          refresh_headers = headers_wanted;
        }
        // x-api-key / org / sandbox change only with the integration, and
        // an update mints a new token: refetch them with each token.
        if (refresh_headers) FetchExtraHeaders(/*cancellable=*/true).IgnoreError();
      }
      {
        absl::MutexLock lock(&mu);
        watch = nullptr;
        if (stopping) return;
        // Deleted or disabled: its token must not be handed out any more.
        if (end.code() == absl::StatusCode::kNotFound ||
            end.code() == absl::StatusCode::kFailedPrecondition) {
          current = nullptr;
          extra_headers = nullptr;
        }
      }
      watch_stream.reset();
      watch_restarts.fetch_add(1, std::memory_order_relaxed);
      ++failures;
      absl::Duration wait =
          internal::JitteredBackoff(backoff_policy, failures, internal::UniformRandom());
      absl::MutexLock lock(&mu);
      mu.AwaitWithTimeout(absl::Condition(&stopping), wait);
      if (stopping) return;
    }
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu);
      stopping = true;
      if (watch != nullptr) watch->Cancel();
      if (background_call != nullptr) background_call->TryCancel();
    }
    if (thread.joinable()) thread.join();
  }
};

TokenSource::TokenSource(std::unique_ptr<State> state) : state_(std::move(state)) {}

TokenSource::~TokenSource() { state_->Stop(); }

absl::StatusOr<std::unique_ptr<TokenSource>> TokenSource::New(std::shared_ptr<Client> client,
                                                              absl::string_view integration,
                                                              TokenSourceOptions options) {
  if (client == nullptr) return absl::InvalidArgumentError("client must not be null");
  if (integration.empty()) return absl::InvalidArgumentError("integration must not be empty");
  if (options.min_remaining_validity.has_value() &&
      *options.min_remaining_validity < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("min_remaining_validity must not be negative");
  }
  if (options.watch_initial_backoff <= absl::ZeroDuration() ||
      options.watch_max_backoff < options.watch_initial_backoff) {
    return absl::InvalidArgumentError(
        "watch_initial_backoff must be positive and at most watch_max_backoff");
  }
  auto state =
      std::make_unique<State>(std::move(client), IntegrationName(integration), std::move(options));
  State* raw = state.get();
  if (raw->options.watch) raw->thread = std::thread([raw] { raw->WatchLoop(); });
  return std::unique_ptr<TokenSource>(new TokenSource(std::move(state)));
}

absl::StatusOr<AccessToken> TokenSource::Token() { return state_->Token(); }

absl::StatusOr<RequestHeaders> TokenSource::Headers() { return state_->Headers(); }

const std::string& TokenSource::integration() const { return state_->name; }

TokenSourceStats TokenSource::stats() const {
  TokenSourceStats stats;
  stats.cache_hits = state_->cache_hits.load(std::memory_order_relaxed);
  stats.fallback_calls = state_->fallback_calls.load(std::memory_order_relaxed);
  stats.watch_tokens = state_->watch_tokens.load(std::memory_order_relaxed);
  stats.watch_restarts = state_->watch_restarts.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace tokenbroker::client
