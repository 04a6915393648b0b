#include "server/edge/route_table.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/api/convert.h"
#include "server/common/file_signature.h"
#include "server/common/log.h"
#include "server/common/quote.h"

namespace tokenbroker {
namespace {

// How specific a host pattern is: exact > "*.suffix" (longer first) > "*".
int HostRank(const std::string& host) {
  if (host == "*") return 0;
  if (absl::StartsWith(host, "*.")) return 1 + static_cast<int>(host.size());
  return 1 << 20;
}

// "API.example.com:8443" -> "api.example.com"; "[::1]:80" -> "[::1]".
std::string NormalizeHost(absl::string_view host) {
  if (absl::StartsWith(host, "[")) {
    size_t end = host.find(']');
    if (end != absl::string_view::npos) host = host.substr(0, end + 1);
  } else if (size_t colon = host.find(':'); colon != absl::string_view::npos &&
                                            host.find(':', colon + 1) == absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (absl::EndsWith(host, ".")) host.remove_suffix(1);
  return absl::AsciiStrToLower(host);
}

bool HostMatches(const std::string& pattern, const std::string& host) {
  if (pattern == "*") return true;
  if (absl::StartsWith(pattern, "*.")) {
    absl::string_view suffix = absl::string_view(pattern).substr(1);  // ".example.com"
    return host.size() > suffix.size() && absl::EndsWith(host, suffix);
  }
  return pattern == host;
}

absl::Status Bad(size_t row, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("routes[", row, "]: ", what));
}

absl::StatusOr<ExtAuthzRoute> ParseRoute(const nlohmann::json& entry, size_t row) {
  if (!entry.is_object()) return Bad(row, "must be an object {host, path_prefix, integration}");
  for (const auto& [key, value] : entry.items()) {
    if (key != "host" && key != "path_prefix" && key != "integration") {
      return Bad(row, absl::StrCat("unknown field ", QuoteInput(key),
                                   " (fields: host, path_prefix, integration)"));
    }
  }
  ExtAuthzRoute route;
  if (!entry.contains("host") || !entry["host"].is_string() ||
      entry["host"].get<std::string>().empty()) {
    return Bad(row, "needs a non-empty \"host\" (a name, \"*.example.com\" or \"*\")");
  }
  route.host = absl::AsciiStrToLower(entry["host"].get<std::string>());
  absl::string_view rest = absl::StartsWith(route.host, "*.")
                               ? absl::string_view(route.host).substr(2)
                               : absl::string_view(route.host);
  if (route.host != "*" && (rest.empty() || absl::StrContains(rest, '*'))) {
    return Bad(row, absl::StrCat("host ", QuoteInput(route.host),
                                 ": '*' is allowed only as \"*\" or a leading \"*.\""));
  }
  route.path_prefix = "/";
  if (entry.contains("path_prefix")) {
    if (!entry["path_prefix"].is_string() ||
        !absl::StartsWith(entry["path_prefix"].get<std::string>(), "/")) {
      return Bad(row, "path_prefix must be a string starting with '/'");
    }
    route.path_prefix = entry["path_prefix"].get<std::string>();
  }
  if (!entry.contains("integration") || !entry["integration"].is_string()) {
    return Bad(row, "needs \"integration\" (an integration id)");
  }
  route.integration = entry["integration"].get<std::string>();
  absl::Status id = ValidateIntegrationId(route.integration, "integration");
  if (!id.ok()) return Bad(row, id.message());
  return route;
}

}  // namespace

absl::StatusOr<RouteTable> RouteTable::Parse(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return absl::InvalidArgumentError(
        "routes: must be a JSON array of {\"host\", \"path_prefix\", \"integration\"}");
  }
  RouteTable table;
  for (size_t i = 0; i < doc.size(); ++i) {
    absl::StatusOr<ExtAuthzRoute> route = ParseRoute(doc[i], i);
    if (!route.ok()) return route.status();
    for (const ExtAuthzRoute& other : table.routes_) {
      if (other.host == route->host && other.path_prefix == route->path_prefix) {
        return Bad(i, absl::StrCat("host ", QuoteInput(route->host), " and path_prefix ",
                                   QuoteInput(route->path_prefix), " appear twice"));
      }
    }
    table.routes_.push_back(*std::move(route));
  }
  std::stable_sort(table.routes_.begin(), table.routes_.end(),
                   [](const ExtAuthzRoute& a, const ExtAuthzRoute& b) {
                     if (a.path_prefix.size() != b.path_prefix.size()) {
                       return a.path_prefix.size() > b.path_prefix.size();
                     }
                     return HostRank(a.host) > HostRank(b.host);
                   });
  return table;
}

absl::StatusOr<RouteTable> RouteTable::LoadFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("--ext-authz-routes file ", path, " cannot be read"));
  }
  std::stringstream content;
  content << in.rdbuf();
  absl::StatusOr<RouteTable> table = Parse(content.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", table.status().message()));
  }
  return table;
}

std::optional<std::string> RouteTable::Match(absl::string_view host, absl::string_view path) const {
  const std::string normalized = NormalizeHost(host);
  path = path.substr(0, path.find('?'));
  for (const ExtAuthzRoute& route : routes_) {
    if (absl::StartsWith(path, route.path_prefix) && HostMatches(route.host, normalized)) {
      return route.integration;
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<ReloadingRouteTable>> ReloadingRouteTable::FromFile(
    const std::string& path) {
  std::unique_ptr<ReloadingRouteTable> table(new ReloadingRouteTable(path));
  {
    absl::MutexLock lock(&table->mu_);
    table->file_signature_ = FileSignature(path);
  }
  absl::StatusOr<RouteTable> loaded = RouteTable::LoadFromFile(path);
  if (!loaded.ok()) return loaded.status();
  Log(LogLevel::kInfo, "ext_authz routes loaded",
      {{"ext_authz_routes", path}, {"routes", absl::StrCat(loaded->size())}});
  table->table_.store(std::make_shared<const RouteTable>(*std::move(loaded)));
  return table;
}

ReloadingRouteTable::~ReloadingRouteTable() { Stop(); }

std::optional<std::string> ReloadingRouteTable::Match(absl::string_view host,
                                                      absl::string_view path) const {
  return table_.load()->Match(host, path);
}

absl::Status ReloadingRouteTable::Reload() {
  absl::StatusOr<RouteTable> loaded = RouteTable::LoadFromFile(path_);
  if (!loaded.ok()) {
    Log(LogLevel::kError, "ext_authz routes file changed but is invalid; the previous routes stay",
        {{"ext_authz_routes", path_}, {"error", std::string(loaded.status().message())}});
    return loaded.status();
  }
  Log(LogLevel::kInfo, "ext_authz routes reloaded",
      {{"ext_authz_routes", path_}, {"routes", absl::StrCat(loaded->size())}});
  table_.store(std::make_shared<const RouteTable>(*std::move(loaded)));
  return absl::OkStatus();
}

void ReloadingRouteTable::StartReloading(absl::Duration interval) {
  if (reloader_.joinable()) return;
  reloader_ = std::thread([this, interval] {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval)) {
      std::string signature = FileSignature(path_);
      if (signature != file_signature_) {
        file_signature_ = signature;
        mu_.Unlock();
        (void)Reload();
        mu_.Lock();
      }
    }
  });
}

void ReloadingRouteTable::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (reloader_.joinable()) reloader_.join();
}

}  // namespace tokenbroker
