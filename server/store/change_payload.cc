#include "server/store/change_payload.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "server/store/stored_record.h"

namespace tokenbroker::internal {
namespace {

constexpr char kKindToken[] = "token";
constexpr char kKindIntegration[] = "integration";

}  // namespace

std::string EncodeChangePayload(const StoreChange& change, absl::string_view origin) {
  nlohmann::json payload = {
      {"v", 1},
      {"kind", change.kind == StoreChange::Kind::kToken ? kKindToken : kKindIntegration},
      {"id", change.id},
      {"origin", std::string(origin)},
  };
  if (change.kind == StoreChange::Kind::kToken) {
    std::optional<int64_t> expire = TimeToColumn(change.token_expire_time);
    payload["expire_time_ns"] = expire.has_value() ? nlohmann::json(*expire) : nlohmann::json();
  }
  if (change.deleted) payload["deleted"] = true;
  // Ids are UTF-8 (validated by the API); replace anything else rather than throw.
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<ReceivedChange> DecodeChangePayload(absl::string_view payload) {
  ReceivedChange received;
  StoreChange& change = received.change;
  if (absl::StartsWith(payload, "t:") || absl::StartsWith(payload, "i:")) {
    change.kind = payload[0] == 't' ? StoreChange::Kind::kToken : StoreChange::Kind::kIntegration;
    change.id = std::string(payload.substr(2));
    if (change.id.empty()) return std::nullopt;
    return received;
  }
  nlohmann::json json = nlohmann::json::parse(payload.begin(), payload.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  auto text = [&json](const char* key) -> std::string {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string kind = text("kind");
  if (kind == kKindToken) {
    change.kind = StoreChange::Kind::kToken;
  } else if (kind == kKindIntegration) {
    change.kind = StoreChange::Kind::kIntegration;
  } else {
    return std::nullopt;
  }
  change.id = text("id");
  if (change.id.empty()) return std::nullopt;
  received.origin = text("origin");
  if (auto it = json.find("expire_time_ns"); it != json.end() && it->is_number_integer()) {
    change.token_expire_time = TimeFromColumn(it->get<int64_t>());
  }
  if (auto it = json.find("deleted"); it != json.end() && it->is_boolean()) {
    change.deleted = it->get<bool>();
  }
  return received;
}

}  // namespace tokenbroker::internal
