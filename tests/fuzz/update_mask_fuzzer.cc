// UpdateIntegration and CreateIntegration requests as a caller may send
// them (protobuf wire bytes of UpdateIntegrationRequest): ApplyUpdate of the
// update mask onto a stored integration, then ValidateIntegration, as
// IntegrationServiceImpl does; and the request's integration validated as a
// new one. Every refusal must be INVALID_ARGUMENT with a bounded message; a merged integration that
// validates must convert back to the response form.
#include <cstdint>
#include <string>

#include "server/api/convert.h"
#include "tests/fuzz/fuzz_util.h"
#include "tokenbroker/v1/integration_service.pb.h"

namespace {

// A stored OAuth S2S integration, as the store would hand it back.
tokenbroker::Integration Stored() {
  tokenbroker::Integration integration;
  integration.id = "acme";
  integration.display_name = "Acme";
  integration.auth_method = tokenbroker::AuthMethod::kOAuthServerToServer;
  integration.client_id = "acme-client-id";
  integration.org_id = "ACME0123456789@AdobeOrg";
  integration.scopes = {"openid", "AdobeID"};
  integration.etag = "0123456789abcdef";
  integration.credentials.client_secrets.emplace_back(std::string("p8e-secret"));
  return integration;
}

// An error quotes at most kMaxQuotedBytes of any input (QuoteInput): whatever the request holds
// (a 20 KiB update_mask path), the message stays far below gRPC's 8 KiB metadata limit.
constexpr size_t kMaxErrorMessageBytes = 1024;

void CheckRefusal(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(status.message().size() <= kMaxErrorMessageBytes);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenbroker::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokenbroker::v1::UpdateIntegrationRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;  // not in the corpus
  tokenbroker::ValidationOptions options;
  options.allow_insecure_ims_http = size % 2 == 0;

  tokenbroker::Integration merged = Stored();
  absl::Status applied =
      tokenbroker::ApplyUpdate(request.integration(), request.update_mask(), &merged);
  if (applied.ok()) {
    absl::Status valid = tokenbroker::ValidateIntegration(merged, options, "integration.");
    if (valid.ok()) {
      FUZZ_CHECK(tokenbroker::ToProto(merged).name() == "integrations/acme");
    } else {
      CheckRefusal(valid);
    }
  } else {
    CheckRefusal(applied);
  }

  tokenbroker::Integration created = tokenbroker::FromProto(request.integration());
  auto id = tokenbroker::ParseIntegrationName(request.integration().name(), "integration.name");
  if (!id.ok()) {
    CheckRefusal(id.status());
    return 0;
  }
  created.id = *id;
  absl::Status valid = tokenbroker::ValidateIntegration(created, options, "integration.");
  if (!valid.ok()) CheckRefusal(valid);
  return 0;
}
