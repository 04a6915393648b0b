// ClientSecretManager::Rotate: the client-secret rotation's steps
// (client_secrets.h). The state lives in the stored integration: which
// secrets it holds, in which order (the first is the one in use), and each
// one's ClientSecretInfo (Console uuid, and its role in a rotation under way).
#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/lifecycle/client_secrets.h"

namespace tokenbroker {

// One Rotate call: the integration as stored, and the Console token.
struct ClientSecretManager::RotationRun {
  Integration in;
  SecretString token;
  RotationResult result;

  std::optional<size_t> Find(SecretRotationRole role) const {
    for (size_t i = 0; i < in.client_secret_info.size(); ++i) {
      if (in.client_secret_info[i].rotation == role) return i;
    }
    return std::nullopt;
  }
  bool Holds(absl::string_view uuid) const {
    for (const ClientSecretInfo& info : in.client_secret_info) {
      if (info.console_uuid == uuid) return true;
    }
    return false;
  }
  // Drops stored secret `i` (and its info).
  void Drop(size_t i) {
    in.credentials.client_secrets.erase(in.credentials.client_secrets.begin() + i);
    in.client_secret_info.erase(in.client_secret_info.begin() + i);
  }
};

namespace {

const ConsoleSecret* Listed(const std::vector<ConsoleSecret>& listed, absl::string_view uuid) {
  for (const ConsoleSecret& s : listed) {
    if (s.uuid == uuid) return &s;
  }
  return nullptr;
}

}  // namespace

absl::Status ClientSecretManager::Save(Integration& in) {
  TB_ASSIGN_OR_RETURN(in, store_->Update(in, in.etag));
  return absl::OkStatus();
}

absl::StatusOr<RotationResult> ClientSecretManager::Rotate(absl::string_view id, bool now) {
  return RotateLeased(id, now, std::nullopt);
}

absl::StatusOr<RotationResult> ClientSecretManager::RotateIfDue(absl::string_view id,
                                                                absl::Duration default_period) {
  return RotateLeased(id, /*now=*/false, default_period);
}

// Two rotations of one integration at once would both add a secret at Adobe
// (the store's etag stops only the second write): one runs, in this process
// (rotating_) and across replicas (the store's lease).
absl::StatusOr<RotationResult> ClientSecretManager::RotateLeased(
    absl::string_view id, bool now, std::optional<absl::Duration> due_under) {
  const std::string key(id);
  {
    absl::MutexLock lock(&mu_);
    if (!rotating_.insert(key).second) {
      return absl::AbortedError(
          absl::StrCat("a rotation of integration '", id, "' is under way: try again later"));
    }
  }
  absl::Cleanup done = [this, &key] {
    absl::MutexLock lock(&mu_);
    rotating_.erase(key);
  };
  ReplicaCoordination* const coordination = options_.coordination;
  if (coordination == nullptr) return RotateUnleased(id, now, due_under);
  const std::string lease = absl::StrCat("secret-rotation/", id);
  TB_ASSIGN_OR_RETURN(
      bool held, coordination->TryAcquireLease(lease, options_.replica_id, options_.lease_ttl));
  if (!held) {
    return absl::AbortedError(absl::StrCat("a rotation of integration '", id,
                                           "' is under way on another replica: try again later"));
  }
  absl::StatusOr<RotationResult> result = RotateUnleased(id, now, due_under);
  absl::Status released = coordination->ReleaseLease(lease, options_.replica_id);
  if (!released.ok()) {
    Log(LogLevel::kWarning, "releasing the secret-rotation lease failed (it expires by itself)",
        {{"integration", key}, {"error", std::string(released.message())}});
  }
  return result;
}

absl::StatusOr<RotationResult> ClientSecretManager::RotateUnleased(
    absl::string_view id, bool now, std::optional<absl::Duration> due_under) {
  RotationRun run;
  TB_ASSIGN_OR_RETURN(run.in, Rotatable(id));
  if (due_under && NextRotationTime(run.in, *due_under) > clock_->Now()) {
    run.result.phase = RotationResult::Phase::kNotDue;
    run.result.detail = "not due";
    return std::move(run.result);
  }
  // Fitted by the SQL stores; the memory store keeps what it was given.
  run.in.client_secret_info.resize(run.in.credentials.client_secrets.size());
  TB_ASSIGN_OR_RETURN(run.token, ConsoleToken(run.in));
  TB_RETURN_IF_ERROR(Reconcile(run));
  if (!run.Find(SecretRotationRole::kPending) && !run.Find(SecretRotationRole::kRetiring)) {
    TB_RETURN_IF_ERROR(AddPending(run));
  }
  if (run.Find(SecretRotationRole::kPending)) TB_RETURN_IF_ERROR(Switch(run));
  TB_RETURN_IF_ERROR(Retire(run, now));
  if (run.result.token) StoreToken(run);
  run.result.fingerprint = Fingerprint(run.in.credentials.client_secrets.front().value());
  run.result.console_uuid = run.in.client_secret_info.front().console_uuid;
  return std::move(run.result);
}

// Matches the stored secrets with Adobe's: records the uuid of a secret
// stored without one (only when each side holds one), forgets a pending
// secret deleted in the Console, and deletes what Adobe holds but
// tokenbroker never stored (Adobe answered an add, the store write did not
// happen).
absl::Status ClientSecretManager::Reconcile(RotationRun& run) {
  TB_ASSIGN_OR_RETURN(std::vector<ConsoleSecret> listed,
                      console_->List(TargetOf(run.in), run.token));
  Integration& in = run.in;
  ClientSecretInfo& in_use = in.client_secret_info.front();
  bool changed = false;
  if (in_use.console_uuid.empty()) {
    if (in.credentials.client_secrets.size() != 1 || listed.size() != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "integration '", in.id, "': the credential holds ", listed.size(),
          " client secret(s) at the Developer Console and tokenbroker stored its own without "
          "its uuid, so it cannot tell them apart: delete in the Console the secret tokenbroker "
          "does not use, and store only the one it uses, then rotate again"));
    }
    in_use.console_uuid = listed.front().uuid;
    changed = true;
  }
  if (!Listed(listed, in_use.console_uuid)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "integration '", in.id,
        "': the client secret tokenbroker uses was deleted in the Developer Console: add one "
        "there and store it ('tokenctl integrations update --client-secret-file'), or import "
        "the credential again"));
  }
  if (std::optional<size_t> pending = run.Find(SecretRotationRole::kPending);
      pending && !Listed(listed, in.client_secret_info[*pending].console_uuid)) {
    run.Drop(*pending);  // deleted in the Console before it was used: start over
    changed = true;
  }
  if (changed) TB_RETURN_IF_ERROR(Save(in));
  return DeleteOrphans(run, listed);
}

absl::Status ClientSecretManager::DeleteOrphans(RotationRun& run,
                                                const std::vector<ConsoleSecret>& listed) {
  for (const ConsoleSecret& secret : listed) {
    if (run.Holds(secret.uuid)) continue;
    Log(LogLevel::kWarning,
        "deleting a client secret at the Developer Console that tokenbroker never stored "
        "(left by an interrupted rotation)",
        {{"integration", run.in.id}, {"console_uuid", secret.uuid}});
    absl::Status deleted = console_->Delete(TargetOf(run.in), run.token, secret.uuid);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
    run.result.deleted_uuids.push_back(secret.uuid);
  }
  return absl::OkStatus();
}

absl::Status ClientSecretManager::AddPending(RotationRun& run) {
  Integration& in = run.in;
  if (in.credentials.client_secrets.size() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "integration '", in.id,
        "' stores 2 client secrets outside a rotation: a rotation starts from one (store only "
        "the one in use with 'tokenctl integrations update --client-secret-file')"));
  }
  TB_ASSIGN_OR_RETURN(AddedConsoleSecret added, console_->Add(TargetOf(in), run.token));
  // Its value exists only in this answer: stored before anything else.
  in.credentials.client_secrets.push_back(std::move(added.value));
  in.client_secret_info.push_back(
      ClientSecretInfo{clock_->Now(), added.uuid, SecretRotationRole::kPending});
  absl::Status saved = Save(in);
  if (!saved.ok()) {
    return WithContext(saved, absl::StrCat("storing the new client secret (the next rotation "
                                           "deletes it at Adobe, uuid ",
                                           added.uuid, "): "));
  }
  Log(LogLevel::kInfo, "client secret added at the Developer Console and stored",
      {{"integration", in.id}, {"console_uuid", added.uuid}});
  return absl::OkStatus();
}

// Mints with the pending secret alone, then makes it the one in use.
absl::Status ClientSecretManager::Switch(RotationRun& run) {
  Integration& in = run.in;
  const size_t pending = *run.Find(SecretRotationRole::kPending);
  Integration probe = in;
  probe.credentials.client_secrets = {in.credentials.client_secrets[pending]};
  absl::StatusOr<AccessToken> token = exchanger_->Exchange(probe);
  if (!token.ok()) {
    return WithContext(token.status(),
                       "the new client secret does not work at IMS yet (rotate again later): ");
  }
  std::swap(in.credentials.client_secrets[0], in.credentials.client_secrets[pending]);
  std::swap(in.client_secret_info[0], in.client_secret_info[pending]);
  in.client_secret_info[0].rotation = SecretRotationRole::kNone;
  in.client_secret_info[pending].rotation = SecretRotationRole::kRetiring;
  in.client_secret_info[pending].retire_time = clock_->Now();
  TB_RETURN_IF_ERROR(Save(in));
  run.result.token = *std::move(token);
  Log(LogLevel::kInfo, "client secret switched: the new one is in use",
      {{"integration", in.id}, {"console_uuid", in.client_secret_info[0].console_uuid}});
  return absl::OkStatus();
}

// Every store write dropped the cached token: hand the broker (and its
// watchers) the one minted with the new secret.
void ClientSecretManager::StoreToken(RotationRun& run) {
  absl::Status put = store_->PutToken(run.in.id, *run.result.token);
  if (!put.ok()) {
    Log(LogLevel::kWarning, "rotation: storing the token minted with the new secret failed",
        {{"integration", run.in.id}, {"error", std::string(put.message())}});
  }
}

absl::Status ClientSecretManager::Retire(RotationRun& run, bool now) {
  std::optional<size_t> old = run.Find(SecretRotationRole::kRetiring);
  if (!old) return Finish(run);
  const ClientSecretInfo info = run.in.client_secret_info[*old];
  TB_ASSIGN_OR_RETURN(std::vector<ConsoleSecret> listed,
                      console_->List(TargetOf(run.in), run.token));
  const ConsoleSecret* at_adobe = Listed(listed, info.console_uuid);
  if (at_adobe != nullptr && !now) {
    absl::Time last = info.retire_time;
    if (at_adobe->last_used) last = std::max(last, *at_adobe->last_used);
    const absl::Duration unused = clock_->Now() - last;
    if (unused < options_.grace) {
      run.result.phase = RotationResult::Phase::kWaiting;
      run.result.detail = absl::StrCat(
          "the new secret is in use; the old one (", info.console_uuid,
          ") is deleted once Adobe reports it unused for ", absl::FormatDuration(options_.grace),
          " (unused for ", absl::FormatDuration(absl::Trunc(unused, absl::Seconds(1))), ")");
      return absl::OkStatus();
    }
  }
  if (at_adobe != nullptr) {
    absl::Status deleted = console_->Delete(TargetOf(run.in), run.token, info.console_uuid);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
  }
  run.result.deleted_uuids.push_back(info.console_uuid);
  run.Drop(*old);
  return Finish(run);
}

absl::Status ClientSecretManager::Finish(RotationRun& run) {
  run.in.last_secret_rotation_time = clock_->Now();
  TB_RETURN_IF_ERROR(Save(run.in));
  run.result.phase = RotationResult::Phase::kDone;
  run.result.detail = "rotated: the new secret is the only one at Adobe, stored and in use";
  Log(LogLevel::kInfo, "client secret rotated",
      {{"integration", run.in.id},
       {"console_uuid", run.in.client_secret_info.front().console_uuid},
       {"fingerprint", Fingerprint(run.in.credentials.client_secrets.front().value())}});
  return absl::OkStatus();
}

}  // namespace tokenbroker
