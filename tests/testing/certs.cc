#include "tests/testing/certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/testing/subprocess.h"

namespace tokenbroker::testing {
namespace {

std::string ToPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string ToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, long from, long to, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), from);
  X509_gmtime_adj(X509_getm_notAfter(cert), to);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

}  // namespace

TestCa::TestCa(const std::string& name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = NewCert(key, name, -3600, 10L * 365 * 24 * 3600, 1);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  X509_sign(cert, key, EVP_sha256());
  ca_ = PemPair{ToPem(cert), ToPem(key)};
  key_ = key;
  cert_ = cert;
}

TestCa::~TestCa() {
  X509_free(static_cast<X509*>(cert_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

PemPair TestCa::Issue(const CertSpec& spec) const {
  static long serial = 100;
  X509* issuer = static_cast<X509*>(cert_);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = NewCert(key, spec.common_name, spec.not_before_offset_seconds,
                       spec.not_after_offset_seconds, ++serial);
  X509_set_issuer_name(cert, X509_get_subject_name(issuer));
  std::string san;
  auto add = [&san](const std::string& kind, const std::string& value) {
    if (!san.empty()) san += ",";
    san += kind + ":" + value;
  };
  for (const auto& d : spec.dns_names) add("DNS", d);
  for (const auto& ip : spec.ip_addresses) add("IP", ip);
  for (const auto& uri : spec.uris) add("URI", uri);
  if (!san.empty()) AddExtension(cert, issuer, NID_subject_alt_name, san);
  AddExtension(cert, issuer, NID_basic_constraints, "CA:FALSE");
  X509_sign(cert, static_cast<EVP_PKEY*>(key_), EVP_sha256());
  PemPair pair{ToPem(cert), ToPem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return pair;
}

void WriteServerTls(const TestCa& ca, const std::string& dir) {
  PemPair server = ca.Issue(
      {.common_name = "tokenbroker", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
  WriteFile(dir + "/server.pem", server.certificate);
  WriteFile(dir + "/server.key", server.private_key);
  WriteFile(dir + "/ca.pem", ca.certificate());
}

}  // namespace tokenbroker::testing
