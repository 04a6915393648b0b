#include "server/ims/ims_request.h"

#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace tokenbroker::internal {
namespace {

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void AppendEncoded(absl::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    if (IsUnreserved(c)) {
      out->push_back(c);
    } else {
      unsigned char u = static_cast<unsigned char>(c);
      out->push_back('%');
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xf]);
    }
  }
}

}  // namespace

std::string UrlEncode(absl::string_view value) {
  std::string out;
  AppendEncoded(value, &out);
  return out;
}

SecretString FormEncode(
    const std::vector<std::pair<absl::string_view, absl::string_view>>& fields) {
  size_t size = 0;
  for (const auto& [name, value] : fields) size += 2 + 3 * (name.size() + value.size());
  std::string body;
  body.reserve(size);  // no reallocation: no stray copies of the secrets
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body.push_back('&');
    AppendEncoded(name, &body);
    body.push_back('=');
    AppendEncoded(value, &body);
  }
  return SecretString(std::move(body));
}

absl::StatusOr<AccessToken> PostTokenRequest(HttpTransport& transport, const Clock& clock,
                                             const Integration& integration, const ImsPost& post) {
  HttpRequest request;
  request.method = "POST";
  request.url = post.url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = post.form_body;
  request.timeout = post.timeout;

  const absl::Time start = clock.Now();
  absl::StatusOr<HttpResponse> response = transport.Send(request);
  const absl::Time end = clock.Now();
  const std::string latency_ms = absl::StrCat(absl::ToInt64Milliseconds(end - start));

  if (!response.ok()) {
    absl::Status status = ImsTransportError(response.status(), integration.id);
    Log(LogLevel::kWarning, "IMS exchange failed",
        {{"integration", integration.id},
         {"flow", std::string(post.flow)},
         {"secret_index", absl::StrCat(post.secret_index)},
         {"code", absl::StatusCodeToString(status.code())},
         {"error", std::string(status.message())},
         {"latency_ms", latency_ms}});
    return status;
  }
  absl::StatusOr<AccessToken> token =
      ParseImsTokenResponse(*response, post.unit, integration.id, end);
  std::string debug_id = response->Header("x-debug-id");
  if (token.ok()) {
    Log(LogLevel::kInfo, "IMS exchange succeeded",
        {{"integration", integration.id},
         {"flow", std::string(post.flow)},
         {"secret_index", absl::StrCat(post.secret_index)},
         {"http_status", absl::StrCat(response->status_code)},
         {"x_debug_id", token->debug_id},
         {"expire_time", absl::FormatTime(token->expire_time)},
         {"latency_ms", latency_ms}});
  } else {
    std::string ims_error;
    if (auto info = GetErrorInfo(token.status())) {
      auto it = info->metadata().find("ims_error");
      if (it != info->metadata().end()) ims_error = it->second;
      auto d = info->metadata().find("x_debug_id");
      if (d != info->metadata().end()) debug_id = d->second;
    }
    Log(LogLevel::kWarning, "IMS exchange failed",
        {{"integration", integration.id},
         {"flow", std::string(post.flow)},
         {"secret_index", absl::StrCat(post.secret_index)},
         {"http_status", absl::StrCat(response->status_code)},
         {"x_debug_id", debug_id},
         {"code", absl::StatusCodeToString(token.status().code())},
         {"ims_error", ims_error},
         {"latency_ms", latency_ms}});
  }
  return token;
}

std::vector<const SecretString*> ClientSecrets(const Integration& integration) {
  std::vector<const SecretString*> secrets;
  for (const SecretString& s : integration.credentials.client_secrets) {
    if (!s.empty()) secrets.push_back(&s);
  }
  return secrets;
}

absl::StatusOr<AccessToken> WithSecretFallback(
    const Integration& integration, const std::vector<const SecretString*>& secrets,
    const std::function<absl::StatusOr<AccessToken>(const SecretString& secret, int index)>&
        attempt) {
  absl::StatusOr<AccessToken> result = absl::InvalidArgumentError("no client secret");
  for (size_t i = 0; i < secrets.size() && i < 2; ++i) {
    result = attempt(*secrets[i], static_cast<int>(i));
    if (result.ok() && i > 0) {
      Log(LogLevel::kWarning,
          "IMS rejected the first client secret and accepted the second: finish the rotation",
          {{"integration", integration.id}});
    }
    if (!IsInvalidClient(result.status())) break;
  }
  return result;
}

}  // namespace tokenbroker::internal
