#include "server/console/console_file.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/quote.h"
#include "server/common/status_macros.h"

namespace tokenbroker {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxIdLength = 63;
constexpr size_t kMaxDisplayNameLength = 128;
constexpr size_t kMaxSecretsPerCredential = 2;  // Adobe's limit

// A value of the file and where it is, for errors that name the JSON path.
// Errors never quote a value: the file holds secrets.
class Node {
 public:
  Node(const json* value, std::string path) : value_(value), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool present() const { return value_ != nullptr && !value_->is_null(); }
  bool is_object() const { return present() && value_->is_object(); }

  // The member `key` (absent: a node that is not present).
  Node operator[](absl::string_view key) const {
    std::string path = path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
    if (!is_object()) return Node(nullptr, std::move(path));
    auto it = value_->find(std::string(key));
    return Node(it == value_->end() ? nullptr : &*it, std::move(path));
  }

  absl::Status Error(absl::string_view what) const { return InvalidField(path_, what); }

  absl::StatusOr<Node> Object() const {
    if (!present()) return Error("required");
    if (!value_->is_object()) return Error("must be a JSON object");
    return *this;
  }

  absl::StatusOr<std::vector<Node>> Array() const {
    if (!present()) return Error("required");
    if (!value_->is_array()) return Error("must be a JSON array");
    std::vector<Node> items;
    for (size_t i = 0; i < value_->size(); ++i) {
      items.emplace_back(&(*value_)[i], absl::StrCat(path_, "[", i, "]"));
    }
    return items;
  }

  // A non-empty string. `absent_ok`: a missing member is "".
  absl::StatusOr<std::string> String(bool absent_ok = false) const {
    if (!present()) {
      if (absent_ok) return std::string();
      return Error("required");
    }
    if (!value_->is_string()) return Error("must be a string");
    const std::string& s = value_->get_ref<const std::string&>();
    if (s.empty() && !absent_ok) return Error("must not be empty");
    return s;
  }

  // The Console's numeric ids come as strings or numbers.
  absl::StatusOr<std::string> Id() const {
    if (present() && value_->is_number_unsigned()) return absl::StrCat(value_->get<uint64_t>());
    return String(/*absent_ok=*/true);
  }

  // A non-empty array of non-empty strings.
  absl::StatusOr<std::vector<std::string>> Strings() const {
    TB_ASSIGN_OR_RETURN(std::vector<Node> items, Array());
    if (items.empty()) return Error("must not be empty");
    std::vector<std::string> strings;
    for (const Node& item : items) {
      TB_ASSIGN_OR_RETURN(std::string s, item.String());
      strings.push_back(std::move(s));
    }
    return strings;
  }

 private:
  const json* value_;
  std::string path_;
};

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string ClipUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  s.resize(end);
  return s;
}

absl::StatusOr<Integration> S2sIntegration(const Node& block, const std::string& org_id) {
  TB_RETURN_IF_ERROR(block.Object().status());
  Integration integration;
  integration.auth_method = AuthMethod::kOAuthServerToServer;
  TB_ASSIGN_OR_RETURN(integration.client_id, block["client_id"].String());
  TB_ASSIGN_OR_RETURN(std::vector<std::string> secrets, block["client_secrets"].Strings());
  if (secrets.size() > kMaxSecretsPerCredential) {
    return block["client_secrets"].Error("holds more than 2 secrets (Adobe allows at most 2)");
  }
  for (std::string& secret : secrets) {
    integration.credentials.client_secrets.emplace_back(std::move(secret));
  }
  TB_ASSIGN_OR_RETURN(integration.scopes, block["scopes"].Strings());
  TB_ASSIGN_OR_RETURN(integration.technical_account_id,
                      block["technical_account_id"].String(/*absent_ok=*/true));
  integration.org_id = org_id;
  integration.include_org_header = true;
  return integration;
}

// What a Console credential without an S2S block is, for the skipped list.
std::string SkipReason(const Node& credential, absl::string_view type) {
  if (credential["jwt"].present()) {
    return "a JWT service-account credential: the download carries no private key, and Adobe "
           "converted JWT credentials to OAuth Server-to-Server by 2026-03-01; download the "
           "project's JSON again to import its OAuth Server-to-Server credential";
  }
  return absl::StrCat("integration_type ", QuoteInput(type),
                      " holds no server-to-server credential");
}

// One entry of `credentials[]`: imported, or skipped (returns nullopt and fills `skipped`).
absl::StatusOr<std::optional<ImportedCredential>> ReadConsoleCredential(
    const Node& credential, const std::string& org_id, const std::string& console_org_id,
    SkippedCredential* skipped) {
  TB_RETURN_IF_ERROR(credential.Object().status());
  TB_ASSIGN_OR_RETURN(std::string name, credential["name"].String());
  TB_ASSIGN_OR_RETURN(std::string type, credential["integration_type"].String(true));
  Node s2s = credential["oauth_server_to_server"];
  if (!s2s.present()) {
    *skipped = {credential.path(), name, SkipReason(credential, type)};
    return std::nullopt;
  }
  ImportedCredential imported;
  imported.json_path = credential.path();
  imported.credential_name = name;
  TB_ASSIGN_OR_RETURN(imported.integration, S2sIntegration(s2s, org_id));
  imported.integration.console.org_id = console_org_id;
  TB_ASSIGN_OR_RETURN(imported.integration.console.credential_id, credential["id"].Id());
  imported.integration.id = SuggestIntegrationId(name);
  imported.integration.display_name = ClipUtf8(name, kMaxDisplayNameLength);
  return imported;
}

absl::StatusOr<CredentialFile> ParseConsole(const Node& root) {
  CredentialFile file;
  file.format = "console";
  Node project = root["project"];
  TB_RETURN_IF_ERROR(project.Object().status());
  TB_ASSIGN_OR_RETURN(std::string org_id, project["org"]["ims_org_id"].String());
  TB_ASSIGN_OR_RETURN(std::string console_org_id, project["org"]["id"].Id());
  TB_ASSIGN_OR_RETURN(std::vector<Node> credentials,
                      project["workspace"]["details"]["credentials"].Array());
  for (const Node& credential : credentials) {
    SkippedCredential skipped;
    TB_ASSIGN_OR_RETURN(std::optional<ImportedCredential> imported,
                        ReadConsoleCredential(credential, org_id, console_org_id, &skipped));
    if (imported) {
      file.credentials.push_back(*std::move(imported));
    } else {
      file.skipped.push_back(std::move(skipped));
    }
  }
  return file;
}

// "ims-na1.adobelogin.com" -> "https://ims-na1.adobelogin.com"; a URL stays as it is.
std::string ImsUrlOf(absl::string_view endpoint) {
  if (endpoint.empty() || absl::StrContains(endpoint, "://")) return std::string(endpoint);
  return absl::StrCat("https://", endpoint);
}

absl::StatusOr<CredentialFile> ParseAem(const Node& root) {
  Node aem = root["integration"];
  TB_RETURN_IF_ERROR(aem.Object().status());
  Node account = aem["technicalAccount"];
  TB_RETURN_IF_ERROR(account.Object().status());
  Integration integration;
  integration.auth_method = AuthMethod::kJwt;
  TB_ASSIGN_OR_RETURN(integration.client_id, account["clientId"].String());
  TB_ASSIGN_OR_RETURN(std::string secret, account["clientSecret"].String());
  integration.credentials.client_secrets.emplace_back(std::move(secret));
  TB_ASSIGN_OR_RETURN(std::string key, aem["privateKey"].String());
  integration.credentials.private_key_pem = SecretString(std::move(key));
  TB_ASSIGN_OR_RETURN(integration.org_id, aem["org"].String());
  TB_ASSIGN_OR_RETURN(integration.technical_account_id, aem["id"].String());
  TB_ASSIGN_OR_RETURN(std::string metascopes, aem["metascopes"].String());
  for (absl::string_view scope : absl::StrSplit(metascopes, ',', absl::SkipWhitespace())) {
    integration.metascopes.emplace_back(absl::StripAsciiWhitespace(scope));
  }
  TB_ASSIGN_OR_RETURN(std::string endpoint, aem["imsEndpoint"].String(/*absent_ok=*/true));
  integration.ims_url = ImsUrlOf(endpoint);
  integration.include_org_header = true;
  integration.id = SuggestIntegrationId(absl::StrCat("aem-", integration.client_id));
  integration.display_name = "AEM as a Cloud Service";

  CredentialFile file;
  file.format = "aem";
  file.credentials.push_back({"integration", "", std::move(integration)});
  return file;
}

// Latin-1 Supplement letters U+00C0..U+00FF without their accents; '-' for × and ÷.
constexpr absl::string_view kLatin1Folded =
    "aaaaaaaceeeeiiiidnooooo-ouuuuytsaaaaaaaceeeeiiiidnooooo-ouuuuyty";
static_assert(kLatin1Folded.size() == 0x40, "one letter per code point U+00C0..U+00FF");

}  // namespace

std::string SuggestIntegrationId(absl::string_view name) {
  std::string id;
  bool separator = false;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    char folded = 0;
    if (absl::ascii_isalnum(c)) {
      folded = absl::ascii_tolower(c);
    } else if (c == 0xC3 && i + 1 < name.size()) {
      unsigned char next = static_cast<unsigned char>(name[i + 1]);
      if (next >= 0x80 && next <= 0xBF) {
        folded = kLatin1Folded[next - 0x80];
        ++i;
      }
    }
    if (folded == 0 || folded == '-') {
      separator = true;
      continue;
    }
    if (separator && !id.empty()) id += '-';
    id += folded;
    separator = false;
  }
  if (id.empty()) return "credential";
  if (absl::ascii_isdigit(id.front())) id = absl::StrCat("c-", id);
  if (id.size() > kMaxIdLength) id.resize(kMaxIdLength);
  while (id.back() == '-') id.pop_back();
  return id;
}

absl::StatusOr<CredentialFile> ParseCredentialFile(absl::string_view json) {
  nlohmann::json parsed =
      nlohmann::json::parse(json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError("the credential file is not valid JSON");
  }
  Node root(&parsed, "");
  if (!root.is_object()) {
    return absl::InvalidArgumentError("the credential file must hold a JSON object");
  }
  if (root["project"].present()) return ParseConsole(root);
  if (root["integration"].present()) return ParseAem(root);
  return absl::InvalidArgumentError(
      "the credential file is neither a Developer Console download (no 'project') nor an AEM "
      "service credential (no 'integration')");
}

}  // namespace tokenbroker
