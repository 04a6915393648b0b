// Single-thread throughput of the SDK against a running server.
//
//   client_bench --target=127.0.0.1:50051 --integration=demo [--seconds=3] [--tls-ca=FILE]
//   client_bench --target=... --integration=demo --overhead [--seconds=1] [--rounds=5]
//
// Measures, one after the other, on ONE thread:
//   token_source.Token()    cached token (no RPC: what most code calls)
//   token_source.Headers()  cached token + Adobe headers
//   CurlHeaders(source)     the same as a curl_slist
//   client.GetAccessToken   one unary RPC per call (the server's cache)
// With --overhead, only Client::GetAccessToken against the bare generated
// stub on the same channel (overhead.sh): rounds of `seconds` each,
// alternating, so that both see the same machine load.
#include <grpcpp/grpcpp.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tokenbroker/client/client.h"
#include "tokenbroker/client/curl_headers.h"
#include "tokenbroker/client/error.h"
#include "tokenbroker/client/token_source.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace {

namespace tbc = tokenbroker::client;

// Runs `call` `n` times; exits on a failure.
void WarmUp(const char* label, int n, const std::function<bool()>& call) {
  for (int i = 0; i < n; ++i) {
    if (!call()) {
      std::fprintf(stderr, "%s: call failed during warm-up\n", label);
      std::exit(1);
    }
  }
}

// Runs `call` for `seconds`; returns the calls made and the time taken.
std::pair<int64_t, double> Run(const char* label, double seconds,
                               const std::function<bool()>& call) {
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  int64_t calls = 0;
  absl::Time now = start;
  while (now < end) {
    // Check the clock every 256 calls so that it does not dominate.
    for (int i = 0; i < 256; ++i) {
      if (!call()) {
        std::fprintf(stderr, "%s: call failed\n", label);
        std::exit(1);
      }
    }
    calls += 256;
    now = absl::Now();
  }
  return {calls, absl::ToDoubleSeconds(now - start)};
}

// Runs `call` for `seconds` after a warm-up (connection, first token, first
// headers); prints and returns calls per second.
double Measure(const char* label, double seconds, const std::function<bool()>& call) {
  WarmUp(label, 100, call);
  auto [calls, elapsed] = Run(label, seconds, call);
  double rate = calls / elapsed;
  std::printf("%-26s %12.0f calls/s  (%.3f us/call, %" PRId64 " calls in %.2f s)\n", label, rate,
              1e6 / rate, calls, elapsed);
  return rate;
}

// Client::GetAccessToken against the generated stub's GetAccessToken on the
// SDK's own channel, with the SDK's deadline, building its request per call
// as a caller would: `rounds` alternating runs of `seconds` each after a
// warm-up of both. Prints calls/s of each and the SDK's overhead per call.
int CompareWithStub(tbc::Client& client, const std::string& integration, double seconds,
                    int rounds) {
  std::unique_ptr<tokenbroker::v1::TokenService::Stub> stub =
      tokenbroker::v1::TokenService::NewStub(client.channel());
  const absl::Duration timeout = client.options().call_timeout;
  const std::string name = tbc::IntegrationName(integration);
  std::function<bool()> bare = [&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    tokenbroker::v1::GetAccessTokenRequest request;
    request.set_name(name);
    tokenbroker::v1::GetAccessTokenResponse response;
    return stub->GetAccessToken(&context, request, &response).ok() &&
           !response.token().access_token().empty();
  };
  std::function<bool()> sdk = [&] {
    absl::StatusOr<tbc::AccessToken> token = client.GetAccessToken(integration);
    return token.ok() && !token->token.empty();
  };
  WarmUp("stub", 2000, bare);
  WarmUp("sdk", 2000, sdk);
  int64_t stub_calls = 0, sdk_calls = 0;
  double stub_time = 0, sdk_time = 0;
  for (int round = 0; round < rounds; ++round) {
    auto [n1, t1] = Run("stub", seconds, bare);
    auto [n2, t2] = Run("sdk", seconds, sdk);
    stub_calls += n1;
    stub_time += t1;
    sdk_calls += n2;
    sdk_time += t2;
  }
  const double stub_rate = stub_calls / stub_time;
  const double sdk_rate = sdk_calls / sdk_time;
  std::printf("%-34s %10.0f calls/s  (%.1f us/call)\n", "bare stub GetAccessToken", stub_rate,
              1e6 / stub_rate);
  std::printf("%-34s %10.0f calls/s  (%.1f us/call)\n", "SDK Client::GetAccessToken", sdk_rate,
              1e6 / sdk_rate);
  std::printf(
      "SDK overhead per call: %+.1f %%  ((t_sdk - t_stub) / t_stub, one thread, "
      "%d x %.1f s each)\n",
      (stub_rate / sdk_rate - 1) * 100, rounds, seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tbc::ClientOptions options;
  options.plaintext = true;
  std::string integration = "demo";
  double seconds = 3;
  double rpc_seconds = -1;
  bool overhead = false;
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--target=")) {
      options.target = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--integration=")) {
      integration = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--seconds=")) {
      if (!absl::SimpleAtod(arg, &seconds) || seconds <= 0) return 2;
    } else if (absl::ConsumePrefix(&arg, "--rpc-seconds=")) {
      if (!absl::SimpleAtod(arg, &rpc_seconds) || rpc_seconds < 0) return 2;
    } else if (arg == "--overhead") {
      overhead = true;
    } else if (absl::ConsumePrefix(&arg, "--rounds=")) {
      if (!absl::SimpleAtoi(arg, &rounds) || rounds <= 0) return 2;
    } else if (absl::ConsumePrefix(&arg, "--tls-ca=")) {
      options.plaintext = false;
      options.ca_file = std::string(arg);
    } else {
      std::fprintf(stderr,
                   "usage: %s --target=HOST:PORT --integration=ID [--seconds=3] "
                   "[--rpc-seconds=S] [--tls-ca=FILE] [--overhead [--rounds=5]]\n",
                   argv[0]);
      return 2;
    }
  }
  if (rpc_seconds < 0) rpc_seconds = seconds;
  auto client = tbc::Client::New(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  if (overhead) return CompareWithStub(**client, integration, seconds, rounds);
  auto source = tbc::TokenSource::New(*client, integration);
  if (!source.ok()) {
    std::fprintf(stderr, "%s\n", source.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<tbc::AccessToken> first = (*source)->Token();
  if (!first.ok()) {
    std::fprintf(stderr, "%s\n", tbc::GetError(first.status()).ToString().c_str());
    return 1;
  }
  std::printf("integration %s, token valid until %s, one thread:\n",
              (*source)->integration().c_str(),
              absl::FormatTime(first->expire_time, absl::UTCTimeZone()).c_str());
  tbc::TokenSource& s = **source;
  Measure("TokenSource::Token", seconds, [&s] { return s.Token().ok(); });
  Measure("TokenSource::Headers", seconds, [&s] { return s.Headers().ok(); });
  Measure("CurlHeaders(TokenSource)", seconds, [&s] { return tbc::CurlHeaders(s).ok(); });
  if (rpc_seconds > 0) {
    tbc::Client& c = **client;
    Measure("Client::GetAccessToken", rpc_seconds,
            [&c, &integration] { return c.GetAccessToken(integration).ok(); });
  }
  tbc::TokenSourceStats stats = s.stats();
  std::printf("token source: %llu cache hits, %llu fallback calls, %llu watch tokens\n",
              static_cast<unsigned long long>(stats.cache_hits),
              static_cast<unsigned long long>(stats.fallback_calls),
              static_cast<unsigned long long>(stats.watch_tokens));
  return 0;
}
