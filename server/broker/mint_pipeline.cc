#include "server/broker/mint_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/broker/settings_digest.h"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace tokenbroker {
namespace {

absl::Status Disabled(const std::string& id) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat("integration '", id, "' is disabled")),
      kReasonIntegrationDisabled, {{"integration", id}});
}

absl::Status WithNotFoundInfo(absl::Status status, const std::string& id) {
  if (!absl::IsNotFound(status)) return status;
  return WithErrorInfo(std::move(status), kReasonIntegrationNotFound, {{"integration", id}});
}

MintOutcome Failed(absl::Status status) {
  MintOutcome out;
  out.kind = MintOutcome::Kind::kFailed;
  out.status = std::move(status);
  return out;
}

MintOutcome WithToken(MintOutcome::Kind kind, Integration integration, AccessToken token) {
  MintOutcome out;
  out.kind = kind;
  out.integration = std::move(integration);
  out.token = std::move(token);
  return out;
}

}  // namespace

MintPipeline::MintPipeline(CredentialStore* store, TokenExchanger* exchanger, const Clock* clock,
                           RefreshPolicy policy, ReplicaOptions replica, BrokerObserver* observer)
    : store_(store),
      exchanger_(exchanger),
      clock_(clock),
      policy_(policy),
      replica_(std::move(replica)),
      observer_(observer != nullptr ? observer : BrokerObserver::Null()) {}

absl::Status MintPipeline::Load(const MintRequest& request, Integration* integration,
                                std::optional<AccessToken>* stored) const {
  if (request.known.has_value()) {
    *integration = *request.known;
    if (request.mode == MintRequest::Mode::kAdoptOnly) {
      absl::StatusOr<std::optional<AccessToken>> token = store_->GetToken(request.id);
      if (!token.ok()) return WithNotFoundInfo(token.status(), request.id);
      *stored = *std::move(token);
    }
  } else {
    absl::StatusOr<IntegrationWithToken> loaded = store_->GetWithToken(request.id);
    if (!loaded.ok()) return WithNotFoundInfo(loaded.status(), request.id);
    *integration = std::move(loaded->integration);
    *stored = std::move(loaded->token);
  }
  if (integration->state == IntegrationState::kDisabled) return Disabled(request.id);
  return absl::OkStatus();
}

bool MintPipeline::Adoptable(const MintRequest& request,
                             const std::optional<AccessToken>& stored) const {
  if (request.mode == MintRequest::Mode::kForce || !stored.has_value()) return false;
  absl::Time now = clock_->Now();
  if (!Satisfies(stored->expire_time, now, absl::ZeroDuration())) return false;
  if (stored->expire_time <= request.held_expire) return false;
  // A refresh wants a token that is not due itself.
  return request.mode != MintRequest::Mode::kRefresh ||
         now < NextRefreshTime(stored->issue_time, stored->expire_time, policy_, /*u=*/0.0);
}

absl::Status MintPipeline::AcquireLease(const MintRequest& request, bool* held,
                                        std::optional<AccessToken>* stored) const {
  absl::Duration ttl = replica_.lease_ttl;
  absl::Time now = clock_->Now();
  if (request.held_expire > now) {
    ttl = std::clamp((request.held_expire - now) / 3, absl::Seconds(1), replica_.lease_ttl);
  }
  absl::StatusOr<LeaseGrant> grant =
      replica_.coordination->TryAcquireRefreshLease(request.id, replica_.replica_id, ttl);
  if (!grant.ok()) {
    if (absl::IsNotFound(grant.status())) return WithNotFoundInfo(grant.status(), request.id);
    // Serving beats deduplicating: mint without the lease.
    observer_->OnReplicaEvent("lease_error");
    Log(LogLevel::kWarning, "could not take the refresh lease; minting without it",
        {{"integration", request.id}, {"error", std::string(grant.status().message())}});
    *held = true;
    return absl::OkStatus();
  }
  if (!grant->held) observer_->OnReplicaEvent("lease_busy");
  *held = grant->held;
  *stored = std::move(grant->stored_token);
  return absl::OkStatus();
}

MintOutcome MintPipeline::Run(const MintRequest& request) const {
  Integration integration;
  std::optional<AccessToken> stored;
  if (absl::Status loaded = Load(request, &integration, &stored); !loaded.ok()) {
    return Failed(std::move(loaded));
  }
  if (request.reusable.has_value() && request.mode == MintRequest::Mode::kServe &&
      SettingsDigest(integration) == request.reusable_digest &&
      Satisfies(request.reusable->expire_time, clock_->Now(), absl::ZeroDuration())) {
    return WithToken(MintOutcome::Kind::kReused, std::move(integration), *request.reusable);
  }
  if (Adoptable(request, stored)) {
    return WithToken(MintOutcome::Kind::kAdopted, std::move(integration), *std::move(stored));
  }
  if (request.mode == MintRequest::Mode::kAdoptOnly) {
    MintOutcome out;
    out.kind = MintOutcome::Kind::kNothing;
    out.integration = std::move(integration);
    return out;
  }
  bool holds_lease = false;
  if (coordinated()) {
    std::optional<AccessToken> stored_now;
    if (absl::Status s = AcquireLease(request, &holds_lease, &stored_now); !s.ok()) {
      return Failed(std::move(s));
    }
    if (!holds_lease) {
      MintOutcome out;
      out.kind = MintOutcome::Kind::kLeaseBusy;
      out.integration = std::move(integration);
      return out;
    }
    // The previous holder may have stored its token since we looked.
    if (Adoptable(request, stored_now)) {
      ReleaseLease(request.id);
      return WithToken(MintOutcome::Kind::kAdopted, std::move(integration), *std::move(stored_now));
    }
  }
  return Exchange(request, std::move(integration), holds_lease);
}

MintOutcome MintPipeline::Exchange(const MintRequest& request, Integration integration,
                                   bool holds_lease) const {
  absl::Time started = clock_->Now();
  absl::StatusOr<AccessToken> minted = exchanger_->Exchange(integration);
  observer_->OnImsExchange(integration.auth_method == AuthMethod::kJwt ? "jwt" : "oauth_s2s",
                           clock_->Now() - started, minted.status());
  observer_->OnRefresh(request.trigger, minted.status());
  if (!minted.ok()) {
    if (holds_lease) ReleaseLease(request.id);
    MintOutcome out = Failed(minted.status());
    out.integration = std::move(integration);
    out.exchanged = true;
    return out;
  }
  // Stored before the lease is given back: the next holder finds it.
  absl::Status persisted =
      holds_lease && coordinated()
          ? replica_.coordination->PutTokenAndReleaseLease(request.id, *minted, replica_.replica_id)
          : store_->PutToken(request.id, *minted);
  if (!persisted.ok() && !absl::IsNotFound(persisted)) {
    Log(LogLevel::kWarning, "could not persist the token",
        {{"integration", request.id}, {"error", std::string(persisted.message())}});
  }
  MintOutcome out = WithToken(MintOutcome::Kind::kMinted, std::move(integration), *minted);
  out.exchanged = true;
  return out;
}

void MintPipeline::ReleaseLease(const std::string& id) const {
  absl::Status released = replica_.coordination->ReleaseRefreshLease(id, replica_.replica_id);
  if (!released.ok()) {
    Log(LogLevel::kWarning, "could not release the refresh lease (it expires on its own)",
        {{"integration", id}, {"error", std::string(released.message())}});
  }
}

}  // namespace tokenbroker
