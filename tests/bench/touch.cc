// bench-touch: calls TokenService.GetAccessToken for integrations
// <prefix>NNNNNN, NNNNNN in [--first, --first + --count), --calls times in
// all (round robin over the ids; default: each once), with --concurrency
// calls in flight, and reports the outcome. Used by tests/bench/startup.sh to
// warm a broker's cache for K integrations before measuring its memory; not
// a test.
//
//   bench-touch (--port-file=F | --target=HOST:PORT) [--first=0] [--count=10000]
//               [--calls=N] [--concurrency=32] [--id-prefix=bench-] [--timeout=120s]
//
// A token whose issue_time is before the run started was not minted for this
// call: it came from the broker's cache or its store ("issued before start").
// Output: a human line, then `RESULT ok=... errors=... seconds=... rate=...
// issued_before_start=... token_bytes=...`. Exit 0 when every call was OK.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/flag_names.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

ABSL_FLAG(std::string, port_file, "", "File holding the broker's port (127.0.0.1 assumed).");
ABSL_FLAG(std::string, target, "", "host:port of the broker (instead of --port-file).");
ABSL_FLAG(std::string, id_prefix, "bench-", "Integration id prefix.");
ABSL_FLAG(int, first, 0, "Number of the first integration.");
ABSL_FLAG(int, count, 10000, "Number of distinct integrations.");
ABSL_FLAG(int64_t, calls, 0, "Total calls, round robin over the ids (0: --count).");
ABSL_FLAG(int, concurrency, 32, "Calls in flight.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "Deadline of one call.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(120), "Give up after this long.");

namespace {

std::string ReadTarget() {
  if (!absl::GetFlag(FLAGS_target).empty()) return absl::GetFlag(FLAGS_target);
  std::ifstream in(absl::GetFlag(FLAGS_port_file));
  std::string text;
  std::getline(in, text);
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port)) return "";
  return absl::StrCat("127.0.0.1:", port);
}

struct Call {
  grpc::ClientContext context;
  tokenbroker::v1::GetAccessTokenRequest request;
  tokenbroker::v1::GetAccessTokenResponse response;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> storage;  // --flag-name and --flag_name both work
  std::vector<char*> args = tokenbroker::NormalizeFlagNames(argc, argv, &storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const std::string target = ReadTarget();
  const int first = absl::GetFlag(FLAGS_first);
  const int count = absl::GetFlag(FLAGS_count);
  const int64_t calls = absl::GetFlag(FLAGS_calls) > 0 ? absl::GetFlag(FLAGS_calls) : count;
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  if (target.empty() || count < 1) {
    std::fprintf(stderr, "usage: bench-touch (--port-file=F | --target=HOST:PORT) --count=N\n");
    return 2;
  }
  auto stub = tokenbroker::v1::TokenService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  int64_t completed = 0, ok = 0, issued_before = 0, token_bytes = 0;
  std::map<std::string, int64_t> errors;  // "CODE message" -> count
  const absl::Time start = absl::Now();
  const absl::Time give_up = start + absl::GetFlag(FLAGS_timeout);
  bool timed_out = false;

  for (int64_t i = 0; i < calls; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      while (in_flight >= concurrency) {
        if (cv.wait_until(lock, absl::ToChronoTime(give_up)) == std::cv_status::timeout) {
          timed_out = true;
          break;
        }
      }
      if (timed_out) break;
      ++in_flight;
    }
    auto* call = new Call;
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_deadline)));
    call->request.set_name(absl::StrFormat("integrations/%s%06d", absl::GetFlag(FLAGS_id_prefix),
                                           first + static_cast<int>(i % count)));
    stub->async()->GetAccessToken(
        &call->context, &call->request, &call->response, [&, call](grpc::Status status) {
          std::unique_ptr<Call> owned(call);
          std::lock_guard<std::mutex> lock(mu);
          ++completed;
          if (status.ok() && !owned->response.token().access_token().empty()) {
            ++ok;
            token_bytes += static_cast<int64_t>(owned->response.token().access_token().size());
            if (owned->response.token().issue_time().seconds() < absl::ToUnixSeconds(start)) {
              ++issued_before;
            }
          } else {
            std::string key = status.ok()
                                  ? "OK but empty token"
                                  : absl::StrCat(status.error_code(), " ", status.error_message());
            ++errors[key];
          }
          --in_flight;
          cv.notify_all();
        });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    while (in_flight > 0) {
      if (cv.wait_until(lock, absl::ToChronoTime(give_up + absl::GetFlag(FLAGS_deadline))) ==
          std::cv_status::timeout) {
        timed_out = true;
        break;
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  int64_t failed = completed - ok;
  std::printf(
      "%lld calls over %d integrations (%s%06d..%06d) in %.2f s: %.0f calls/s, %lld OK, %lld "
      "failed, %lld tokens issued before start%s\n",
      static_cast<long long>(completed), count, absl::GetFlag(FLAGS_id_prefix).c_str(), first,
      first + count - 1, seconds, completed / seconds, static_cast<long long>(ok),
      static_cast<long long>(failed), static_cast<long long>(issued_before),
      timed_out ? " (TIMED OUT)" : "");
  for (const auto& [error, n] : errors) {
    std::printf("  error x%lld: %s\n", static_cast<long long>(n), error.c_str());
  }
  std::printf(
      "RESULT ok=%lld errors=%lld seconds=%.3f rate=%.1f issued_before_start=%lld "
      "token_bytes=%.0f\n",
      static_cast<long long>(ok), static_cast<long long>(failed), seconds, completed / seconds,
      static_cast<long long>(issued_before), ok > 0 ? static_cast<double>(token_bytes) / ok : 0.0);
  std::fflush(stdout);
  // Calls still in flight after a timeout reference `mu` and `cv`: leave
  // without running destructors.
  if (timed_out) std::_Exit(1);
  return failed == 0 && completed == calls ? 0 : 1;
}
