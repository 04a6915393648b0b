// What an operator watches: Prometheus metrics of the token path, IMS, the
// store and the replicas, served as text on --metrics-listen.
//
// Hot paths stay cheap: counters of every (method, code) pair are created up
// front and found without a lock; per-integration gauges and the cache
// counters are read from their owners only when Prometheus scrapes.
#ifndef TOKENBROKER_SERVER_METRICS_METRICS_H_
#define TOKENBROKER_SERVER_METRICS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/broker/broker_observer.h"

namespace tokenbroker {

// The client-secret facts of one integration (the rotation scheduler's last
// reading). InfinitePast: unknown / never.
struct ClientSecretSample {
  std::string integration;
  absl::Time oldest_secret_time = absl::InfinitePast();
  absl::Time last_rotation_time = absl::InfinitePast();
};

// The rotation scheduler's last reading, and how many passes it finished.
struct ClientSecretReading {
  int64_t checks = 0;
  std::vector<ClientSecretSample> samples;
};

// Thread-safe. The broker reports to it as its BrokerObserver.
class Metrics final : public BrokerObserver {
 public:
  // `rpc_methods`: full gRPC method names the API records.
  explicit Metrics(const std::vector<std::string>& rpc_methods);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished RPC. Unknown methods are counted as "other".
  void RecordRpc(absl::string_view method, absl::StatusCode code);
  // One IMS exchange (retries included) of `flow` ("oauth_s2s" or "jwt").
  void RecordImsExchange(absl::string_view flow, absl::Duration latency,
                         const absl::Status& result);
  // A token minted (ok) or a failed attempt, by trigger; failures by reason
  // (the ErrorInfo reason, else the status code).
  void RecordRefresh(RefreshTrigger trigger, const absl::Status& result);
  // A store call that failed, by operation and code.
  void RecordStoreError(absl::string_view operation, absl::StatusCode code);
  // Replica cooperation: "adopted" (a token another replica minted),
  // "lease_busy" (another replica is minting), "lease_error".
  void RecordReplicaEvent(absl::string_view event);
  void SetReady(bool ready);
  // A scheduled client-secret rotation attempt: "done", "waiting", "failed".
  void RecordSecretRotation(absl::string_view result);

  // BrokerObserver.
  void OnImsExchange(absl::string_view flow, absl::Duration latency,
                     const absl::Status& result) override {
    RecordImsExchange(flow, latency, result);
  }
  void OnRefresh(RefreshTrigger trigger, const absl::Status& result) override {
    RecordRefresh(trigger, result);
  }
  void OnReplicaEvent(absl::string_view event) override { RecordReplicaEvent(event); }
  // Called at every scrape for the cache counters and per-token gauges.
  void SetCacheSource(std::function<CacheSample()> source);
  // Called at every scrape for the per-integration client-secret gauges.
  void SetClientSecretSource(std::function<ClientSecretReading()> source);

  // The exposition text, as GET /metrics answers it.
  std::string Render() const;

 private:
  friend class MetricsHttpServer;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GET /metrics over HTTP on its own port.
class MetricsHttpServer {
 public:
  // `address` is host:port (port 0 picks one). `metrics` must outlive it.
  // Errors: UNAVAILABLE (cannot listen).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                                  Metrics* metrics);
  ~MetricsHttpServer();
  int port() const { return port_; }

 private:
  struct Impl;
  MetricsHttpServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_METRICS_METRICS_H_
