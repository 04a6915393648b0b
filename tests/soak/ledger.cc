#include "tests/soak/ledger.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace tokenbroker::soak {
namespace {

bool StringInt(const nlohmann::json& doc, const char* key, int64_t* out) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() && absl::SimpleAtoi(it->get<std::string>(), out);
}

void StoreMax(std::atomic<int64_t>& slot, int64_t value) {
  int64_t seen = slot.load();
  while (value > seen && !slot.compare_exchange_weak(seen, value)) {
  }
}

void StoreMin(std::atomic<int64_t>& slot, int64_t value) {
  int64_t seen = slot.load();
  while (value < seen && !slot.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

absl::Time ClaimedExpiry(const std::string& access_token) {
  std::vector<std::string> parts = absl::StrSplit(access_token, '.');
  std::string payload;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[1], &payload)) {
    return absl::InfiniteFuture();
  }
  nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  int64_t created_ms = 0, expires_in_ms = 0;
  if (!doc.is_object() || !StringInt(doc, "created_at", &created_ms) ||
      !StringInt(doc, "expires_in", &expires_in_ms)) {
    return absl::InfiniteFuture();
  }
  return absl::FromUnixMillis(created_ms + expires_in_ms);
}

absl::Time Expiry(const v1::AccessToken& token) {
  absl::Time reported = absl::FromUnixSeconds(token.expire_time().seconds()) +
                        absl::Nanoseconds(token.expire_time().nanos());
  return std::min(reported, ClaimedExpiry(token.access_token()));
}

Ledger::Ledger(int integrations) : best_expiry_ms_(integrations) {
  for (auto& slot : best_expiry_ms_) slot.store(0);
}

bool Ledger::Received(int index, const v1::AccessToken& token, absl::Time now) {
  absl::Time expiry = Expiry(token);
  int64_t left_ms = absl::ToInt64Milliseconds(expiry - now);
  StoreMin(least_left_ms_, left_ms);
  if (left_ms <= 0) {
    ++expired_;
    return false;
  }
  StoreMax(best_expiry_ms_[index], absl::ToUnixMillis(expiry));
  return true;
}

void Ledger::Failed(int index, absl::Time now, const std::string& what) {
  absl::Time best = absl::FromUnixMillis(best_expiry_ms_[index].load());
  bool while_valid = best - now > kValidMargin;
  ++(while_valid ? failed_while_valid_ : failed_no_valid_);
  absl::MutexLock lock(&mu_);
  if (while_valid) {  // rare: each with its integration, time and the validity left
    ++reasons_[absl::StrCat("while-valid: ", what, " [integration #", index, " at ",
                            absl::FormatTime("%H:%M:%E3S", now, absl::UTCTimeZone()),
                            ", a received token had ", absl::FormatDuration(best - now), " left]")];
    return;
  }
  ++reasons_[absl::StrCat("no-valid-token: ", what)];
}

std::string Ledger::FailureSummary() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [reason, count] : reasons_) {
    absl::StrAppend(&out, "   failure x", count, ": ", reason, "\n");
  }
  return out;
}

}  // namespace tokenbroker::soak
