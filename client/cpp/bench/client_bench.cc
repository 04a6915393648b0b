// Single-thread throughput of the SDK against a running server.
//
//   client_bench --target=127.0.0.1:50051 --integration=demo [--seconds=3] [--tls-ca=FILE]
//
// Measures, one after the other, on ONE thread:
//   token_source.Token()    cached token (no RPC: what most code calls)
//   token_source.Headers()  cached token + Adobe headers
//   CurlHeaders(source)     the same as a curl_slist
//   client.GetAccessToken   one unary RPC per call (the server's cache)
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

namespace {

namespace tbc = tokenbroker::client;

// Runs `call` for `seconds`; prints and returns calls per second.
double Measure(const char* label, double seconds, const std::function<bool()>& call) {
  // Warm up (connection, first token, first headers).
  for (int i = 0; i < 100; ++i) {
    if (!call()) {
      std::fprintf(stderr, "%s: call failed during warm-up\n", label);
      std::exit(1);
    }
  }
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
  double elapsed = absl::ToDoubleSeconds(now - start);
  double rate = calls / elapsed;
  std::printf("%-26s %12.0f calls/s  (%.3f us/call, %" PRId64 " calls in %.2f s)\n", label, rate,
              1e6 / rate, calls, elapsed);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  tbc::ClientOptions options;
  options.plaintext = true;
  std::string integration = "demo";
  double seconds = 3;
  double rpc_seconds = -1;
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
    } else if (absl::ConsumePrefix(&arg, "--tls-ca=")) {
      options.plaintext = false;
      options.ca_file = std::string(arg);
    } else {
      std::fprintf(stderr,
                   "usage: %s --target=HOST:PORT --integration=ID [--seconds=3] "
                   "[--rpc-seconds=S] [--tls-ca=FILE]\n",
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
