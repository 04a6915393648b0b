#include "server/api/token_service.h"

#include <deque>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "server/api/convert.h"
#include "server/api/grpc_status.h"

namespace tokenbroker {
namespace {

// The watch stream. Tokens arrive from broker threads; gRPC allows one
// outstanding write, so they queue here. `Shared` outlives the reactor so a
// late broker callback finds `reactor == nullptr` instead of freed memory.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchAccessTokensResponse> {
 public:
  // `slot` (may be null) is the caller's watch slot, held until OnDone.
  WatchReactor(TokenBroker* broker, std::string id, std::shared_ptr<RpcScope> scope,
               std::shared_ptr<void> slot)
      : broker_(broker), id_(std::move(id)), scope_(std::move(scope)), slot_(std::move(slot)) {
    shared_ = std::make_shared<Shared>();
    shared_->reactor = this;
    auto shared = shared_;
    handle_ =
        broker_->Watch(id_, [shared](absl::StatusOr<SnapshotPtr> r) { Push(shared, r); }).handle;
    broker_->GetToken(id_, std::nullopt,
                      [shared](absl::StatusOr<SnapshotPtr> r) { Push(shared, r); });
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->writing = false;
      if (!ok) FinishLocked(grpc::Status::CANCELLED);
      action = NextActionLocked();
    }
    Act(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&shared_->mu);
      FinishLocked(grpc::Status::CANCELLED);
      action = NextActionLocked();
    }
    Act(action);
  }

  void OnDone() override {
    broker_->Unwatch(id_, handle_);
    grpc::Status status;
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->reactor = nullptr;
      status = shared_->finish_status;
    }
    scope_->Finish(
        absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()));
    delete this;
  }

 private:
  enum class Action { kNone, kWrite, kFinish };

  struct Shared {
    absl::Mutex mu;
    WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
    std::deque<SnapshotPtr> pending ABSL_GUARDED_BY(mu);
    SnapshotPtr last ABSL_GUARDED_BY(mu);
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool finishing ABSL_GUARDED_BY(mu) = false;  // no more writes will be queued
    bool finished ABSL_GUARDED_BY(mu) = false;   // Finish was (or is being) called
    grpc::Status finish_status ABSL_GUARDED_BY(mu);
  };

  static void Push(const std::shared_ptr<Shared>& shared, const absl::StatusOr<SnapshotPtr>& r) {
    WatchReactor* self;
    Action action;
    {
      absl::MutexLock lock(&shared->mu);
      self = shared->reactor;
      if (self == nullptr || shared->finishing) return;
      if (!r.ok()) {
        self->FinishLocked(ToGrpcStatus(r.status()));
      } else {
        // The first token can arrive twice (GetToken and the watch); newer
        // ones once. Never send a token older than the last one sent.
        if (shared->last != nullptr && (*r)->token.expire_time <= shared->last->token.expire_time) {
          return;
        }
        shared->last = *r;
        shared->pending.push_back(*r);
      }
      action = self->NextActionLocked();
    }
    self->Act(action);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mu) {
    if (shared_->finishing) return;
    shared_->finishing = true;
    shared_->finish_status = status;
    shared_->pending.clear();
  }

  // Decides the next gRPC operation. StartWrite and Finish are called by
  // Act() outside the mutex: gRPC may run OnDone inline from Finish.
  Action NextActionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mu) {
    if (shared_->writing || shared_->finished) return Action::kNone;
    if (shared_->finishing) {
      shared_->finished = true;
      return Action::kFinish;
    }
    if (shared_->pending.empty()) return Action::kNone;
    response_.Clear();
    ToProto(*shared_->pending.front(), response_.mutable_token());
    shared_->pending.pop_front();
    shared_->writing = true;
    return Action::kWrite;
  }

  void Act(Action action) {
    if (action == Action::kWrite) {
      StartWrite(&response_);
    } else if (action == Action::kFinish) {
      grpc::Status status;
      {
        absl::MutexLock lock(&shared_->mu);
        status = shared_->finish_status;
      }
      Finish(status);  // may delete this
    }
  }

  TokenBroker* const broker_;
  const std::string id_;
  std::shared_ptr<RpcScope> scope_;
  std::shared_ptr<void> slot_;
  uint64_t handle_ = 0;
  std::shared_ptr<Shared> shared_;
  v1::WatchAccessTokensResponse response_;
};

constexpr char kGetAccessToken[] = "/tokenbroker.v1.TokenService/GetAccessToken";
constexpr char kGetRequestHeaders[] = "/tokenbroker.v1.TokenService/GetRequestHeaders";
constexpr char kRefreshAccessToken[] = "/tokenbroker.v1.TokenService/RefreshAccessToken";
constexpr char kWatchAccessTokens[] = "/tokenbroker.v1.TokenService/WatchAccessTokens";

// Audits and finishes the RPC with `status` now.
grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context, RpcScope& scope,
                                 const absl::Status& status) {
  scope.Finish(status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Authenticates, parses `name`, authorizes reading its tokens. On success
// returns the integration id; otherwise the error to reject with.
absl::StatusOr<std::string> AdmitTokenCall(RpcScope& scope,
                                           const google::protobuf::Message& request,
                                           const std::string& name) {
  absl::Status authenticated = scope.Authenticate();
  if (!authenticated.ok()) return authenticated;
  absl::Status size =
      CheckRequestSize(request, scope.api().max_token_request_bytes, "--max-token-request-bytes");
  if (!size.ok()) return size;
  absl::StatusOr<std::string> id = ParseIntegrationName(name, "name");
  if (!id.ok()) return id.status();
  scope.set_integration(*id);
  absl::Status admitted = scope.Admit(Permission::kReadTokens, *id);
  if (!admitted.ok()) return admitted;
  return id;
}

}  // namespace

namespace {

// GetAccessToken and GetRequestHeaders: admit the caller, parse the minimum
// validity, then answer from the broker, `fill` writing the response.
template <typename Request, typename Fill>
grpc::ServerUnaryReactor* ServeToken(TokenBroker* broker, const ApiContext& api,
                                     grpc::CallbackServerContext* context, const char* method,
                                     const Request& request, Fill fill) {
  auto scope = std::make_shared<RpcScope>(api, context, method);
  absl::StatusOr<std::string> id = AdmitTokenCall(*scope, request, request.name());
  if (!id.ok()) return Reject(context, *scope, id.status());
  auto min =
      ParseMinValidity(&request.min_remaining_validity(), request.has_min_remaining_validity());
  if (!min.ok()) return Reject(context, *scope, min.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  broker->GetToken(*id, *min, [reactor, scope, fill](absl::StatusOr<SnapshotPtr> r) {
    if (r.ok()) fill(**r);
    scope->Finish(r.status(), r.ok() ? *r : nullptr);
    reactor->Finish(ToGrpcStatus(r.status()));
  });
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* TokenServiceImpl::GetAccessToken(grpc::CallbackServerContext* context,
                                                           const v1::GetAccessTokenRequest* request,
                                                           v1::GetAccessTokenResponse* response) {
  return ServeToken(
      broker_, *api_, context, kGetAccessToken, *request,
      [response](const TokenSnapshot& snapshot) { ToProto(snapshot, response->mutable_token()); });
}

grpc::ServerUnaryReactor* TokenServiceImpl::GetRequestHeaders(
    grpc::CallbackServerContext* context, const v1::GetRequestHeadersRequest* request,
    v1::GetRequestHeadersResponse* response) {
  return ServeToken(broker_, *api_, context, kGetRequestHeaders, *request,
                    [response](const TokenSnapshot& snapshot) {
                      for (auto& [name, value] : AdobeHeaders(snapshot)) {
                        v1::Header* header = response->add_headers();
                        header->set_name(std::move(name));
                        header->set_value(std::move(value));
                      }
                      ToProto(snapshot.token.expire_time, response->mutable_expire_time());
                    });
}

grpc::ServerUnaryReactor* TokenServiceImpl::RefreshAccessToken(
    grpc::CallbackServerContext* context, const v1::RefreshAccessTokenRequest* request,
    v1::RefreshAccessTokenResponse* response) {
  auto scope = std::make_shared<RpcScope>(*api_, context, kRefreshAccessToken);
  absl::StatusOr<std::string> id = AdmitTokenCall(*scope, *request, request->name());
  if (!id.ok()) return Reject(context, *scope, id.status());
  if (api_->limiter != nullptr) {
    absl::Status allowed = api_->limiter->Acquire(*id);
    if (!allowed.ok()) return Reject(context, *scope, allowed);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  broker_->Refresh(*id, [reactor, response, scope](absl::StatusOr<SnapshotPtr> r) {
    if (r.ok()) ToProto(**r, response->mutable_token());
    scope->Finish(r.status(), r.ok() ? *r : nullptr);
    reactor->Finish(ToGrpcStatus(r.status()));
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchAccessTokensResponse>* TokenServiceImpl::WatchAccessTokens(
    grpc::CallbackServerContext* context, const v1::WatchAccessTokensRequest* request) {
  auto scope = std::make_shared<RpcScope>(*api_, context, kWatchAccessTokens);
  absl::StatusOr<std::string> id = AdmitTokenCall(*scope, *request, request->name());
  absl::StatusOr<std::shared_ptr<void>> slot = std::shared_ptr<void>();
  if (id.ok() && api_->watches != nullptr) slot = api_->watches->Acquire(scope->caller());
  if (!id.ok() || !slot.ok()) {
    class Failed final : public grpc::ServerWriteReactor<v1::WatchAccessTokensResponse> {
     public:
      explicit Failed(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
      void OnDone() override { delete this; }
    };
    absl::Status status = id.ok() ? slot.status() : id.status();
    scope->Finish(status);
    return new Failed(status);
  }
  return new WatchReactor(broker_, *id, std::move(scope), *std::move(slot));
}

}  // namespace tokenbroker
