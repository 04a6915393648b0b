// Which integration's token an ext_authz Check injects when neither Envoy's
// route (a context extension) nor the request (a header) names one: a table
// of host and path prefix -> integration, from --ext-authz-routes.
#ifndef TOKENBROKER_SERVER_EDGE_ROUTE_TABLE_H_
#define TOKENBROKER_SERVER_EDGE_ROUTE_TABLE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokenbroker {

// One row: requests to `host` whose path starts with `path_prefix` get the
// token of `integration`.
struct ExtAuthzRoute {
  // "api.example.com" (exact, case-insensitive), "*.example.com" (any name
  // ending in ".example.com") or "*" (any host).
  std::string host;
  std::string path_prefix;  // starts with '/'; default "/"
  std::string integration;  // an integration id
};

// The parsed file. The file is a JSON array of
//   {"host": "...", "path_prefix": "/...", "integration": "..."}
// and a request matches the row with the longest matching path prefix; on a
// tie an exact host beats a "*.suffix" glob (the longer suffix first), which
// beats "*". Immutable, so thread-safe.
class RouteTable {
 public:
  // Errors: INVALID_ARGUMENT naming the row and field (not JSON, not an
  // array, a missing or malformed field, the same host and prefix twice).
  static absl::StatusOr<RouteTable> Parse(absl::string_view json);
  // As Parse; NOT_FOUND when `path` cannot be read.
  static absl::StatusOr<RouteTable> LoadFromFile(const std::string& path);

  // The integration for a request to `host` (a port is ignored) and `path`
  // (the query string is ignored); nullopt when no row matches.
  std::optional<std::string> Match(absl::string_view host, absl::string_view path) const;
  size_t size() const { return routes_.size(); }

 private:
  std::vector<ExtAuthzRoute> routes_;  // most specific first
};

// A RouteTable read from a file and re-read when the file changes (like the
// policy file): an invalid new file is logged as an error and the last valid
// table stays. Thread-safe: Match takes no lock (an atomic shared_ptr).
class ReloadingRouteTable {
 public:
  // Errors: those of RouteTable::LoadFromFile (the server does not start).
  static absl::StatusOr<std::unique_ptr<ReloadingRouteTable>> FromFile(const std::string& path);
  ~ReloadingRouteTable();

  std::optional<std::string> Match(absl::string_view host, absl::string_view path) const;

  // Re-reads the file now. Returns the load error (the old table stays).
  absl::Status Reload();
  // Starts/stops a thread that checks the file every `interval` and reloads
  // it when its signature (inode, size, mtime) changed.
  void StartReloading(absl::Duration interval);
  void Stop();

 private:
  explicit ReloadingRouteTable(std::string path) : path_(std::move(path)) {}
  const std::string path_;
  std::atomic<std::shared_ptr<const RouteTable>> table_;
  absl::Mutex mu_;
  std::string file_signature_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reloader_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_EDGE_ROUTE_TABLE_H_
