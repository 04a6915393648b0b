// Test PKI: a CA and certificates it signs, PEM, generated with OpenSSL.
#ifndef TOKENBROKER_TESTS_TESTING_CERTS_H_
#define TOKENBROKER_TESTS_TESTING_CERTS_H_

#include <string>
#include <vector>

namespace tokenbroker::testing {

struct PemPair {
  std::string certificate;
  std::string private_key;
};

struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> uris;  // e.g. spiffe://example.org/ns/a/sa/b
  long not_before_offset_seconds = -60;
  long not_after_offset_seconds = 24 * 3600;
};

class TestCa {
 public:
  explicit TestCa(const std::string& name = "tokenbroker test CA");
  ~TestCa();
  const std::string& certificate() const { return ca_.certificate; }
  PemPair Issue(const CertSpec& spec) const;

 private:
  PemPair ca_;
  void* key_;   // EVP_PKEY*
  void* cert_;  // X509*
};

// A loopback server's certificate (CN tokenbroker; localhost, 127.0.0.1)
// issued by `ca`, written to DIR/server.pem and DIR/server.key, with the CA
// to DIR/ca.pem: what the tests pass as --tls-cert, --tls-key and a client's
// trusted CA.
void WriteServerTls(const TestCa& ca, const std::string& dir);

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_CERTS_H_
