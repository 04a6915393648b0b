// bench-health-probe: waits until a gRPC server answers grpc.health.v1
// Health/Check with SERVING, polling every --interval, and reports how long
// that took since --since-us (a CLOCK_REALTIME timestamp in microseconds,
// e.g. bash's ${EPOCHREALTIME/./} taken just before the server was started).
// Used by tests/bench/startup.sh when grpcurl is not installed; not a test.
//
//   bench-health-probe (--port-file=F | --target=HOST:PORT) --since-us=T
//                      [--pid=PID] [--interval=10ms] [--timeout=30s]
//
// With --port-file the address is 127.0.0.1:<port in F> once F exists (the
// broker writes it after it started serving). Each attempt uses a fresh
// channel, so gRPC's reconnect backoff never delays the measurement; gRPC's
// own initialisation is done once before polling starts.
// --pid: stop early (exit 1) when that process has exited.
//
// Output: a human line, then `RESULT serving_ms=... port_file_ms=...
// attempts=...`. Exit 0 when SERVING, 1 otherwise (timeout, server exited).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/flag_names.h"

ABSL_FLAG(std::string, port_file, "", "File the server writes its port to (127.0.0.1 assumed).");
ABSL_FLAG(std::string, target, "", "host:port to probe (instead of --port-file).");
ABSL_FLAG(std::string, service, "", "Health service name to check (\"\": the whole server).");
ABSL_FLAG(int64_t, since_us, 0,
          "Start of the measurement, Unix time in microseconds (0: when the probe started).");
ABSL_FLAG(int, pid, 0, "Give up when this process has exited.");
ABSL_FLAG(absl::Duration, interval, absl::Milliseconds(10), "Polling interval.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "Give up after this long (since --since-us).");
ABSL_FLAG(absl::Duration, rpc_deadline, absl::Milliseconds(500), "Deadline of one Check call.");

namespace {

int64_t NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

bool ProcessAlive(int pid) {
  if (pid <= 0) return true;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie (exited, not yet reaped by the shell) still answers kill(0).
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

std::string ReadPort(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) || port <= 0 || port > 65535) {
    return "";
  }
  return absl::StrCat("127.0.0.1:", port);
}

// HealthCheckRequest{service}: field 1, length-delimited.
std::string EncodeRequest(const std::string& service) {
  if (service.empty()) return "";
  std::string out = "\x0a";
  size_t n = service.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out + service;
}

// HealthCheckResponse.status (field 1, varint); 0 (UNKNOWN) when absent.
int DecodeStatus(const std::string& bytes) {
  size_t i = 0;
  int status = 0;
  while (i < bytes.size()) {
    uint8_t key = static_cast<uint8_t>(bytes[i++]);
    if ((key & 7) != 0) return -1;  // only varints are expected here
    uint64_t value = 0;
    int shift = 0;
    while (i < bytes.size()) {
      uint8_t b = static_cast<uint8_t>(bytes[i++]);
      value |= uint64_t{b & 0x7fu} << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    if ((key >> 3) == 1) status = static_cast<int>(value);
  }
  return status;
}

// One Check call on a fresh channel. Returns the HealthCheckResponse status
// (1 = SERVING), or -1 with `error` set.
int CheckOnce(const std::string& target, const std::string& service, absl::Duration deadline,
              std::string* error) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // really a new connection each time
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  std::string request_bytes = EncodeRequest(service);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    *error = absl::StrCat(status.error_code(), " ", status.error_message());
    return -1;
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    *error = "unreadable response";
    return -1;
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return DecodeStatus(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> storage;  // --flag-name and --flag_name both work
  std::vector<char*> args = tokenbroker::NormalizeFlagNames(argc, argv, &storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  std::string target = absl::GetFlag(FLAGS_target);
  if (port_file.empty() == target.empty()) {
    std::fprintf(stderr, "bench-health-probe: give exactly one of --port-file and --target\n");
    return 2;
  }
  const int64_t since =
      absl::GetFlag(FLAGS_since_us) > 0 ? absl::GetFlag(FLAGS_since_us) : NowMicros();
  const int64_t timeout_us = absl::ToInt64Microseconds(absl::GetFlag(FLAGS_timeout));
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  const int pid = absl::GetFlag(FLAGS_pid);
  double port_file_ms = -1;
  int attempts = 0;
  std::string last_error = "no attempt yet";
  // Pay gRPC's one-time start-up (library init, resolver and event engine
  // threads) now, with a call to a closed port, not in the first real check.
  {
    std::string ignored;
    CheckOnce("127.0.0.1:1", "", absl::Milliseconds(200), &ignored);
  }
  while (NowMicros() - since < timeout_us) {
    if (!ProcessAlive(pid)) {
      std::fprintf(stderr, "bench-health-probe: process %d exited before serving\n", pid);
      return 1;
    }
    if (target.empty()) {
      target = ReadPort(port_file);
      if (!target.empty()) port_file_ms = (NowMicros() - since) / 1000.0;
    }
    if (!target.empty()) {
      ++attempts;
      int status = CheckOnce(target, absl::GetFlag(FLAGS_service),
                             absl::GetFlag(FLAGS_rpc_deadline), &last_error);
      if (status == 1) {
        double ms = (NowMicros() - since) / 1000.0;
        std::printf("SERVING after %.1f ms (port file seen after %.1f ms, %d health checks)\n", ms,
                    port_file_ms, attempts);
        std::printf("RESULT serving_ms=%.1f port_file_ms=%.1f attempts=%d\n", ms, port_file_ms,
                    attempts);
        return 0;
      }
      if (status >= 0) last_error = absl::StrCat("health status ", status);
    }
    absl::SleepFor(interval);
  }
  std::fprintf(stderr, "bench-health-probe: not SERVING after %s (%d checks; last: %s)\n",
               absl::FormatDuration(absl::GetFlag(FLAGS_timeout)).c_str(), attempts,
               last_error.c_str());
  return 1;
}
