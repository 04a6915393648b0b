// tokenbroker-soak: the fault soak (`make soak`, README "Soak"). The real
// server (one on SQLite, or three replicas on one PostgreSQL), the IMS
// emulator injecting a fault mix on every token request and down for a
// stretch mid-run, and a fleet of clients calling at a steady rate, a few
// watching. Prints what it saw; exits 1 when a must-be-zero figure is not
// zero or the servers' RSS or open fds grew 10 % or more after the warm-up,
// 2 when the deployment cannot be set up.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/common/flag_names.h"
#include "tests/soak/ledger.h"
#include "tests/soak/sampler.h"
#include "tests/testing/postgres.h"
#include "tests/testing/stack.h"
#include "tests/testing/subprocess.h"

ABSL_FLAG(int, seconds, 600, "How long the clients call (the run; setup and report come on top).");
ABSL_FLAG(std::string, store, "sqlite",
          "sqlite: one server on an SQLite file; postgres: --replicas servers on one PostgreSQL "
          "(started as the postgres user under /tmp), which is restarted once mid-run.");
ABSL_FLAG(int, replicas, 3, "Servers on PostgreSQL (--store=postgres).");
ABSL_FLAG(int, integrations, 300, "Integrations (one emulator client each).");
ABSL_FLAG(int, min_lifetime, 20, "Shortest token lifetime, seconds (spread evenly up to max).");
ABSL_FLAG(int, max_lifetime, 40, "Longest token lifetime, seconds.");
ABSL_FLAG(int, callers, 64, "Client threads calling GetAccessToken.");
ABSL_FLAG(double, rate, 100, "GetAccessToken calls per second, all callers together.");
ABSL_FLAG(int, watchers, 4, "Client threads each watching one integration.");
ABSL_FLAG(absl::Duration, ims_timeout, absl::Seconds(3),
          "The server's --ims-timeout; injected hangs last 2 s longer.");
ABSL_FLAG(double, down_at, 0.35, "When IMS goes fully down, as a fraction of the run.");
ABSL_FLAG(double, down_for, 0.15, "How long IMS stays down, as a fraction of the run.");
ABSL_FLAG(double, db_restart_at, 0.55,
          "--store=postgres: when the database is stopped (fast) and started again, as a "
          "fraction of the run.");
ABSL_FLAG(absl::Duration, db_down, absl::Seconds(5), "How long the database stays stopped.");
ABSL_FLAG(double, warm_up, 0.25,
          "Fraction of the run before memory and fd growth is measured. The rest is split in "
          "halves: the first holds the IMS outage and the database restart, the second is steady "
          "state after them; growth is the second half's RSS peak against the first half's, and "
          "its fewest open fds against the first half's median.");
ABSL_FLAG(std::string, logs_out, "",
          "Also write the servers' and the emulator's logs here at the end.");
ABSL_FLAG(std::string, samples_out, "",
          "Also write every /proc sample here (server, seconds, RSS KiB, fds; CSV).");

namespace tokenbroker::soak {
namespace {

using testing::BrokerProcess;
using testing::ImsEmulatorProcess;
using testing::PostgresServer;
using testing::TempDir;

constexpr char kSecret[] = "SOAK-SECRET-4f1d27c0";
constexpr double kRefreshAt = 0.75;
constexpr double kRefreshJitter = 0.10;

struct Config {
  int seconds, replicas, integrations, min_lifetime, max_lifetime, callers, watchers;
  bool postgres;
  double rate, down_at, down_for, db_restart_at, warm_up;
  absl::Duration ims_timeout, db_down;

  absl::Duration run() const { return absl::Seconds(seconds); }
  int Lifetime(int i) const {
    int span = max_lifetime - min_lifetime + 1;
    return min_lifetime + i % span;
  }
};

Config FromFlags() {
  Config c;
  c.seconds = absl::GetFlag(FLAGS_seconds);
  c.postgres = absl::GetFlag(FLAGS_store) == "postgres";
  c.replicas = c.postgres ? absl::GetFlag(FLAGS_replicas) : 1;
  c.integrations = absl::GetFlag(FLAGS_integrations);
  c.min_lifetime = absl::GetFlag(FLAGS_min_lifetime);
  c.max_lifetime = absl::GetFlag(FLAGS_max_lifetime);
  c.callers = absl::GetFlag(FLAGS_callers);
  c.watchers = absl::GetFlag(FLAGS_watchers);
  c.rate = absl::GetFlag(FLAGS_rate);
  c.down_at = absl::GetFlag(FLAGS_down_at);
  c.down_for = absl::GetFlag(FLAGS_down_for);
  c.db_restart_at = absl::GetFlag(FLAGS_db_restart_at);
  c.warm_up = absl::GetFlag(FLAGS_warm_up);
  c.ims_timeout = absl::GetFlag(FLAGS_ims_timeout);
  c.db_down = absl::GetFlag(FLAGS_db_down);
  return c;
}

// The fault mix of every token request (README "Soak"): 25 % 5xx (10 %
// 500, 15 % 503), 10 % 429 with Retry-After, 5 % hangs past the server's
// --ims-timeout, 5 % connection resets, 3 % malformed 200s, 2 % slow answers.
nlohmann::json FaultMix(const Config& c) {
  return {{"error_rate", 0.10},
          {"rate_5xx", 0.15},
          {"rate_429", 0.10},
          {"retry_after_seconds", 2},
          {"hang_rate", 0.05},
          {"hang_ms", absl::ToDoubleMilliseconds(c.ims_timeout + absl::Seconds(2))},
          {"reset_rate", 0.05},
          {"malformed_rate", 0.03},
          {"slow_rate", 0.02},
          {"slow_ms", absl::ToDoubleMilliseconds(c.ims_timeout / 2)}};
}

std::string IntegrationName(int i) { return absl::StrCat("integrations/soak-", i); }

// Digits replaced, so that one reason is one line whatever the integration.
std::string Reason(const grpc::Status& status) {
  std::string message = status.error_message().substr(0, 100), out;
  message = message.substr(0, message.find(" (x-debug-id"));
  for (char ch : message) {
    if (ch >= '0' && ch <= '9') {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += ch;
    }
  }
  return absl::StrCat(status.error_code(), " ", out);
}

class Soak {
 public:
  explicit Soak(Config config) : c_(config), ledger_(config.integrations) {}
  absl::Status SetUp();
  // Runs the clients and the schedule; returns the process exit code.
  int Run();

 private:
  absl::Status StartServers();
  absl::Status CreateIntegrations();
  void Caller(int index);
  enum class Outcome { kAnswered, kFailed, kCancelled };
  Outcome CallOnce(int replica, int integration, std::string* error);
  // Keeps `ctx` in open_contexts_ while it lives, so that the end of the run
  // cancels it; a context opened after the end is cancelled at once.
  class OpenContext {
   public:
    OpenContext(Soak* soak, grpc::ClientContext* ctx);
    ~OpenContext();

   private:
    Soak* soak_;
    grpc::ClientContext* ctx_;
  };
  void Watcher(int index);
  void Sampler();
  void Schedule(absl::Time started);
  int Report(absl::Duration ran);
  bool ReportMemory();
  std::string Logs();

  const Config c_;
  Ledger ledger_;
  std::unique_ptr<PostgresServer> postgres_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  TempDir dir_;
  std::vector<std::unique_ptr<BrokerProcess>> servers_;
  std::vector<std::unique_ptr<ProcessSeries>> series_;
  absl::Time started_;
  absl::Notification stop_;
  std::atomic<int64_t> retried_elsewhere_{0}, watch_tokens_{0}, watch_ends_{0};
  absl::Mutex contexts_mu_;
  std::vector<grpc::ClientContext*> open_contexts_ ABSL_GUARDED_BY(contexts_mu_);
  std::string schedule_log_;  // written by Schedule() before the clients stop
};

absl::Status Soak::SetUp() {
  std::vector<nlohmann::json> clients;
  for (int i = 0; i < c_.integrations; ++i) {
    clients.push_back({{"client_id", absl::StrCat("soak-client-", i)},
                       {"client_secrets", {kSecret}},
                       {"org_id", "SOAK@AdobeOrg"},
                       {"scopes", {"openid", "AdobeID"}},
                       {"token_lifetime_seconds", c_.Lifetime(i)}});
  }
  // Hangs hold an emulator thread each, and so does every open connection.
  auto ims = ImsEmulatorProcess::Start(clients, {"--threads=256"});
  if (!ims.ok()) return ims.status();
  ims_ = *std::move(ims);
  if (c_.postgres) {
    auto postgres = PostgresServer::Start();
    if (!postgres.ok()) return postgres.status();
    postgres_ = *std::move(postgres);
  }
  absl::Status started = StartServers();
  if (!started.ok()) return started;
  return CreateIntegrations();
}

absl::Status Soak::StartServers() {
  std::string keyring = dir_.File("keyring.json");
  testing::CommandResult created = testing::RunCommand(
      {testing::BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + keyring});
  if (created.exit_code != 0) return absl::InternalError("keyring create: " + created.err);
  std::vector<std::string> flags = {
      "--kek-file=" + keyring,
      "--ims-url=" + ims_->url(),
      "--ims-ca-file=" + ims_->ca_file(),
      absl::StrCat("--ims-timeout=", absl::FormatDuration(c_.ims_timeout)),
      "--ims-connect-timeout=2s",
      absl::StrCat("--refresh-at=", kRefreshAt),
      absl::StrCat("--refresh-jitter=", kRefreshJitter),
      c_.postgres ? "--store=" + postgres_->dsn() : "--store=sqlite:" + dir_.File("soak.db")};
  for (int r = 0; r < c_.replicas; ++r) {
    std::vector<std::string> own = flags;
    if (c_.postgres) own.push_back(absl::StrCat("--replica-id=soak-replica-", r));
    auto server = BrokerProcess::Start(own);
    if (!server.ok()) return server.status();
    series_.push_back(std::make_unique<ProcessSeries>(absl::StrCat("server ", r)));
    servers_.push_back(*std::move(server));
  }
  return absl::OkStatus();
}

absl::Status Soak::CreateIntegrations() {
  auto stub = servers_[0]->integrations();
  for (int i = 0; i < c_.integrations; ++i) {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse response;
    grpc::Status status = stub->CreateIntegration(
        &ctx,
        testing::OAuthIntegration(absl::StrCat("soak-", i), absl::StrCat("soak-client-", i),
                                  kSecret, ""),
        &response);
    if (!status.ok()) {
      return absl::InternalError(absl::StrCat("CreateIntegration: ", status.error_message()));
    }
  }
  return absl::OkStatus();
}

Soak::OpenContext::OpenContext(Soak* soak, grpc::ClientContext* ctx) : soak_(soak), ctx_(ctx) {
  absl::MutexLock lock(&soak_->contexts_mu_);
  soak_->open_contexts_.push_back(ctx_);
  if (soak_->stop_.HasBeenNotified()) ctx_->TryCancel();
}

Soak::OpenContext::~OpenContext() {
  absl::MutexLock lock(&soak_->contexts_mu_);
  auto& open = soak_->open_contexts_;
  open.erase(std::find(open.begin(), open.end(), ctx_));
}

// A call still waiting when the run ends is cancelled and not counted.
Soak::Outcome Soak::CallOnce(int replica, int integration, std::string* error) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(45));
  OpenContext open(this, &ctx);
  v1::GetAccessTokenRequest request;
  request.set_name(IntegrationName(integration));
  v1::GetAccessTokenResponse response;
  grpc::Status status = servers_[replica]->tokens()->GetAccessToken(&ctx, request, &response);
  if (status.error_code() == grpc::StatusCode::CANCELLED && stop_.HasBeenNotified()) {
    return Outcome::kCancelled;
  }
  if (!status.ok()) {
    *error = Reason(status);
    return Outcome::kFailed;
  }
  ledger_.Received(integration, response.token(), absl::Now());
  return Outcome::kAnswered;
}

// Calls at a steady pace (rate / callers per second); a call that takes
// longer delays this caller's next one, never makes it burst. On PostgreSQL
// a failed call is retried on each replica in turn, twice round with a
// 200 ms pause between rounds, as a client that knows every replica's
// address would (and as tests/cluster does): while the database is down,
// a token one replica minted exists on that replica only.
void Soak::Caller(int index) {
  std::mt19937 rng(static_cast<uint32_t>(index) * 7919u + 1u);
  std::uniform_int_distribution<int> pick(0, c_.integrations - 1);
  const absl::Duration interval = absl::Seconds(c_.callers / c_.rate);
  absl::Time next = absl::Now() + interval * (static_cast<double>(index) / c_.callers);
  while (
      !stop_.WaitForNotificationWithTimeout(std::max(next - absl::Now(), absl::ZeroDuration()))) {
    next = std::max(next + interval, absl::Now());
    int integration = pick(rng);
    int replica = static_cast<int>(rng() % servers_.size());
    std::string error;
    Outcome outcome = CallOnce(replica, integration, &error);
    for (int other = 1; outcome == Outcome::kFailed && other < 2 * c_.replicas; ++other) {
      ++retried_elsewhere_;
      // A client's pause once every replica failed, before its second round.
      if (other == c_.replicas) stop_.WaitForNotificationWithTimeout(absl::Milliseconds(200));
      outcome = CallOnce((replica + other) % c_.replicas, integration, &error);
    }
    if (outcome == Outcome::kCancelled) return;
    ledger_.CountCall();
    if (outcome == Outcome::kFailed) ledger_.Failed(integration, absl::Now(), error);
  }
}

void Soak::Watcher(int index) {
  int integration = index * std::max(1, c_.integrations / std::max(1, c_.watchers));
  auto stub = servers_[index % servers_.size()]->tokens();
  while (!stop_.HasBeenNotified()) {
    grpc::ClientContext ctx;
    OpenContext open(this, &ctx);
    v1::WatchAccessTokensRequest request;
    request.set_name(IntegrationName(integration));
    auto reader = stub->WatchAccessTokens(&ctx, request);
    v1::WatchAccessTokensResponse message;
    while (reader->Read(&message)) {
      ++watch_tokens_;
      ledger_.Received(integration, message.token(), absl::Now());
    }
    reader->Finish();
    if (stop_.HasBeenNotified()) return;
    ++watch_ends_;
    // A watcher that lost its stream opens another after a pause, as an SDK does.
    stop_.WaitForNotificationWithTimeout(absl::Seconds(1));
  }
}

// Every 2 s; a progress line every minute.
void Soak::Sampler() {
  int round = 0;
  do {
    std::string rss;
    for (size_t r = 0; r < servers_.size(); ++r) {
      Sample sample;
      sample.at = absl::Now() - started_;
      if (ReadProc(servers_[r]->process()->pid(), &sample.rss_kib, &sample.fds)) {
        series_[r]->Add(sample);
        absl::StrAppend(&rss, " ", sample.rss_kib, " KiB/", sample.fds, " fds");
      }
    }
    if (++round % 30 == 0) {
      std::printf(
          "   at %.0f s: calls %lld, expired %lld, failed while valid %lld, failed with no "
          "valid token %lld; server RSS/fds%s\n",
          absl::ToDoubleSeconds(absl::Now() - started_), static_cast<long long>(ledger_.calls()),
          static_cast<long long>(ledger_.expired()),
          static_cast<long long>(ledger_.failed_while_valid()),
          static_cast<long long>(ledger_.failed_no_valid_token()), rss.c_str());
      std::fflush(stdout);
    }
  } while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(2)));
}

// IMS down for a stretch; on PostgreSQL the database restarted once. The
// times are the scenario, not synchronization.
void Soak::Schedule(absl::Time started) {
  struct Step {
    double at;
    std::function<void()> action;
    std::string what;
  };
  std::vector<Step> steps = {
      {c_.down_at,
       [&] {
         ims_->SetFaults({{"down", true}});
       },
       "IMS down"},
      {c_.down_at + c_.down_for, [&] { ims_->SetFaults(FaultMix(c_)); }, "IMS back (fault mix)"},
  };
  if (c_.postgres) {
    steps.push_back({c_.db_restart_at,
                     [&] {
                       absl::Status stopped = postgres_->Stop();
                       stop_.WaitForNotificationWithTimeout(c_.db_down);
                       absl::Status restarted = postgres_->Restart();
                       if (!stopped.ok() || !restarted.ok()) {
                         absl::StrAppend(&schedule_log_,
                                         "   database restart FAILED: ", stopped.ToString(), " ",
                                         restarted.ToString(), "\n");
                       }
                     },
                     "database stopped, started again"});
  }
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.at < b.at; });
  for (const Step& step : steps) {
    if (stop_.WaitForNotificationWithTimeout(started + c_.run() * step.at - absl::Now())) return;
    absl::Time at = absl::Now();
    step.action();
    absl::StrAppend(&schedule_log_, absl::StrFormat("   at %.0f s: %s (%.1f s)\n",
                                                    absl::ToDoubleSeconds(at - started), step.what,
                                                    absl::ToDoubleSeconds(absl::Now() - at)));
  }
}

int Soak::Run() {
  ims_->SetFaults(FaultMix(c_));
  ims_->Reset();
  started_ = absl::Now();
  std::vector<std::thread> threads;
  threads.emplace_back([this] { Sampler(); });
  for (int i = 0; i < c_.callers; ++i) threads.emplace_back([this, i] { Caller(i); });
  for (int i = 0; i < c_.watchers; ++i) threads.emplace_back([this, i] { Watcher(i); });
  std::thread schedule([this] { Schedule(started_); });
  stop_.WaitForNotificationWithTimeout(c_.run());  // never notified before: the run's length
  {
    absl::MutexLock lock(&contexts_mu_);
    stop_.Notify();
    for (grpc::ClientContext* ctx : open_contexts_) ctx->TryCancel();
  }
  absl::Duration ran = absl::Now() - started_;
  schedule.join();
  for (auto& t : threads) t.join();
  return Report(ran);
}

std::string Soak::Logs() {
  std::string all = ims_->log();
  for (auto& server : servers_) all += server->log();
  return all;
}

// RSS and open fds of every server: one line each, and whether all grew
// less than 10 % after the warm-up.
bool Soak::ReportMemory() {
  const absl::Duration warm_up = c_.run() * c_.warm_up;
  const absl::Duration window = (c_.run() - warm_up) / 2;
  bool ok = true;
  std::string csv;
  for (auto& series : series_) {
    csv += series->Csv();
    Growth rss = series->Rss(warm_up, window), fds = series->Fds(warm_up, window);
    bool good = rss.baseline > 0 && rss.ratio() < 0.10 && fds.ratio() < 0.10;
    ok = ok && good;
    std::printf(
        "   %s\n     growth after the %.0f s warm-up: RSS %+.1f %% (%.0f -> %.0f KiB), "
        "fds (earlier median -> later floor) %+.1f %% (%.0f -> %.0f)  (must be < 10 %%)%s\n",
        series->Describe().c_str(), absl::ToDoubleSeconds(warm_up), 100 * rss.ratio(), rss.baseline,
        rss.peak, 100 * fds.ratio(), fds.baseline, fds.peak, good ? "" : "  FAIL");
  }
  if (!absl::GetFlag(FLAGS_samples_out).empty()) {
    testing::WriteFile(absl::GetFlag(FLAGS_samples_out), csv);
  }
  return ok;
}

// Fault-free minimum of successful exchanges: each integration mints once,
// then again each time refresh_at of its lifetime L has passed at the latest
// (the jitter only refreshes earlier), over the run T: 1 + floor(T / (0.75 L)).
// With the jitter's mean (refresh at 0.70 L) a fault-free run expects
// 1 + T / (0.70 L).
int Soak::Report(absl::Duration ran) {
  nlohmann::json stats = ims_->Stats();
  int64_t exchanges = stats.value("total_exchanges", int64_t{0});
  int64_t requests = stats.value("token_requests", int64_t{0});
  int64_t faults = stats.value("faults_injected", int64_t{0});
  double t = absl::ToDoubleSeconds(ran), minimum = 0, expected = 0;
  for (int i = 0; i < c_.integrations; ++i) {
    minimum += 1 + std::floor(t / (kRefreshAt * c_.Lifetime(i)));
    expected += 1 + t / ((kRefreshAt - kRefreshJitter / 2) * c_.Lifetime(i));
  }
  std::string logs = Logs();
  if (!absl::GetFlag(FLAGS_logs_out).empty())
    testing::WriteFile(absl::GetFlag(FLAGS_logs_out), logs);
  bool leaked = absl::StrContains(logs, kSecret) ||
                (postgres_ != nullptr && absl::StrContains(logs, postgres_->password()));
  int64_t calls = ledger_.calls();
  int64_t failed = ledger_.failed_while_valid() + ledger_.failed_no_valid_token();
  std::printf(
      "\n== soak: %s, %d server(s), %d integrations (token lifetimes %d-%d s), %d callers at "
      "%.0f calls/s, %d watchers, %.0f s\n"
      "   fault mix per token request: 10 %% 500, 15 %% 503, 10 %% 429 (Retry-After 2 s), 5 %% "
      "hang %.0f s (server --ims-timeout %s), 5 %% TCP reset, 3 %% malformed 200, 2 %% slow "
      "%.1f s\n%s",
      c_.postgres ? "PostgreSQL" : "SQLite", c_.replicas, c_.integrations, c_.min_lifetime,
      c_.max_lifetime, c_.callers, c_.rate, c_.watchers, t,
      absl::ToDoubleSeconds(c_.ims_timeout + absl::Seconds(2)),
      absl::FormatDuration(c_.ims_timeout).c_str(), absl::ToDoubleSeconds(c_.ims_timeout / 2),
      schedule_log_.c_str());
  std::printf(
      "   calls                                      %lld (answered %lld, failed %lld; retried "
      "on another replica %lld)\n"
      "   expired tokens returned                    %lld  (must be 0; least validity left on a "
      "received token %lld ms)\n"
      "   failed while a token valid > 5 s existed   %lld  (must be 0)\n"
      "   failed, no valid token could exist         %lld\n"
      "   watch: tokens received %lld, streams ended and reopened %lld\n"
      "   IMS exchanges (emulator, successful)       %lld; fault-free minimum %.0f, ratio %.2f "
      "(expected fault-free %.0f)\n"
      "   IMS token requests (all, faults included)  %lld, faults injected %lld\n"
      "   secret or database password in any log     %s  (must be no)\n",
      static_cast<long long>(calls), static_cast<long long>(calls - failed),
      static_cast<long long>(failed), static_cast<long long>(retried_elsewhere_.load()),
      static_cast<long long>(ledger_.expired()), static_cast<long long>(ledger_.least_left_ms()),
      static_cast<long long>(ledger_.failed_while_valid()),
      static_cast<long long>(ledger_.failed_no_valid_token()),
      static_cast<long long>(watch_tokens_.load()), static_cast<long long>(watch_ends_.load()),
      static_cast<long long>(exchanges), minimum, exchanges / minimum, expected,
      static_cast<long long>(requests), static_cast<long long>(faults), leaked ? "YES" : "no");
  std::printf("%s", ledger_.FailureSummary().c_str());
  bool memory_ok = ReportMemory();
  bool ok = memory_ok && !leaked && ledger_.expired() == 0 && ledger_.failed_while_valid() == 0 &&
            calls > 0 && 2 * failed < calls && schedule_log_.find("FAILED") == std::string::npos;
  std::printf("   verdict: %s\n", ok ? "PASS" : "FAIL");
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tokenbroker::soak

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The fault soak: the real tokenbroker (SQLite, or replicas on PostgreSQL), the IMS "
      "emulator injecting faults, and a fleet of clients. Usage: tokenbroker-soak --seconds=600 "
      "[--store=postgres]\nFlag names may be written with dashes or underscores.");
  std::vector<std::string> storage;
  std::vector<char*> args = tokenbroker::NormalizeFlagNames(argc, argv, &storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  tokenbroker::soak::Config config = tokenbroker::soak::FromFlags();
  if (config.seconds < 10 || config.integrations < 1 || config.callers < 1 || config.rate <= 0 ||
      config.min_lifetime < 5 || config.max_lifetime < config.min_lifetime) {
    std::fprintf(stderr, "tokenbroker-soak: invalid flags (see --help)\n");
    return 2;
  }
  tokenbroker::soak::Soak soak(config);
  absl::Time setup = absl::Now();
  absl::Status status = soak.SetUp();
  if (!status.ok()) {
    std::fprintf(stderr, "tokenbroker-soak: setup failed: %s\n", status.ToString().c_str());
    return 2;
  }
  std::printf("tokenbroker-soak: set up in %.1f s, running %d s\n",
              absl::ToDoubleSeconds(absl::Now() - setup), config.seconds);
  std::fflush(stdout);
  return soak.Run();
}
