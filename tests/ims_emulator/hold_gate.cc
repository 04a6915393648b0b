#include "tests/ims_emulator/hold_gate.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tokenbroker::emulator {
namespace {

using nlohmann::json;

constexpr std::array<HoldEndpoint, 4> kEndpoints = {HoldEndpoint::kToken, HoldEndpoint::kList,
                                                    HoldEndpoint::kAdd, HoldEndpoint::kDelete};

std::optional<HoldEndpoint> EndpointNamed(absl::string_view name) {
  for (HoldEndpoint endpoint : kEndpoints) {
    if (HoldEndpointName(endpoint) == name) return endpoint;
  }
  return std::nullopt;
}

absl::Status FieldError(absl::string_view field, absl::string_view must) {
  return absl::InvalidArgumentError(absl::StrCat("hold: \"", field, "\" must ", must));
}

}  // namespace

absl::string_view HoldEndpointName(HoldEndpoint endpoint) {
  switch (endpoint) {
    case HoldEndpoint::kToken:
      return "token";
    case HoldEndpoint::kList:
      return "list";
    case HoldEndpoint::kAdd:
      return "add";
    case HoldEndpoint::kDelete:
      return "delete";
  }
  return "?";
}

absl::StatusOr<std::optional<HoldSpec>> ParseHoldSpec(absl::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("hold must be a JSON object");
  }
  if (doc.empty()) return std::optional<HoldSpec>();
  HoldSpec spec;
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    const json& value = item.value();
    if (key == "endpoint") {
      std::optional<HoldEndpoint> endpoint =
          value.is_string() ? EndpointNamed(value.get<std::string>()) : std::nullopt;
      if (!endpoint) return FieldError(key, "be one of \"token\", \"list\", \"add\", \"delete\"");
      spec.endpoint = *endpoint;
    } else if (key == "client") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return FieldError(key, "be a non-empty client id");
      }
      spec.client_id = value.get<std::string>();
    } else if (key == "nth") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000) {
        return FieldError(key, "be an integer in [1, 1000]");
      }
      spec.nth = value.get<int>();
    } else if (key == "after") {
      if (!value.is_boolean()) return FieldError(key, "be true or false");
      spec.after = value.get<bool>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("hold: unknown key \"", key, "\""));
    }
  }
  if (!doc.contains("endpoint")) return FieldError("endpoint", "be set");
  if (spec.client_id.empty()) return FieldError("client", "be set");
  return std::optional<HoldSpec>(std::move(spec));
}

void HoldGate::Set(std::optional<HoldSpec> spec) {
  absl::MutexLock lock(&mu_);
  spec_ = std::move(spec);
  ++generation_;  // releases the requests held under the previous hold
  seen_ = 0;
}

std::optional<HoldGate::Ticket> HoldGate::Arrive(HoldEndpoint endpoint,
                                                 absl::string_view client_id) {
  absl::MutexLock lock(&mu_);
  if (!spec_ || spec_->endpoint != endpoint || spec_->client_id != client_id) return std::nullopt;
  if (++seen_ != spec_->nth) return std::nullopt;
  return Ticket{spec_->after, generation_};
}

void HoldGate::Block(const Ticket& ticket) {
  absl::MutexLock lock(&mu_);
  ++held_now_;
  ++held_total_;
  auto released = [this, &ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return generation_ != ticket.generation;
  };
  mu_.AwaitWithTimeout(absl::Condition(&released), timeout_);
  --held_now_;
}

int HoldGate::held_now() const {
  absl::MutexLock lock(&mu_);
  return held_now_;
}

json HoldGate::Status() const {
  absl::MutexLock lock(&mu_);
  json hold = nullptr;
  if (spec_) {
    hold = {{"endpoint", HoldEndpointName(spec_->endpoint)},
            {"client", spec_->client_id},
            {"nth", spec_->nth},
            {"after", spec_->after}};
  }
  return {{"hold", hold}, {"held_now", held_now_}, {"held_total", held_total_}, {"seen", seen_}};
}

}  // namespace tokenbroker::emulator
