#include "server/broker/watch_hub.h"

#include <utility>

namespace tokenbroker {

uint64_t WatchHub::Subscribe(const std::string& id, TokenCallback on_token) {
  absl::MutexLock lock(&mu_);
  uint64_t handle = next_handle_++;
  watchers_[id].emplace(handle, std::move(on_token));
  return handle;
}

void WatchHub::Unsubscribe(const std::string& id, uint64_t handle) {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  it->second.erase(handle);
  if (it->second.empty()) watchers_.erase(it);
}

bool WatchHub::Watched(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  return watchers_.contains(id);
}

std::vector<TokenCallback> WatchHub::Subscribers(const std::string& id) const {
  std::vector<TokenCallback> out;
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return out;
  for (const auto& [handle, cb] : it->second) out.push_back(cb);
  return out;
}

std::vector<TokenCallback> WatchHub::TakeAll(const std::string& id) {
  std::vector<TokenCallback> out;
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return out;
  for (auto& [handle, cb] : it->second) out.push_back(std::move(cb));
  watchers_.erase(it);
  return out;
}

std::vector<TokenCallback> WatchHub::TakeEverything() {
  std::vector<TokenCallback> out;
  absl::MutexLock lock(&mu_);
  for (auto& [id, callbacks] : watchers_) {
    for (auto& [handle, cb] : callbacks) out.push_back(std::move(cb));
  }
  watchers_.clear();
  return out;
}

}  // namespace tokenbroker
