#include "tests/ims_emulator/clients.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tokenbroker::emulator {
namespace {

using nlohmann::json;

absl::Status FieldError(absl::string_view client_id, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("client \"", client_id, "\": field \"", field, "\" ", problem));
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::string> StringField(const json& obj, absl::string_view client_id,
                                        const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return FieldError(client_id, field, "must be a string");
  return it->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> StringListField(const json& obj,
                                                         absl::string_view client_id,
                                                         const char* field) {
  std::vector<std::string> out;
  auto it = obj.find(field);
  if (it == obj.end()) return out;
  if (!it->is_array()) return FieldError(client_id, field, "must be an array of strings");
  for (const json& item : *it) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return FieldError(client_id, field, "must hold non-empty strings only");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

absl::StatusOr<ClientConfig> ParseClient(const json& obj, const std::string& base_dir) {
  if (!obj.is_object()) return absl::InvalidArgumentError("a client must be a JSON object");
  ClientConfig client;
  auto id = obj.find("client_id");
  if (id == obj.end() || !id->is_string() || id->get<std::string>().empty()) {
    return absl::InvalidArgumentError("a client needs a non-empty string \"client_id\"");
  }
  client.client_id = id->get<std::string>();
  const std::string& cid = client.client_id;

  static const std::set<std::string> kKnown = {"client_id",
                                               "client_secrets",
                                               "org_id",
                                               "technical_account_id",
                                               "certificate_pem",
                                               "certificate_file",
                                               "scopes",
                                               "metascopes",
                                               "token_lifetime_seconds",
                                               "console_org_id",
                                               "console_credential_id",
                                               "migration_in_progress"};
  for (const auto& item : obj.items()) {
    if (!kKnown.contains(item.key())) return FieldError(cid, item.key(), "is not a known field");
  }

  auto secrets = StringListField(obj, cid, "client_secrets");
  if (!secrets.ok()) return secrets.status();
  if (secrets->empty() || secrets->size() > 2) {
    return FieldError(cid, "client_secrets", "must hold one or two secrets");
  }
  client.client_secrets = *std::move(secrets);

  auto org = StringField(obj, cid, "org_id");
  if (!org.ok()) return org.status();
  client.org_id = *org;
  auto tech = StringField(obj, cid, "technical_account_id");
  if (!tech.ok()) return tech.status();
  client.technical_account_id = *tech;
  auto scopes = StringListField(obj, cid, "scopes");
  if (!scopes.ok()) return scopes.status();
  client.scopes = *std::move(scopes);
  auto metascopes = StringListField(obj, cid, "metascopes");
  if (!metascopes.ok()) return metascopes.status();
  client.metascopes = *std::move(metascopes);

  auto pem = StringField(obj, cid, "certificate_pem");
  if (!pem.ok()) return pem.status();
  auto file = StringField(obj, cid, "certificate_file");
  if (!file.ok()) return file.status();
  if (!pem->empty() && !file->empty()) {
    return FieldError(cid, "certificate_file", "cannot be combined with \"certificate_pem\"");
  }
  std::string cert_text = *pem;
  if (!file->empty()) {
    std::filesystem::path path(*file);
    if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
    auto text = ReadTextFile(path.string());
    if (!text.ok()) return FieldError(cid, "certificate_file", text.status().message());
    cert_text = *std::move(text);
  }
  if (!cert_text.empty()) {
    auto cert = ParseCertificatePem(cert_text);
    if (!cert.ok()) {
      return FieldError(cid, file->empty() ? "certificate_pem" : "certificate_file",
                        cert.status().message());
    }
    EvpPkeyPtr key = CertificatePublicKey(cert->get());
    if (key == nullptr || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
      return FieldError(cid, "certificate_pem", "must hold an RSA public key (JWTs are RS256)");
    }
    client.certificate_key = std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
  }

  auto console_org = StringField(obj, cid, "console_org_id");
  if (!console_org.ok()) return console_org.status();
  client.console_org_id = *console_org;
  auto console_credential = StringField(obj, cid, "console_credential_id");
  if (!console_credential.ok()) return console_credential.status();
  client.console_credential_id = *console_credential;
  auto migrating = obj.find("migration_in_progress");
  if (migrating != obj.end()) {
    if (!migrating->is_boolean()) {
      return FieldError(cid, "migration_in_progress", "must be true or false");
    }
    client.migration_in_progress = migrating->get<bool>();
  }

  auto lifetime = obj.find("token_lifetime_seconds");
  if (lifetime != obj.end()) {
    if (!lifetime->is_number_integer() || lifetime->get<int64_t>() <= 0) {
      return FieldError(cid, "token_lifetime_seconds", "must be a positive integer");
    }
    client.token_lifetime = absl::Seconds(lifetime->get<int64_t>());
  }
  return client;
}

absl::StatusOr<std::vector<ClientConfig>> ParseClients(absl::string_view text,
                                                       const std::string& base_dir) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!doc.is_object() || !doc.contains("clients") || !doc["clients"].is_array()) {
    return absl::InvalidArgumentError("expected an object {\"clients\": [...]}");
  }
  for (const auto& item : doc.items()) {
    if (item.key() != "clients") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown top-level field \"", item.key(), "\""));
    }
  }
  std::vector<ClientConfig> clients;
  std::set<std::string> ids;
  size_t index = 0;
  for (const json& item : doc["clients"]) {
    auto client = ParseClient(item, base_dir);
    if (!client.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("clients[", index, "]: ", client.status().message()));
    }
    if (!ids.insert(client->client_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("clients[", index, "]: duplicate client_id \"", client->client_id, "\""));
    }
    clients.push_back(*std::move(client));
    ++index;
  }
  return clients;
}

absl::StatusOr<std::vector<ClientConfig>> LoadClientsFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto clients = ParseClients(*text, std::filesystem::path(path).parent_path().string());
  if (!clients.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", clients.status().message()));
  }
  return clients;
}

}  // namespace tokenbroker::emulator
