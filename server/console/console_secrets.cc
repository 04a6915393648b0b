#include "server/console/console_secrets.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"

namespace tokenbroker {
namespace {

using json = nlohmann::json;

constexpr char kReasonConsoleRefused[] = "CONSOLE_REFUSED";
constexpr char kReasonConsoleUnavailable[] = "CONSOLE_UNAVAILABLE";
constexpr char kReasonConsoleBadResponse[] = "CONSOLE_BAD_RESPONSE";
constexpr size_t kMaxQuotedMessage = 200;
// The largest client secret tokenbroker stores (ValidateIntegration's rule).
constexpr size_t kMaxSecretBytes = 1024;

// Path segments we put in a URL: the Console's ids and uuids.
bool IsPathSafe(absl::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

json ParseBody(const HttpResponse& response) {
  absl::string_view body = response.body.value();
  return json::parse(body.begin(), body.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
}

// Adobe's `{"error_code", "message"}`: printable, bounded, for our message,
// with the bearer token we sent cut out wherever the answer echoes it.
std::string AdobeMessage(const json& body, absl::string_view key, size_t max,
                         const SecretString& token) {
  if (!body.is_object() || !body.contains(key) || !body[std::string(key)].is_string()) return "";
  std::string text = body[std::string(key)].get<std::string>();
  if (!token.empty()) text = absl::StrReplaceAll(text, {{token.value(), "<token>"}});
  for (char& c : text) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (text.size() > max) text = absl::StrCat(text.substr(0, max), "...");
  return text;
}

// What the operator must do, per refusal.
std::string Remedy(int status) {
  switch (status) {
    case 400:
      return "the credential already holds the most secrets Adobe allows (2): delete the one "
             "tokenbroker does not use in the Developer Console";
    case 401:
      return "the Console refused the credential's token: check that the credential is an OAuth "
             "Server-to-Server credential of this project";
    case 403:
      return "add the I/O Management API to the Developer Console project and let the "
             "credential request its scopes (adobeio_api, read_client_secret, "
             "manage_client_secrets)";
    case 409:
      return "a JWT to OAuth Server-to-Server migration of this credential is in progress: "
             "finish it in the Developer Console first";
    default:
      return "";
  }
}

absl::Status StatusOf(const HttpResponse& response, absl::string_view what,
                      const SecretString& token) {
  const int code = response.status_code;
  json body = ParseBody(response);
  std::map<std::string, std::string> metadata = {
      {"http_status", absl::StrCat(code)},
      {"error_code", AdobeMessage(body, "error_code", 32, token)}};
  std::string adobe = AdobeMessage(body, "message", kMaxQuotedMessage, token);
  std::string message = absl::StrCat("Developer Console refused to ", what, ": HTTP ", code,
                                     adobe.empty() ? "" : absl::StrCat(" (", adobe, ")"));
  if (code == 429 || code >= 500) {
    absl::Status status =
        WithErrorInfo(absl::UnavailableError(message), kReasonConsoleUnavailable, metadata);
    int64_t seconds = 0;
    if (absl::SimpleAtoi(response.Header("retry-after"), &seconds) && seconds >= 0) {
      status = WithRetryDelay(std::move(status), absl::Seconds(seconds));
    }
    return status;
  }
  if (code == 404) {
    return WithErrorInfo(absl::NotFoundError(absl::StrCat(
                             message, "; check the integration's Console org and credential ids")),
                         kReasonConsoleRefused, metadata);
  }
  std::string remedy = Remedy(code);
  if (!remedy.empty()) absl::StrAppend(&message, ": ", remedy);
  return WithErrorInfo(absl::FailedPreconditionError(message), kReasonConsoleRefused, metadata);
}

absl::Status BadResponse(absl::string_view what, absl::string_view why) {
  return WithErrorInfo(absl::UnavailableError(absl::StrCat("Developer Console answered ", what,
                                                           " with an unusable body: ", why)),
                       kReasonConsoleBadResponse, {});
}

// Milliseconds since the epoch; nullopt when absent, not an integer, or
// outside years 1970..9999 (a float or a huge number is not a time).
std::optional<absl::Time> MillisField(const json& object, const char* key) {
  constexpr int64_t kYear10000Millis = 253402300800000;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{kYear10000Millis}) {
    return std::nullopt;
  }
  int64_t millis = it->get<int64_t>();
  if (millis < 0 || millis > kYear10000Millis) return std::nullopt;
  return absl::FromUnixMillis(millis);
}

absl::StatusOr<ConsoleSecret> SecretOf(const json& item) {
  if (!item.is_object() || !item.contains("uuid") || !item["uuid"].is_string() ||
      !IsPathSafe(item["uuid"].get_ref<const std::string&>())) {
    return BadResponse("the listing", "a secret without a well-formed uuid");
  }
  ConsoleSecret secret;
  secret.uuid = item["uuid"].get<std::string>();
  secret.created = MillisField(item, "created_at").value_or(absl::InfinitePast());
  auto usages = item.find("secret_usages");
  if (usages != item.end() && usages->is_array()) {
    for (const json& usage : *usages) {
      std::optional<absl::Time> used =
          usage.is_object() ? MillisField(usage, "last_used_at") : std::nullopt;
      if (used && (!secret.last_used || *used > *secret.last_used)) secret.last_used = used;
    }
  }
  return secret;
}

}  // namespace

HttpConsoleSecrets::HttpConsoleSecrets(std::shared_ptr<HttpTransport> transport,
                                       std::string base_url, absl::Duration timeout)
    : transport_(std::move(transport)), base_url_(std::move(base_url)), timeout_(timeout) {}

absl::StatusOr<HttpResponse> HttpConsoleSecrets::Call(absl::string_view method,
                                                      const ConsoleTarget& credential,
                                                      const SecretString& token,
                                                      absl::string_view suffix) {
  if (!IsPathSafe(credential.org_id) || !IsPathSafe(credential.credential_id)) {
    return absl::FailedPreconditionError(
        "the integration has no Developer Console org and credential ids (import it from the "
        "Console's download, or set them)");
  }
  HttpRequest request;
  request.method = std::string(method);
  request.url = absl::StrCat(base_url_, "/console/organizations/", credential.org_id,
                             "/credentials/", credential.credential_id, "/secrets", suffix);
  request.headers = {{"Authorization", absl::StrCat("Bearer ", token.value())},
                     {"x-api-key", credential.client_id},
                     {"Accept", "application/json"}};
  request.timeout = timeout_;
  return transport_->Send(request);
}

absl::StatusOr<std::vector<ConsoleSecret>> HttpConsoleSecrets::List(const ConsoleTarget& credential,
                                                                    const SecretString& token) {
  absl::StatusOr<HttpResponse> response = Call("GET", credential, token, "");
  if (!response.ok()) return response.status();
  if (response->status_code != 200) return StatusOf(*response, "list the client secrets", token);
  json body = ParseBody(*response);
  if (!body.is_object() || !body.contains("client_secrets") || !body["client_secrets"].is_array()) {
    return BadResponse("the listing", "no client_secrets array");
  }
  std::vector<ConsoleSecret> secrets;
  for (const json& item : body["client_secrets"]) {
    absl::StatusOr<ConsoleSecret> secret = SecretOf(item);
    if (!secret.ok()) return secret.status();
    secrets.push_back(*std::move(secret));
  }
  return secrets;
}

absl::StatusOr<AddedConsoleSecret> HttpConsoleSecrets::Add(const ConsoleTarget& credential,
                                                           const SecretString& token) {
  absl::StatusOr<HttpResponse> response = Call("POST", credential, token, "");
  if (!response.ok()) return response.status();
  if (response->status_code != 200 && response->status_code != 201) {
    return StatusOf(*response, "add a client secret", token);
  }
  json body = ParseBody(*response);
  if (!body.is_object() || !body.contains("client_secret") || !body["client_secret"].is_string() ||
      !body.contains("uuid") || !body["uuid"].is_string() ||
      !IsPathSafe(body["uuid"].get_ref<const std::string&>())) {
    return BadResponse("the new secret", "no client_secret and well-formed uuid");
  }
  const std::string& value = body["client_secret"].get_ref<const std::string&>();
  if (value.empty() || value.size() > kMaxSecretBytes ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return BadResponse("the new secret", "a client_secret that is empty, too long or not ASCII");
  }
  AddedConsoleSecret added;
  added.uuid = body["uuid"].get<std::string>();
  added.created = MillisField(body, "created_at").value_or(absl::InfinitePast());
  added.value = SecretString(body["client_secret"].get<std::string>());
  return added;
}

absl::Status HttpConsoleSecrets::Delete(const ConsoleTarget& credential, const SecretString& token,
                                        absl::string_view uuid) {
  if (!IsPathSafe(uuid)) return absl::InvalidArgumentError("a client secret uuid is malformed");
  absl::StatusOr<HttpResponse> response =
      Call("DELETE", credential, token, absl::StrCat("/", uuid));
  if (!response.ok()) return response.status();
  if (response->status_code / 100 != 2) {
    return StatusOf(*response, absl::StrCat("delete client secret ", uuid), token);
  }
  return absl::OkStatus();
}

}  // namespace tokenbroker
