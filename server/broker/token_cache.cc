#include "server/broker/token_cache.h"

#include "absl/hash/hash.h"

namespace tokenbroker {

TokenCache::Shard& TokenCache::ShardFor(const std::string& id) const {
  return shards_[absl::Hash<std::string>{}(id) % kShards];
}

bool TokenCache::Satisfies(const TokenSnapshot& snap, std::optional<absl::Duration> min_validity,
                           absl::Time now) const {
  absl::Duration min =
      min_validity.has_value()
          ? *min_validity
          : DefaultMinValidity(snap.token.issue_time, snap.token.expire_time, policy_);
  return tokenbroker::Satisfies(snap.token.expire_time, now, min);
}

SnapshotPtr TokenCache::Find(const std::string& id, std::optional<absl::Duration> min_validity,
                             absl::Time now) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.slots.find(id);
  if (it == shard.slots.end() || it->second.current == nullptr ||
      !Satisfies(*it->second.current, min_validity, now)) {
    return nullptr;
  }
  it->second.last_access = now;
  return it->second.current;
}

SnapshotPtr TokenCache::Current(const std::string& id) const {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.slots.find(id);
  return it == shard.slots.end() ? nullptr : it->second.current;
}

void TokenCache::Put(const std::string& id, SnapshotPtr snap) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  shard.slots[id].current = std::move(snap);
}

void TokenCache::Drop(const std::string& id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  shard.slots.erase(id);
}

void TokenCache::Touch(const std::string& id, absl::Time now) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.slots.find(id);
  if (it != shard.slots.end()) it->second.last_access = now;
}

absl::Time TokenCache::LastAccess(const std::string& id) const {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.slots.find(id);
  return it == shard.slots.end() ? absl::InfinitePast() : it->second.last_access;
}

int64_t TokenCache::size() const {
  int64_t n = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [id, slot] : shard.slots) n += slot.current != nullptr ? 1 : 0;
  }
  return n;
}

std::vector<std::pair<std::string, absl::Time>> TokenCache::Expiries() const {
  std::vector<std::pair<std::string, absl::Time>> out;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [id, slot] : shard.slots) {
      if (slot.current != nullptr) out.emplace_back(id, slot.current->token.expire_time);
    }
  }
  return out;
}

}  // namespace tokenbroker
