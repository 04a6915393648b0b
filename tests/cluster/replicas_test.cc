// The cluster proof: 3 tokenbroker processes on 1 PostgreSQL and the IMS
// emulator. 200 integrations with short token lifetimes, 16 clients spread
// over the replicas for 60 s, one replica SIGKILLed and restarted every 15 s.
// Zero expired tokens; zero failed calls for clients that retry on another
// replica; upstream exchanges at most 1.1x one per integration per rotation.
//
// Sizes can be overridden for a longer soak: TOKENBROKER_SOAK_SECONDS,
// TOKENBROKER_SOAK_INTEGRATIONS, TOKENBROKER_SOAK_TOKEN_SECONDS.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres.h"
#include "tests/testing/stack.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "CLUSTER-SECRET-7a41c9";

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int parsed;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) && parsed > 0 ? parsed : fallback;
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// Sum of a metric's samples whose line starts with `prefix`.
double SumSamples(const std::string& text, const std::string& prefix) {
  double sum = 0;
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      size_t space = text.find(' ', at);
      size_t end = text.find('\n', space);
      double value;
      if (absl::SimpleAtod(text.substr(space + 1, end - space - 1), &value)) sum += value;
    }
    at += prefix.size();
  }
  return sum;
}

// The replicas: each slot holds a running process; a killed one is replaced.
class Cluster {
 public:
  explicit Cluster(std::vector<std::string> flags) : flags_(std::move(flags)) {}

  absl::Status Start(int index) {
    std::vector<std::string> flags = flags_;
    flags.push_back(absl::StrCat("--replica-id=replica-", index, "-", ++starts_));
    flags.push_back("--metrics-listen=127.0.0.1:0");
    auto process = BrokerProcess::Start(flags);
    if (!process.ok()) return process.status();
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(replicas_.size()) <= index) replicas_.resize(index + 1);
    replicas_[index] = std::shared_ptr<BrokerProcess>(std::move(*process));
    return absl::OkStatus();
  }
  // SIGKILL, and the slot is empty until Start(index) again.
  void Kill(int index) {
    std::shared_ptr<BrokerProcess> victim;
    {
      absl::MutexLock lock(&mu_);
      victim = replicas_[index];
      replicas_[index] = nullptr;
    }
    logs_ += victim->log();
    victim->process()->Stop(SIGKILL);
  }
  std::shared_ptr<BrokerProcess> Get(int index) {
    absl::MutexLock lock(&mu_);
    return replicas_[index % replicas_.size()];
  }
  int size() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(replicas_.size());
  }
  std::string Metrics(int index) {
    std::shared_ptr<BrokerProcess> replica = Get(index);
    std::smatch match;
    std::string log = replica->log();
    if (!std::regex_search(log, match,
                           std::regex(R"re("msg":"metrics serving".*"port":"(\d+)")re"))) {
      return "";
    }
    httplib::Client client("127.0.0.1", std::stoi(match[1]));
    auto response = client.Get("/metrics");
    return response ? response->body : "";
  }
  std::string Logs() {
    std::string all = logs_;
    absl::MutexLock lock(&mu_);
    for (auto& replica : replicas_) {
      if (replica != nullptr) all += replica->log();
    }
    return all;
  }

 private:
  const std::vector<std::string> flags_;
  int starts_ = 0;
  std::string logs_;  // of killed replicas
  absl::Mutex mu_;
  std::vector<std::shared_ptr<BrokerProcess>> replicas_ ABSL_GUARDED_BY(mu_);
};

struct Tally {
  std::atomic<int64_t> calls{0};    // answered calls
  std::atomic<int64_t> retried{0};  // attempts that failed and moved on
  std::atomic<int64_t> failed{0};   // calls no replica answered
  std::atomic<int64_t> expired{0};  // tokens expired when received
  std::atomic<int64_t> min_left_ms{INT64_MAX};
  absl::Mutex mu;
  std::map<std::string, int> errors ABSL_GUARDED_BY(mu);  // by code and message
};

TEST(ReplicasTest, ThreeReplicasShareOneRefreshAndSurviveKills) {
  const int kIntegrations = EnvInt("TOKENBROKER_SOAK_INTEGRATIONS", 200);
  const absl::Duration kRun = absl::Seconds(EnvInt("TOKENBROKER_SOAK_SECONDS", 60));
  const int kTokenSeconds = EnvInt("TOKENBROKER_SOAK_TOKEN_SECONDS", 12);
  constexpr int kReplicas = 3;
  constexpr int kClients = 16;
  const absl::Duration kKillEvery = absl::Seconds(15);

  auto postgres = PostgresServer::Start();
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  auto database = (*postgres)->CreateFreshDatabase();
  ASSERT_TRUE(database.ok()) << database.status();

  std::vector<nlohmann::json> clients;
  for (int i = 0; i < kIntegrations; ++i) {
    clients.push_back({{"client_id", absl::StrCat("client-", i)},
                       {"client_secrets", {kSecret}},
                       {"org_id", "ORG1@AdobeOrg"},
                       {"scopes", {"openid", "AdobeID"}},
                       {"token_lifetime_seconds", kTokenSeconds}});
  }
  // Every open keep-alive connection holds an emulator thread: 3 replicas'
  // pools plus the restarted ones'.
  auto ims = ImsEmulatorProcess::Start(clients, {"--threads=96"});
  ASSERT_TRUE(ims.ok()) << ims.status();

  TempDir dir;
  std::string keyring = dir.File("keyring.json");
  CommandResult created =
      RunCommand({BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + keyring});
  ASSERT_EQ(created.exit_code, 0) << created.err;

  Cluster cluster({"--store=" + (*postgres)->dsn(*database), "--kek-file=" + keyring,
                   "--ims-url=" + (*ims)->url(), "--ims-ca-file=" + (*ims)->ca_file(),
                   std::getenv("SOAK_DEBUG") ? "--log-level=debug" : "--log-level=info"});
  for (int r = 0; r < kReplicas; ++r) ASSERT_TRUE(cluster.Start(r).ok());

  for (int i = 0; i < kIntegrations; ++i) {
    grpc::ClientContext ctx;
    v1::CreateIntegrationResponse response;
    grpc::Status status = cluster.Get(i)->integrations()->CreateIntegration(
        &ctx, OAuthIntegration(absl::StrCat("app-", i), absl::StrCat("client-", i), kSecret, ""),
        &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  Tally tally;
  std::atomic<bool> stop{false};
  absl::Time started = absl::Now();
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(c);
      std::uniform_int_distribution<int> pick(0, kIntegrations - 1);
      while (!stop.load()) {
        std::string name = absl::StrCat("integrations/app-", pick(rng));
        bool answered = false;
        // A client that retries on another replica: each replica in turn,
        // twice round, with a short pause between rounds.
        for (int attempt = 0; attempt < 2 * kReplicas && !answered; ++attempt) {
          std::shared_ptr<BrokerProcess> replica = cluster.Get(c + attempt);
          if (replica == nullptr) {
            ++tally.retried;
            continue;
          }
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          v1::GetAccessTokenRequest request;
          request.set_name(name);
          v1::GetAccessTokenResponse response;
          grpc::Status status = replica->tokens()->GetAccessToken(&ctx, request, &response);
          if (!status.ok()) {
            ++tally.retried;
            {
              absl::MutexLock lock(&tally.mu);
              ++tally.errors[absl::StrCat("at ", absl::ToInt64Seconds(absl::Now() - started), "s ",
                                          name, " replica ", (c + attempt) % kReplicas, ": ",
                                          status.error_code(), " ",
                                          status.error_message().substr(0, 80))];
            }
            // A client's back-off once every replica failed (as an SDK would).
            if (attempt + 1 == kReplicas) absl::SleepFor(absl::Milliseconds(200));
            continue;
          }
          answered = true;
          ++tally.calls;
          int64_t left =
              absl::ToInt64Milliseconds(ToTime(response.token().expire_time()) - absl::Now());
          if (left <= 0) ++tally.expired;
          int64_t seen = tally.min_left_ms.load();
          while (left < seen && !tally.min_left_ms.compare_exchange_weak(seen, left)) {
          }
        }
        if (!answered) ++tally.failed;
      }
    });
  }

  // Kill one replica every 15 s (round robin) and start it again.
  int kills = 0;
  // The kill schedule and the run's length are the scenario, not synchronization.
  for (absl::Time next = started + kKillEvery; next < started + kRun; next += kKillEvery) {
    absl::SleepFor(next - absl::Now());
    int victim = kills % kReplicas;
    cluster.Kill(victim);
    ++kills;
    absl::Status restarted = cluster.Start(victim);
    ASSERT_TRUE(restarted.ok()) << restarted;
  }
  absl::SleepFor(started + kRun - absl::Now());
  stop = true;
  for (auto& t : threads) t.join();
  absl::Duration ran = absl::Now() - started;

  // One exchange per integration per rotation window. The emulator counts
  // exchanges; the replicas' logs say when each was made. Two tokens of one
  // integration minted less than half a rotation window apart (a rotation
  // window is at least (0.75 - 0.10) lifetimes) mean two replicas minted for
  // the same window: the second one is redundant.
  nlohmann::json stats = (*ims)->Stats();
  int64_t exchanges = 0;
  for (auto& [client, count] : stats["exchanges"].items()) exchanges += count.get<int64_t>();
  std::map<std::string, std::vector<absl::Time>> minted;
  {
    std::string logs = cluster.Logs();
    std::regex line(
        R"re(\{"time":"([^"]+)","level":"info","msg":"IMS exchange succeeded","integration":"([^"]+)")re");
    for (auto it = std::sregex_iterator(logs.begin(), logs.end(), line);
         it != std::sregex_iterator(); ++it) {
      absl::Time at;
      std::string error;
      if (absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*SZ", (*it)[1].str(), &at, &error)) {
        minted[(*it)[2].str()].push_back(at);
      }
    }
  }
  int64_t logged = 0, redundant = 0;
  const absl::Duration kHalfWindow = absl::Seconds(0.65 * kTokenSeconds / 2);
  for (auto& [id, times] : minted) {
    std::sort(times.begin(), times.end());
    logged += static_cast<int64_t>(times.size());
    for (size_t i = 1; i < times.size(); ++i) redundant += times[i] - times[i - 1] < kHalfWindow;
  }
  int64_t needed = exchanges - redundant;
  double windows = absl::ToDoubleSeconds(ran) / (0.70 * kTokenSeconds);
  double ideal = kIntegrations * (1.0 + windows);
  double adopted = 0, lease_busy = 0, lease_errors = 0;
  for (int r = 0; r < kReplicas; ++r) {
    std::string text = cluster.Metrics(r);
    adopted += SumSamples(text, "tokenbroker_replica_events_total{event=\"adopted\"}");
    lease_busy += SumSamples(text, "tokenbroker_replica_events_total{event=\"lease_busy\"}");
    lease_errors += SumSamples(text, "tokenbroker_replica_events_total{event=\"lease_error\"}");
  }

  std::printf(
      "\n== cluster proof: %d replicas, 1 PostgreSQL, %d integrations, %d s tokens, %d clients, "
      "%.1f s, %d kills (SIGKILL + restart)\n"
      "   calls answered %lld, attempts retried on another replica %lld, failed calls %lld\n"
      "   expired tokens %lld, least validity left on a served token %lld ms\n"
      "   IMS exchanges %lld (logged %lld), redundant %lld, ratio to one per integration per "
      "window %.3f (theory: %.0f = 1 + %.2f mean windows each)\n"
      "   since the last restarts: tokens adopted from other replicas %.0f, lease busy %.0f, "
      "lease errors %.0f\n",
      kReplicas, kIntegrations, kTokenSeconds, kClients, absl::ToDoubleSeconds(ran), kills,
      static_cast<long long>(tally.calls.load()), static_cast<long long>(tally.retried.load()),
      static_cast<long long>(tally.failed.load()), static_cast<long long>(tally.expired.load()),
      static_cast<long long>(tally.min_left_ms.load()), static_cast<long long>(exchanges),
      static_cast<long long>(logged), static_cast<long long>(redundant),
      static_cast<double>(exchanges) / static_cast<double>(needed), ideal, windows, adopted,
      lease_busy, lease_errors);

  {
    absl::MutexLock lock(&tally.mu);
    for (auto& [error, count] : tally.errors)
      std::printf("   error x%d: %s\n", count, error.c_str());
  }
  EXPECT_GT(tally.calls.load(), 1000);
  EXPECT_EQ(tally.failed.load(), 0);
  EXPECT_EQ(tally.expired.load(), 0);
  EXPECT_EQ(logged, exchanges) << "every exchange is in the replicas' logs";
  EXPECT_LE(exchanges, 1.1 * needed);
  EXPECT_LE(exchanges, 1.1 * ideal);
  EXPECT_GE(exchanges, kIntegrations);
  EXPECT_GT(adopted, 0);
  std::string logs = cluster.Logs();
  if (std::getenv("SOAK_DEBUG")) {
    FILE* f = std::fopen("/tmp/soak-logs.txt", "w");
    std::fwrite(logs.data(), 1, logs.size(), f);
    std::fclose(f);
  }
  EXPECT_THAT(logs, Not(HasSubstr(kSecret)));
  EXPECT_THAT(logs, Not(HasSubstr((*postgres)->password())));
}

}  // namespace
}  // namespace tokenbroker::testing

namespace tokenbroker::testing {
namespace {

std::string Health(const BrokerProcess& broker, const std::string& service) {
  CommandResult r = RunCommand({BinDir() + "/tokenctl", "--server=" + broker.address(),
                                "--plaintext", "health", "--service=" + service});
  return r.out.substr(0, r.out.find('\n'));
}

// Polls `tokenctl health --service=readiness` until it prints `want`.
bool AwaitReadiness(const BrokerProcess& broker, const std::string& want, absl::Duration timeout) {
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;) {
    if (Health(broker, "readiness") == want) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

TEST(ReplicasTest, ReadinessFollowsTheDatabaseWhileCachedTokensKeepBeingServed) {
  auto postgres = PostgresServer::Start();
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  auto database = (*postgres)->CreateFreshDatabase();
  ASSERT_TRUE(database.ok()) << database.status();
  auto ims = ImsEmulatorProcess::Start({{{"client_id", "client-r"},
                                         {"client_secrets", {kSecret}},
                                         {"org_id", "ORG1@AdobeOrg"},
                                         {"scopes", {"openid", "AdobeID"}}}});
  ASSERT_TRUE(ims.ok()) << ims.status();
  TempDir dir;
  std::string keyring = dir.File("keyring.json");
  ASSERT_EQ(RunCommand({BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + keyring})
                .exit_code,
            0);
  std::string dsn_file = dir.File("dsn");
  {
    std::ofstream out(dsn_file);
    out << (*postgres)->dsn(*database) << "\n";
  }
  auto broker =
      BrokerProcess::Start({"--store=postgres", "--store-dsn-file=" + dsn_file,
                            "--kek-file=" + keyring, "--ims-url=" + (*ims)->url(),
                            "--ims-ca-file=" + (*ims)->ca_file(), "--readiness-interval=200ms"});
  ASSERT_TRUE(broker.ok()) << broker.status();
  grpc::ClientContext create_ctx;
  v1::CreateIntegrationResponse created;
  ASSERT_TRUE(
      (*broker)
          ->integrations()
          ->CreateIntegration(&create_ctx, OAuthIntegration("r", "client-r", kSecret, ""), &created)
          .ok());
  auto get = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/r");
    v1::GetAccessTokenResponse response;
    return (*broker)->tokens()->GetAccessToken(&ctx, request, &response);
  };
  ASSERT_TRUE(get().ok());
  EXPECT_EQ(Health(**broker, "readiness"), "SERVING");

  ASSERT_TRUE((*postgres)->Stop().ok());
  EXPECT_TRUE(AwaitReadiness(**broker, "NOT_SERVING", absl::Seconds(10)));
  EXPECT_EQ(Health(**broker, "liveness"), "SERVING");
  grpc::Status cached = get();
  EXPECT_TRUE(cached.ok()) << "the cached token is served while the database is down: "
                           << cached.error_message();

  ASSERT_TRUE((*postgres)->Restart().ok());
  EXPECT_TRUE(AwaitReadiness(**broker, "SERVING", absl::Seconds(15))) << (*broker)->log();
  EXPECT_TRUE(get().ok());
  EXPECT_THAT((*broker)->log(), HasSubstr("not ready"));
  EXPECT_THAT((*broker)->log(), Not(HasSubstr((*postgres)->password())));
}

}  // namespace
}  // namespace tokenbroker::testing
