// The caller identity of a verified client certificate, from the X509
// itself (the HTTP endpoint sees OpenSSL's handshake, not gRPC's
// AuthContext). The rule is CertificateIdentity's in
// server/api/call_guard.h, so one certificate names the same caller on
// either port: the first spiffe:// URI SAN, else the first DNS SAN, else
// the subject CN; nullopt when it has none of them.
#ifndef TOKENBROKER_SERVER_EDGE_CERTIFICATE_IDENTITY_H_
#define TOKENBROKER_SERVER_EDGE_CERTIFICATE_IDENTITY_H_

#include <openssl/x509.h>

#include <optional>
#include <string>

namespace tokenbroker {

// `certificate` may be null (no client certificate): nullopt. The caller
// must have verified it (the TLS handshake did); this only reads names.
std::optional<std::string> CertificateIdentity(const X509* certificate);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_EDGE_CERTIFICATE_IDENTITY_H_
