#include "server/edge/certificate_identity.h"

#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/match.h"

namespace tokenbroker {
namespace {

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

std::string Ia5(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::optional<std::string> CommonName(const X509* certificate) {
  const X509_NAME* subject = X509_get_subject_name(certificate);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

std::optional<std::string> CertificateIdentity(const X509* certificate) {
  if (certificate == nullptr) return std::nullopt;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  std::optional<std::string> dns;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI) {
      std::string uri = Ia5(name->d.uniformResourceIdentifier);
      if (absl::StartsWith(uri, "spiffe://")) return uri;
    } else if (name->type == GEN_DNS && !dns.has_value()) {
      dns = Ia5(name->d.dNSName);
    }
  }
  if (dns.has_value()) return dns;
  return CommonName(certificate);
}

}  // namespace tokenbroker
