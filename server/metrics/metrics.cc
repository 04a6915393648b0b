#include "server/metrics/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/common/error_details.h"

namespace tokenbroker {
namespace {

constexpr int kCodes = 17;  // absl::StatusCode 0..16

std::string CodeName(absl::StatusCode code) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(code));
}

std::string FailureReason(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (info.has_value() && !info->reason().empty()) return absl::AsciiStrToLower(info->reason());
  return CodeName(status.code());
}

prometheus::MetricFamily CounterFamily(const char* name, const char* help, double value) {
  prometheus::MetricFamily family{name, help, prometheus::MetricType::Counter, {}};
  prometheus::ClientMetric metric;
  metric.counter.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

void AddCacheFamilies(const CacheSample& sample, absl::Time now,
                      std::vector<prometheus::MetricFamily>& families) {
  families.push_back(CounterFamily("tokenbroker_cache_hits_total",
                                   "Token requests answered from the cache.",
                                   static_cast<double>(sample.hits)));
  families.push_back(CounterFamily("tokenbroker_cache_misses_total",
                                   "Token requests that waited for the store or an exchange.",
                                   static_cast<double>(sample.misses)));
  prometheus::MetricFamily entries{"tokenbroker_cache_entries",
                                   "Integrations with a cache entry.",
                                   prometheus::MetricType::Gauge,
                                   {}};
  entries.metric.emplace_back();
  entries.metric.back().gauge.value = static_cast<double>(sample.entries);
  families.push_back(std::move(entries));
  prometheus::MetricFamily expiry{
      "tokenbroker_token_expiry_seconds",
      "Seconds until the cached token of each integration expires (negative: expired, "
      "will be re-minted before it is served).",
      prometheus::MetricType::Gauge,
      {}};
  for (auto& [id, expire] : sample.tokens) {
    prometheus::ClientMetric metric;
    metric.label.push_back({"integration", id});
    metric.gauge.value = absl::ToDoubleSeconds(expire - now);
    expiry.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(expiry));
}

// Integrations whose time is unknown have no sample in that family.
void AddSecretFamilies(const ClientSecretReading& reading, absl::Time now,
                       std::vector<prometheus::MetricFamily>& families) {
  families.push_back(CounterFamily("tokenbroker_secret_rotation_checks_total",
                                   "Passes of the client-secret rotation scheduler finished.",
                                   static_cast<double>(reading.checks)));
  prometheus::MetricFamily age{
      "tokenbroker_client_secret_oldest_age_seconds",
      "Seconds since the oldest client secret tokenbroker stores for each integration was "
      "stored (as of the last rotation check).",
      prometheus::MetricType::Gauge,
      {}};
  prometheus::MetricFamily rotated{
      "tokenbroker_client_secret_last_rotation_timestamp_seconds",
      "When each integration's client secret was last rotated (Unix time; integrations never "
      "rotated have no sample).",
      prometheus::MetricType::Gauge,
      {}};
  for (const ClientSecretSample& sample : reading.samples) {
    prometheus::ClientMetric metric;
    metric.label.push_back({"integration", sample.integration});
    if (sample.oldest_secret_time != absl::InfinitePast()) {
      metric.gauge.value = absl::ToDoubleSeconds(now - sample.oldest_secret_time);
      age.metric.push_back(metric);
    }
    if (sample.last_rotation_time != absl::InfinitePast()) {
      metric.gauge.value = absl::ToDoubleSeconds(sample.last_rotation_time - absl::UnixEpoch());
      rotated.metric.push_back(std::move(metric));
    }
  }
  families.push_back(std::move(age));
  families.push_back(std::move(rotated));
}

// Families whose samples are computed at scrape time.
class ScrapeCollectable final : public prometheus::Collectable {
 public:
  void set_source(std::function<CacheSample()> source) {
    absl::MutexLock lock(&mu_);
    source_ = std::move(source);
  }
  void set_secret_source(std::function<ClientSecretReading()> source) {
    absl::MutexLock lock(&mu_);
    secret_source_ = std::move(source);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::function<CacheSample()> source;
    std::function<ClientSecretReading()> secret_source;
    {
      absl::MutexLock lock(&mu_);
      source = source_;
      secret_source = secret_source_;
    }
    std::vector<prometheus::MetricFamily> families;
    const absl::Time now = absl::Now();
    if (source) AddCacheFamilies(source(), now, families);
    if (secret_source) AddSecretFamilies(secret_source(), now, families);
    return families;
  }

 private:
  mutable absl::Mutex mu_;
  std::function<CacheSample()> source_ ABSL_GUARDED_BY(mu_);
  std::function<ClientSecretReading()> secret_source_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ScrapeCollectable> scrape = std::make_shared<ScrapeCollectable>();

  prometheus::Family<prometheus::Counter>* rpcs = nullptr;
  std::vector<std::string> methods;  // index i: row i of rpc_counters; last row "other"
  std::vector<std::array<prometheus::Counter*, kCodes>> rpc_counters;

  prometheus::Family<prometheus::Histogram>* ims_latency = nullptr;
  prometheus::Family<prometheus::Counter>* ims_exchanges = nullptr;
  prometheus::Family<prometheus::Counter>* refreshes = nullptr;
  prometheus::Family<prometheus::Counter>* refresh_failures = nullptr;
  prometheus::Family<prometheus::Counter>* store_errors = nullptr;
  prometheus::Family<prometheus::Counter>* replica_events = nullptr;
  prometheus::Family<prometheus::Counter>* secret_rotations = nullptr;
  prometheus::Gauge* ready = nullptr;

  // Labelled children created on first use (rare events only).
  absl::Mutex mu;
  template <typename T, typename... Args>
  T& Child(prometheus::Family<T>* family, const prometheus::Labels& labels, Args&&... args) {
    absl::MutexLock lock(&mu);
    return family->Add(labels, std::forward<Args>(args)...);
  }
};

Metrics::Metrics(const std::vector<std::string>& rpc_methods) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  prometheus::Registry& r = *m.registry;
  m.rpcs = &prometheus::BuildCounter()
                .Name("tokenbroker_grpc_requests_total")
                .Help("Finished gRPC requests by method and status code.")
                .Register(r);
  m.methods = rpc_methods;
  m.methods.emplace_back("other");
  for (const std::string& method : m.methods) {
    std::array<prometheus::Counter*, kCodes> row{};
    for (int code = 0; code < kCodes; ++code) {
      row[code] = &m.rpcs->Add(
          {{"method", method}, {"code", CodeName(static_cast<absl::StatusCode>(code))}});
    }
    m.rpc_counters.push_back(row);
  }
  m.ims_latency = &prometheus::BuildHistogram()
                       .Name("tokenbroker_ims_exchange_duration_seconds")
                       .Help("Time of one IMS token exchange, retries included, by flow.")
                       .Register(r);
  m.ims_exchanges = &prometheus::BuildCounter()
                         .Name("tokenbroker_ims_exchanges_total")
                         .Help("IMS token exchanges by flow and result (ok or the reason).")
                         .Register(r);
  m.refreshes = &prometheus::BuildCounter()
                     .Name("tokenbroker_refreshes_total")
                     .Help("Tokens minted, by trigger (cold, scheduled, forced, invalidated).")
                     .Register(r);
  m.refresh_failures = &prometheus::BuildCounter()
                            .Name("tokenbroker_refresh_failures_total")
                            .Help("Failed token refreshes by trigger and reason.")
                            .Register(r);
  m.store_errors = &prometheus::BuildCounter()
                        .Name("tokenbroker_store_errors_total")
                        .Help("Credential store calls that failed, by operation and code.")
                        .Register(r);
  m.replica_events = &prometheus::BuildCounter()
                          .Name("tokenbroker_replica_events_total")
                          .Help(
                              "Replica cooperation: adopted (token minted by another replica), "
                              "lease_busy (another replica was minting), lease_error.")
                          .Register(r);
  m.secret_rotations = &prometheus::BuildCounter()
                            .Name("tokenbroker_secret_rotations_total")
                            .Help(
                                "Scheduled client-secret rotation attempts that did something, "
                                "by result: done, waiting (switched; the old secret waits for "
                                "its grace period), failed.")
                            .Register(r);
  m.ready = &prometheus::BuildGauge()
                 .Name("tokenbroker_ready")
                 .Help("1 when the server is ready (store reachable, keyring loaded), else 0.")
                 .Register(r)
                 .Add({});
}

Metrics::~Metrics() = default;

void Metrics::RecordRpc(absl::string_view method, absl::StatusCode code) {
  Impl& m = *impl_;
  size_t row = m.methods.size() - 1;
  for (size_t i = 0; i + 1 < m.methods.size(); ++i) {
    if (m.methods[i] == method) {
      row = i;
      break;
    }
  }
  int c = static_cast<int>(code);
  if (c < 0 || c >= kCodes) c = static_cast<int>(absl::StatusCode::kUnknown);
  m.rpc_counters[row][c]->Increment();
}

void Metrics::RecordImsExchange(absl::string_view flow, absl::Duration latency,
                                const absl::Status& result) {
  Impl& m = *impl_;
  static const auto* kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  std::string f(flow);
  m.Child(m.ims_latency, {{"flow", f}}, *kBuckets).Observe(absl::ToDoubleSeconds(latency));
  m.Child(m.ims_exchanges, {{"flow", f}, {"result", result.ok() ? "ok" : FailureReason(result)}})
      .Increment();
}

void Metrics::RecordRefresh(RefreshTrigger trigger, const absl::Status& result) {
  Impl& m = *impl_;
  std::string t(RefreshTriggerName(trigger));
  if (result.ok()) {
    m.Child(m.refreshes, {{"trigger", t}}).Increment();
  } else {
    m.Child(m.refresh_failures, {{"trigger", t}, {"reason", FailureReason(result)}}).Increment();
  }
}

void Metrics::RecordStoreError(absl::string_view operation, absl::StatusCode code) {
  Impl& m = *impl_;
  m.Child(m.store_errors, {{"operation", std::string(operation)}, {"code", CodeName(code)}})
      .Increment();
}

void Metrics::RecordReplicaEvent(absl::string_view event) {
  Impl& m = *impl_;
  m.Child(m.replica_events, {{"event", std::string(event)}}).Increment();
}

void Metrics::RecordSecretRotation(absl::string_view result) {
  Impl& m = *impl_;
  m.Child(m.secret_rotations, {{"result", std::string(result)}}).Increment();
}

void Metrics::SetClientSecretSource(std::function<ClientSecretReading()> source) {
  impl_->scrape->set_secret_source(std::move(source));
}

void Metrics::SetReady(bool ready) { impl_->ready->Set(ready ? 1 : 0); }

void Metrics::SetCacheSource(std::function<CacheSample()> source) {
  impl_->scrape->set_source(std::move(source));
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  for (auto& family : impl_->scrape->Collect()) families.push_back(std::move(family));
  return prometheus::TextSerializer().Serialize(families);
}

struct MetricsHttpServer::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
};

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, Metrics* metrics) {
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->impl_ = std::make_unique<Impl>();
  try {
    server->impl_->exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on --metrics-listen=", address, ": ", e.what()));
  }
  server->impl_->exposer->RegisterCollectable(metrics->impl_->registry);
  server->impl_->exposer->RegisterCollectable(metrics->impl_->scrape);
  std::vector<int> ports = server->impl_->exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on --metrics-listen=", address));
  }
  server->port_ = ports.front();
  return server;
}

MetricsHttpServer::~MetricsHttpServer() = default;

}  // namespace tokenbroker
