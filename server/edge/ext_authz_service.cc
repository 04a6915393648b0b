#include "server/edge/ext_authz_service.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/api/convert.h"
#include "server/api/grpc_status.h"
#include "server/common/error_details.h"
#include "server/common/secret.h"

namespace tokenbroker {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::AttributeContext;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

void AddHeader(google::protobuf::RepeatedPtrField<HeaderValueOption>* headers, std::string name,
               std::string value) {
  HeaderValueOption* option = headers->Add();
  option->mutable_header()->set_key(std::move(name));
  option->mutable_header()->set_value(std::move(value));
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  // Envoys before append_action read only `append`; newer ones let a set
  // `append` win, and false means the same overwrite.
  option->mutable_append()->set_value(false);
}

// The caller's request is refused (403), as opposed to no token being
// available now (503).
bool CallerRefused(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kNotFound ||
         code == absl::StatusCode::kInvalidArgument;
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted;
}

void WipeSecrets(CheckRequest* request) {
  auto* headers =
      request->mutable_attributes()->mutable_request()->mutable_http()->mutable_headers();
  for (auto& [name, value] : *headers) {
    if (name == "authorization" || name == "proxy-authorization") WipeString(&value);
  }
}

void WipeSecrets(CheckResponse* response) {
  if (!response->has_ok_response()) return;
  for (HeaderValueOption& option : *response->mutable_ok_response()->mutable_headers()) {
    WipeString(option.mutable_header()->mutable_value());
  }
}

class WipingHolder final : public grpc::MessageHolder<CheckRequest, CheckResponse> {
 public:
  WipingHolder() {
    set_request(&request_);
    set_response(&response_);
  }
  void Release() override {
    WipeSecrets(&request_);
    WipeSecrets(&response_);
    delete this;
  }

 private:
  CheckRequest request_;
  CheckResponse response_;
};

}  // namespace

absl::StatusOr<IntegrationChoice> ChooseIntegration(const AttributeContext& attributes,
                                                    const ReloadingRouteTable* routes) {
  IntegrationChoice choice;
  const auto& headers = attributes.request().http().headers();
  auto header = headers.find(kIntegrationHeader);
  choice.header_present = header != headers.end();
  auto extension = attributes.context_extensions().find(kIntegrationContextExtension);
  absl::string_view field;
  if (extension != attributes.context_extensions().end()) {
    choice.id = extension->second;
    field = "context_extensions[\"tokenbroker.integration\"]";
  } else if (choice.header_present) {
    choice.id = header->second;
    field = "the x-tokenbroker-integration header";
  } else if (std::optional<std::string> routed =
                 routes == nullptr ? std::nullopt
                                   : routes->Match(attributes.request().http().host(),
                                                   attributes.request().http().path())) {
    return IntegrationChoice{*std::move(routed), false};
  } else {
    return absl::NotFoundError(
        "no integration for this request: set the route's context extension "
        "tokenbroker.integration, send the header x-tokenbroker-integration, or add the host and "
        "path to --ext-authz-routes");
  }
  absl::Status valid = ValidateIntegrationId(choice.id, field);
  if (!valid.ok()) return valid;
  return choice;
}

void FillAllowed(const TokenSnapshot& snapshot, bool remove_integration_header,
                 CheckResponse* response) {
  response->mutable_status()->set_code(0);
  auto* ok = response->mutable_ok_response();
  for (auto& [name, value] : AdobeHeaders(snapshot)) {
    AddHeader(ok->mutable_headers(), std::move(name), std::move(value));
  }
  if (remove_integration_header) ok->add_headers_to_remove(kIntegrationHeader);
}

void FillDenied(const absl::Status& status, CheckResponse* response) {
  response->mutable_status()->set_code(static_cast<int>(status.code()));
  response->mutable_status()->set_message(std::string(status.message()));
  auto* denied = response->mutable_denied_response();
  denied->mutable_status()->set_code(CallerRefused(status.code())
                                         ? envoy::type::v3::Forbidden
                                         : envoy::type::v3::ServiceUnavailable);
  AddHeader(denied->mutable_headers(), "content-type", "application/json");
  if (Retryable(status.code()))
    AddHeader(
        denied->mutable_headers(), "retry-after",
        absl::StrCat(RetryAfterSeconds(status).value_or(absl::ToInt64Seconds(kDefaultRetryAfter))));
  nlohmann::json body;
  body["error"] = absl::StatusCodeToString(status.code());
  body["reason"] = std::string(status.message());
  denied->set_body(
      body.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace));
}

grpc::MessageHolder<CheckRequest, CheckResponse>*
ExtAuthzServiceImpl::WipingAllocator::AllocateMessages() {
  return new WipingHolder();
}

ExtAuthzServiceImpl::ExtAuthzServiceImpl(TokenBroker* broker, const ApiContext* api,
                                         const ReloadingRouteTable* routes)
    : broker_(broker), api_(api), routes_(routes) {
  SetMessageAllocatorFor_Check(&allocator_);
}

void DecideCheck(TokenBroker* broker, const ApiContext& api, const ReloadingRouteTable* routes,
                 CallOrigin origin, const CheckRequest& request, CheckResponse* response,
                 std::function<void(const absl::Status&)> done) {
  auto scope = std::make_shared<RpcScope>(api, std::move(origin), kExtAuthzCheckMethod);
  auto refuse = [&](const absl::Status& status) {
    scope->Finish(status);
    if (status.code() == absl::StatusCode::kUnavailable) return done(status);
    FillDenied(status, response);
    done(absl::OkStatus());
  };
  const AttributeContext& attributes = request.attributes();
  absl::Status acting = scope->ActFor(attributes.source().principal());
  if (!acting.ok()) return refuse(acting);
  absl::StatusOr<IntegrationChoice> choice = ChooseIntegration(attributes, routes);
  if (!choice.ok()) return refuse(choice.status());
  scope->set_integration(choice->id);
  absl::Status admitted = scope->Admit(Permission::kReadTokens, choice->id);
  if (!admitted.ok()) return refuse(admitted);
  broker->GetToken(choice->id, std::nullopt,
                   [response, scope, done = std::move(done),
                    remove = choice->header_present](absl::StatusOr<SnapshotPtr> r) {
                     if (r.ok()) {
                       FillAllowed(**r, remove, response);
                     } else {
                       FillDenied(r.status(), response);
                     }
                     scope->Finish(r.status(), r.ok() ? *r : nullptr);
                     done(absl::OkStatus());
                   });
}

grpc::ServerUnaryReactor* ExtAuthzServiceImpl::Check(grpc::CallbackServerContext* context,
                                                     const CheckRequest* request,
                                                     CheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  DecideCheck(broker_, *api_, routes_,
              OriginOf(*context, /*with_audit_fields=*/api_->audit != nullptr), *request, response,
              [reactor](const absl::Status& status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

}  // namespace tokenbroker
