// Integration tests of CurlHttpTransport against a real in-process TLS
// server (cpp-httplib) on 127.0.0.1, port 0, with a certificate made here.
#include "server/http/curl_http_transport.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// A self-signed P-256 certificate for IP 127.0.0.1 (it is its own CA).
struct TestCert {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key;
  std::unique_ptr<X509, X509Deleter> cert;
  std::string pem;
};

TestCert MakeCert() {
  TestCert c;
  c.key.reset(EVP_EC_gen("P-256"));
  c.cert.reset(X509_new());
  X509* x = c.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, c.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, c.key.get(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  c.pem.assign(data, len);
  BIO_free(bio);
  return c;
}

// A port on which nothing listens (bound, then closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Starts `server` on 127.0.0.1:0 in a thread; returns the port.
int Start(httplib::Server& server, std::thread& thread) {
  int port = server.bind_to_any_port("127.0.0.1");
  thread = std::thread([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port;
}

class CurlHttpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The tests choose the proxy environment themselves.
    for (const char* var : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                            "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
      unsetenv(var);
    }
    cert_ = MakeCert();
    ca_file_ = dir_.File("ca.pem");
    testing::WriteFile(ca_file_, cert_.pem);
    server_ = std::make_unique<httplib::SSLServer>(cert_.cert.get(), cert_.key.get());
    ASSERT_TRUE(server_->is_valid());
    server_->set_keep_alive_max_count(1000);
    server_->set_tcp_nodelay(true);
    server_->Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
      {
        absl::MutexLock lock(&mu_);
        remote_ports_.insert(req.remote_port);
      }
      res.set_header("X-Debug-Id", "dbg-123");
      res.set_content(absl::StrCat(req.get_header_value("Content-Type"), "|", req.body),
                      "text/plain");
    });
    server_->Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      release_slow_.WaitForNotificationWithTimeout(absl::Seconds(5));
      res.set_content("late", "text/plain");
    });
    server_->Get("/status", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 503;
      res.set_content(R"({"error":"x"})", "application/json");
    });
    port_ = Start(*server_, thread_);
  }

  void TearDown() override {
    if (!release_slow_.HasBeenNotified()) release_slow_.Notify();
    server_->stop();
    thread_.join();
  }

  std::unique_ptr<CurlHttpTransport> Transport(bool with_ca = true) {
    CurlHttpTransportOptions options;
    if (with_ca) options.ca_file = ca_file_;
    auto t = CurlHttpTransport::New(options);
    EXPECT_TRUE(t.ok()) << t.status();
    return std::move(*t);
  }

  std::string Url(absl::string_view path) {
    return absl::StrCat("https://127.0.0.1:", port_, path);
  }

  HttpRequest Post(absl::string_view path) {
    HttpRequest req;
    req.url = Url(path);
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = SecretString(std::string("client_secret=MARKER-SECRET"));
    return req;
  }

  std::set<int> RemotePorts() {
    absl::MutexLock lock(&mu_);
    return remote_ports_;
  }

  testing::TempDir dir_;
  TestCert cert_;
  std::string ca_file_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  absl::Notification release_slow_;
  absl::Mutex mu_;
  std::set<int> remote_ports_ ABSL_GUARDED_BY(mu_);
};

TEST_F(CurlHttpTransportTest, SendSucceedsWithCaFileAndReturnsLowerCasedHeaders) {
  auto transport = Transport();
  auto response = transport->Send(Post("/token"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body.value(),
            "application/x-www-form-urlencoded|client_secret=MARKER-SECRET");
  EXPECT_EQ(response->Header("X-Debug-Id"), "dbg-123");
  bool lower_cased = false;
  for (const auto& [name, value] : response->headers) {
    EXPECT_EQ(name, absl::AsciiStrToLower(name));
    if (name == "x-debug-id") lower_cased = true;
  }
  EXPECT_TRUE(lower_cased);
}

TEST_F(CurlHttpTransportTest, SendReturnsHttpErrorStatusAsSuccess) {
  auto transport = Transport();
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/status");
  auto response = transport->Send(req);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 503);
}

TEST_F(CurlHttpTransportTest, SendFailsVerificationWithoutCa) {
  auto transport = Transport(/*with_ca=*/false);
  auto response = transport->Send(Post("/token"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("certificate verify failed"));
  EXPECT_THAT(response.status().message(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("MARKER-SECRET")));
  EXPECT_TRUE(RemotePorts().empty());
}

TEST_F(CurlHttpTransportTest, SendRefusesPlainHttpUnlessAllowed) {
  httplib::Server plain;
  plain.Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("plain", "text/plain");
  });
  std::thread plain_thread;
  int plain_port = Start(plain, plain_thread);
  HttpRequest req;
  req.method = "GET";
  req.url = absl::StrCat("http://127.0.0.1:", plain_port, "/x");

  auto response = Transport()->Send(req);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(response.status().message(), HasSubstr("--allow-insecure-ims-http"));

  CurlHttpTransportOptions options;
  options.allow_insecure_http = true;
  auto insecure = CurlHttpTransport::New(options);
  ASSERT_TRUE(insecure.ok());
  response = (*insecure)->Send(req);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body.value(), "plain");
  plain.stop();
  plain_thread.join();
}

TEST_F(CurlHttpTransportTest, SendRejectsMalformedAndNonHttpUrls) {
  auto transport = Transport();
  for (const char* url : {"not a url", "ftp://127.0.0.1/x", "https://"}) {
    HttpRequest req;
    req.url = url;
    EXPECT_EQ(transport->Send(req).status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
}

TEST_F(CurlHttpTransportTest, SequentialRequestsReuseOneConnection) {
  auto transport = Transport();
  for (int i = 0; i < 20; ++i) {
    auto response = transport->Send(Post("/token"));
    ASSERT_TRUE(response.ok()) << response.status();
  }
  EXPECT_EQ(RemotePorts().size(), 1u);
}

TEST_F(CurlHttpTransportTest, ConcurrentRequestsUseAtMostOneConnectionPerThread) {
  auto transport = Transport();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(transport->Send(Post("/token")).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(RemotePorts().size(), 1u);
  EXPECT_LE(RemotePorts().size(), 4u);
}

TEST_F(CurlHttpTransportTest, ConnectRefusedIsUnavailable) {
  HttpRequest req = Post("/token");
  req.url = absl::StrCat("https://127.0.0.1:", ClosedPort(), "/token");
  auto response = Transport()->Send(req);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("connect failed"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("MARKER-SECRET")));
}

TEST_F(CurlHttpTransportTest, TimeoutIsUnavailable) {
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/slow");
  req.timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  auto response = Transport()->Send(req);
  release_slow_.Notify();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(CurlHttpTransportTest, HttpsProxyFromEnvironmentIsUsed) {
  // A proxy that refuses connections: the request must fail through it.
  setenv("HTTPS_PROXY", absl::StrCat("http://127.0.0.1:", ClosedPort()).c_str(), 1);
  auto response = Transport()->Send(Post("/token"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(RemotePorts().empty());
}

TEST_F(CurlHttpTransportTest, NoProxyExemptsLoopback) {
  setenv("HTTPS_PROXY", absl::StrCat("http://127.0.0.1:", ClosedPort()).c_str(), 1);
  setenv("NO_PROXY", "127.0.0.1", 1);
  auto response = Transport()->Send(Post("/token"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
}

TEST(CurlHttpTransportNewTest, RejectsUnreadableCaFileAndBadTimeouts) {
  CurlHttpTransportOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(CurlHttpTransport::New(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = CurlHttpTransportOptions();
  options.connect_timeout = absl::ZeroDuration();
  EXPECT_EQ(CurlHttpTransport::New(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokenbroker
