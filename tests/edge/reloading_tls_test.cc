// The HTTP endpoint's TLS reload, through real TLS handshakes in memory
// (OpenSSL BIO pairs): which certificate a client is served and which
// client certificates are accepted, as files change and a fake clock moves.
#include "server/edge/reloading_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/certs.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using testing::FakeClock;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PemPair;
using testing::TempDir;
using testing::TestCa;
using testing::WriteFile;

constexpr absl::Duration kInterval = absl::Seconds(10);

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

X509* CertOf(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// A client trusting `trusted_ca`, presenting `client` when given.
CtxPtr ClientContext(const std::string& trusted_ca, const PemPair* client) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  X509* ca = CertOf(trusted_ca);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca);
  X509_free(ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (client != nullptr) {
    X509* cert = CertOf(client->certificate);
    BIO* bio =
        BIO_new_mem_buf(client->private_key.data(), static_cast<int>(client->private_key.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    SSL_CTX_use_certificate(ctx.get(), cert);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  return ctx;
}

// Drives both ends of a handshake over a BIO pair. True when both finish.
bool RunHandshake(SSL* client, SSL* server) {
  bool client_done = false, server_done = false;
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    for (auto [ssl, done] : {std::pair{client, &client_done}, std::pair{server, &server_done}}) {
      if (*done) continue;
      int rc = SSL_do_handshake(ssl);
      int error = SSL_get_error(ssl, rc);
      if (rc == 1) {
        *done = true;
      } else if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
      }
    }
  }
  // (TLS 1.3: the client is done before the server has checked the
  // client's certificate; a refusal fails the server's end above.)
  return client_done && server_done;
}

// A server context carrying `tls`, attached once as the endpoint does:
// every later handshake on it gets its material from the callback.
CtxPtr ServerContext(ReloadingTls& tls, bool require_client = false) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  tls.Attach(ctx.get());
  if (require_client) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// The CN of the certificate `server_ctx` serves a client trusting
// `trusted_ca` (presenting `client` if given); "" when the handshake fails.
std::string ServedName(SSL_CTX* server_ctx, const std::string& trusted_ca,
                       const PemPair* client = nullptr) {
  CtxPtr client_ctx = ClientContext(trusted_ca, client);
  SslPtr server(SSL_new(server_ctx));
  SslPtr client_ssl(SSL_new(client_ctx.get()));
  BIO* server_end = nullptr;
  BIO* client_end = nullptr;
  BIO_new_bio_pair(&server_end, 0, &client_end, 0);
  SSL_set_bio(server.get(), server_end, server_end);
  SSL_set_bio(client_ssl.get(), client_end, client_end);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client_ssl.get());
  if (!RunHandshake(client_ssl.get(), server.get())) return "";
  X509* peer = SSL_get1_peer_certificate(client_ssl.get());
  char name[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof(name));
  X509_free(peer);
  return name;
}

class ReloadingTlsTest : public ::testing::Test {
 protected:
  ReloadingTlsTest() {
    WriteIdentity(first_ca_.Issue({.common_name = "first", .dns_names = {"localhost"}}));
    WriteFile(dir_.File("clients.pem"), first_ca_.certificate());
  }
  void WriteIdentity(const PemPair& pair) {
    WriteCert(pair);
    WriteKey(pair);
  }
  // Each file replaced by a rename, as a Secret volume's update does.
  void WriteCert(const PemPair& pair) { Replace("server.pem", pair.certificate); }
  void WriteKey(const PemPair& pair) { Replace("server.key", pair.private_key); }
  void Replace(const std::string& name, const std::string& content) {
    WriteFile(dir_.File(name + ".new"), content);
    ASSERT_EQ(std::rename(dir_.File(name + ".new").c_str(), dir_.File(name).c_str()), 0);
  }
  std::unique_ptr<ReloadingTls> Load(bool client_ca = false) {
    absl::StatusOr<std::unique_ptr<ReloadingTls>> tls =
        ReloadingTls::Load({dir_.File("server.pem"), dir_.File("server.key"),
                            client_ca ? dir_.File("clients.pem") : ""},
                           kInterval, &clock_);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *std::move(tls) : nullptr;
  }

  TempDir dir_;
  FakeClock clock_;
  TestCa first_ca_{"first CA"};
  TestCa second_ca_{"second CA"};
};

TEST_F(ReloadingTlsTest, ServesTheLoadedCertificate) {
  std::unique_ptr<ReloadingTls> tls = Load();
  CtxPtr server = ServerContext(*tls);
  EXPECT_EQ(ServedName(server.get(), first_ca_.certificate()), "first");
  EXPECT_EQ(ServedName(server.get(), second_ca_.certificate()), "") << "trusting another CA";
}

TEST_F(ReloadingTlsTest, ChangedFilesAreServedFromTheFirstHandshakeAfterTheInterval) {
  std::unique_ptr<ReloadingTls> tls = Load();
  CtxPtr server = ServerContext(*tls);
  WriteIdentity(second_ca_.Issue({.common_name = "second", .dns_names = {"localhost"}}));
  clock_.Advance(kInterval - absl::Seconds(1));
  EXPECT_EQ(ServedName(server.get(), first_ca_.certificate()), "first")
      << "checked before the interval";
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(ServedName(server.get(), second_ca_.certificate()), "second");
  EXPECT_EQ(ServedName(server.get(), first_ca_.certificate()), "");
  EXPECT_EQ(tls->reloads(), 1);
  clock_.Advance(kInterval);
  EXPECT_EQ(ServedName(server.get(), second_ca_.certificate()), "second");
  EXPECT_EQ(tls->reloads(), 1) << "unchanged files are not read again";
}

TEST_F(ReloadingTlsTest, AKeyNotMatchingItsCertificateKeepsTheOldPairUntilBothAreWritten) {
  std::unique_ptr<ReloadingTls> tls = Load();
  CtxPtr server = ServerContext(*tls);
  PemPair next = second_ca_.Issue({.common_name = "second", .dns_names = {"localhost"}});
  WriteCert(next);  // half-way through a rotation: the key is still the old one
  clock_.Advance(kInterval);
  EXPECT_EQ(ServedName(server.get(), first_ca_.certificate()), "first");
  EXPECT_EQ(tls->reloads(), 0);
  WriteKey(next);
  clock_.Advance(kInterval);
  EXPECT_EQ(ServedName(server.get(), second_ca_.certificate()), "second");
  EXPECT_EQ(tls->reloads(), 1);
}

TEST_F(ReloadingTlsTest, ARotatedClientCaDecidesWhichClientCertificatesAreAccepted) {
  std::unique_ptr<ReloadingTls> tls = Load(/*client_ca=*/true);
  CtxPtr server = ServerContext(*tls, /*require_client=*/true);
  PemPair old_client = first_ca_.Issue({.common_name = "old-client"});
  PemPair new_client = second_ca_.Issue({.common_name = "new-client"});
  const std::string& trusted = first_ca_.certificate();  // the server's own CA
  EXPECT_EQ(ServedName(server.get(), trusted, &old_client), "first");
  EXPECT_EQ(ServedName(server.get(), trusted, &new_client), "");
  Replace("clients.pem", second_ca_.certificate());
  clock_.Advance(kInterval);
  EXPECT_EQ(ServedName(server.get(), trusted, &new_client), "first");
  EXPECT_EQ(ServedName(server.get(), trusted, &old_client), "");
  EXPECT_EQ(tls->reloads(), 1);
}

TEST_F(ReloadingTlsTest, FilesThatDoNotLoadAtStartAreInvalidArgumentNamingTheFlag) {
  auto load = [&](const std::string& cert, const std::string& key, const std::string& ca) {
    return ReloadingTls::Load({cert, key, ca}, kInterval, &clock_).status();
  };
  absl::Status missing = load(dir_.File("nope.pem"), dir_.File("server.key"), "");
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.ToString(), HasSubstr("--tls-cert"));
  WriteFile(dir_.File("other.key"), second_ca_.Issue({.common_name = "x"}).private_key);
  absl::Status mismatch = load(dir_.File("server.pem"), dir_.File("other.key"), "");
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.ToString(), HasSubstr("--tls-key"));
  EXPECT_THAT(mismatch.ToString(), Not(HasSubstr("PRIVATE KEY"))) << "no key material";
  WriteFile(dir_.File("empty.pem"), "");
  absl::Status no_ca =
      load(dir_.File("server.pem"), dir_.File("server.key"), dir_.File("empty.pem"));
  EXPECT_EQ(no_ca.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_ca.ToString(), HasSubstr("--client-ca-file"));
}

}  // namespace
}  // namespace tokenbroker
