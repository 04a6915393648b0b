#include "tests/testing/stack.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <regex>

#include "absl/strings/str_cat.h"

namespace tokenbroker::testing {
namespace {

// A client of the emulator's admin endpoints, trusting its certificate.
std::unique_ptr<httplib::SSLClient> AdminClient(int port, const std::string& ca_file) {
  auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  client->set_ca_cert_path(ca_file);
  client->enable_server_certificate_verification(true);
  return client;
}

nlohmann::json ParseOk(const httplib::Result& res) {
  if (!res || res->status != 200) return nlohmann::json::object();
  return nlohmann::json::parse(res->body, nullptr, false);
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  int64_t len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

TestKeyPair GenerateTestKeyPair() {
  TestKeyPair pair;
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tokenbroker-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  pair.private_key_pem = BioToString(key_bio);
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  pair.certificate_pem = BioToString(cert_bio);
  BIO_free(key_bio);
  BIO_free(cert_bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pair;
}

absl::StatusOr<std::unique_ptr<ImsEmulatorProcess>> ImsEmulatorProcess::Start(
    const std::vector<nlohmann::json>& clients, const std::vector<std::string>& flags) {
  std::unique_ptr<ImsEmulatorProcess> ims(new ImsEmulatorProcess());
  std::string clients_file = ims->dir_.File("clients.json");
  nlohmann::json file = nlohmann::json::object();
  file["clients"] = nlohmann::json(clients);
  WriteFile(clients_file, file.dump());
  ims->ca_file_ = ims->dir_.File("emulator-cert.pem");
  std::string port_file = ims->dir_.File("port");
  std::vector<std::string> argv = {BinDir() + "/ims-emulator", "--listen=127.0.0.1:0",
                                   "--port-file=" + port_file, "--cert-out=" + ims->ca_file_,
                                   "--clients=" + clients_file};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto process = Subprocess::Start(argv, ims->dir_.File("emulator.log"));
  if (!process.ok()) return process.status();
  ims->process_ = std::move(*process);
  auto port = WaitForPortFile(port_file, absl::Seconds(20), ims->process_.get());
  if (!port.ok()) {
    return absl::Status(port.status().code(),
                        absl::StrCat(port.status().message(), "\n", ims->log()));
  }
  ims->port_ = *port;
  return ims;
}

nlohmann::json ImsEmulatorProcess::Stats() {
  return ParseOk(AdminClient(port_, ca_file_)->Get("/emulator/stats"));
}

int ImsEmulatorProcess::Exchanges(const std::string& client_id) {
  nlohmann::json stats = Stats();
  if (!stats.contains("exchanges") || !stats["exchanges"].contains(client_id)) return 0;
  return stats["exchanges"][client_id].get<int>();
}

int ImsEmulatorProcess::Exchanges(const std::string& client_id, const std::string& grant_type) {
  nlohmann::json stats = Stats();
  if (!stats.contains("exchanges_by_grant")) return 0;
  const nlohmann::json& by_grant = stats["exchanges_by_grant"];
  if (!by_grant.contains(grant_type) || !by_grant[grant_type].contains(client_id)) return 0;
  return by_grant[grant_type][client_id].get<int>();
}

int ImsEmulatorProcess::TokenRequests() {
  nlohmann::json stats = Stats();
  if (!stats.contains("token_requests")) return 0;
  return stats["token_requests"].get<int>();
}

std::vector<absl::Time> ImsEmulatorProcess::Arrivals(const std::string& client_id) {
  nlohmann::json stats = Stats();
  std::vector<absl::Time> out;
  if (!stats.contains("arrivals_ms") || !stats["arrivals_ms"].contains(client_id)) return out;
  for (const auto& ms : stats["arrivals_ms"][client_id]) {
    out.push_back(absl::FromUnixMillis(ms.get<int64_t>()));
  }
  return out;
}

void ImsEmulatorProcess::SetFaults(const nlohmann::json& faults) {
  AdminClient(port_, ca_file_)->Post("/emulator/faults", faults.dump(), "application/json");
}

void ImsEmulatorProcess::Reset() {
  AdminClient(port_, ca_file_)->Post("/emulator/reset", "", "application/json");
}

absl::Status ImsEmulatorProcess::PutClient(const nlohmann::json& client) {
  auto res =
      AdminClient(port_, ca_file_)->Post("/emulator/clients", client.dump(), "application/json");
  if (!res || res->status != 200) {
    return absl::InternalError(
        absl::StrCat("POST /emulator/clients: ", res ? res->body : "no answer"));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> ImsEmulatorProcess::SetHold(const nlohmann::json& hold) {
  auto res = AdminClient(port_, ca_file_)->Post("/emulator/hold", hold.dump(), "application/json");
  if (!res || res->status != 200) {
    return absl::InternalError(
        absl::StrCat("POST /emulator/hold: ", res ? res->body : "no answer"));
  }
  return nlohmann::json::parse(res->body, nullptr, false);
}

nlohmann::json ImsEmulatorProcess::HoldStatus() {
  return ParseOk(AdminClient(port_, ca_file_)->Get("/emulator/hold"));
}

nlohmann::json ImsEmulatorProcess::Secrets(const std::string& client_id) {
  httplib::Params params = {{"client_id", client_id}};
  nlohmann::json body =
      ParseOk(AdminClient(port_, ca_file_)->Get("/emulator/secrets", params, httplib::Headers()));
  if (!body.is_object() || !body.contains("secrets")) return nlohmann::json::array();
  return body["secrets"];
}

absl::StatusOr<std::unique_ptr<BrokerProcess>> BrokerProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<BrokerProcess> broker(new BrokerProcess());
  std::string port_file = broker->dir_.File("port");
  std::vector<std::string> argv = {BinDir() + "/tokenbroker", "--listen=127.0.0.1:0",
                                   "--port-file=" + port_file};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto process = Subprocess::Start(argv, broker->dir_.File("broker.log"));
  if (!process.ok()) return process.status();
  broker->process_ = std::move(*process);
  auto port = WaitForPortFile(port_file, absl::Seconds(20), broker->process_.get());
  if (!port.ok()) {
    return absl::Status(port.status().code(),
                        absl::StrCat(port.status().message(), "\n", broker->log()));
  }
  broker->port_ = *port;
  broker->channel_ = grpc::CreateChannel(broker->address(), grpc::InsecureChannelCredentials());
  return broker;
}

int BrokerProcess::metrics_port() const {
  std::smatch match;
  const std::string text = log();
  std::regex pattern(R"re("msg":"metrics serving".*"port":"(\d+)")re");
  if (!std::regex_search(text, match, pattern)) return 0;
  return std::stoi(match[1]);
}

int BrokerProcess::ext_authz_port() const {
  std::smatch match;
  const std::string text = log();
  std::regex pattern(R"re("msg":"ext_authz serving".*"port":"(\d+)")re");
  if (!std::regex_search(text, match, pattern)) return 0;
  return std::stoi(match[1]);
}

std::string BrokerProcess::ScrapeMetrics() const {
  httplib::Client client("127.0.0.1", metrics_port());
  auto response = client.Get("/metrics");
  return response && response->status == 200 ? response->body : "";
}

v1::CreateIntegrationRequest OAuthIntegration(const std::string& id, const std::string& client_id,
                                              const std::string& secret,
                                              const std::string& ims_url) {
  v1::CreateIntegrationRequest request;
  request.set_integration_id(id);
  v1::Integration* in = request.mutable_integration();
  in->set_auth_method(v1::AUTH_METHOD_OAUTH_SERVER_TO_SERVER);
  in->set_client_id(client_id);
  in->set_org_id("ORG1@AdobeOrg");
  in->add_scopes("openid");
  in->add_scopes("AdobeID");
  in->set_ims_url(ims_url);
  in->mutable_credentials()->add_client_secrets(secret);
  return request;
}

}  // namespace tokenbroker::testing
