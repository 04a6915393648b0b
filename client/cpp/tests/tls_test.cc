// TLS and mutual TLS to the real broker, with certificates made by the
// openssl CLI: a test CA, a server certificate for IP:127.0.0.1 (and
// DNS:tokenbroker.test), a client certificate.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sdk_stack.h"
#include "tests/testing/subprocess.h"
#include "tokenbroker/client/error.h"
#include "tokenbroker/client/token_source.h"

namespace tokenbroker::client::testing {
namespace {

using ::tokenbroker::testing::RunCommand;
using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WriteFile;

// Runs `openssl args...`; fails the test on a non-zero exit.
void OpenSsl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env", "openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv);
  ASSERT_EQ(result.exit_code, 0) << absl::StrJoin(argv, " ") << "\n" << result.err;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string ec[] = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                              "-nodes"};
    auto with_key = [&](std::vector<std::string> args) {
      args.insert(args.begin() + 1, std::begin(ec), std::end(ec));
      return args;
    };
    ASSERT_NO_FATAL_FAILURE(OpenSsl(with_key(
        {"req", "-x509", "-days", "1", "-subj", "/CN=tokenbroker test CA", "-keyout",
         File("ca.key"), "-out", File("ca.pem"), "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"})));
    WriteFile(File("server.ext"),
              "subjectAltName=IP:127.0.0.1,DNS:tokenbroker.test\nextendedKeyUsage=serverAuth\n");
    WriteFile(File("client.ext"), "extendedKeyUsage=clientAuth\n");
    for (const char* who : {"server", "client"}) {
      std::string name = who;
      ASSERT_NO_FATAL_FAILURE(
          OpenSsl(with_key({"req", "-subj", "/CN=tokenbroker-test-" + name, "-keyout",
                            File(name + ".key"), "-out", File(name + ".csr")})));
      ASSERT_NO_FATAL_FAILURE(
          OpenSsl({"x509", "-req", "-in", File(name + ".csr"), "-CA", File("ca.pem"), "-CAkey",
                   File("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", File(name + ".ext"),
                   "-out", File(name + ".pem")}));
    }
  }

  std::string File(const std::string& name) const { return dir_.File(name); }

  void StartBroker(bool mutual) {
    std::vector<std::string> flags = {"--tls-cert=" + File("server.pem"),
                                      "--tls-key=" + File("server.key")};
    if (mutual) flags.push_back("--client-ca-file=" + File("ca.pem"));
    auto stack = SdkStack::Start(flags);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  ClientOptions TlsOptions(bool client_cert) const {
    ClientOptions options;
    options.target = stack_->broker().address();
    options.ca_file = File("ca.pem");
    if (client_cert) {
      options.cert_file = File("client.pem");
      options.key_file = File("client.key");
    }
    options.retry.max_attempts = 1;
    options.call_timeout = absl::Seconds(5);
    return options;
  }

  std::shared_ptr<Client> NewClient(const ClientOptions& options) {
    auto client = Client::New(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<SdkStack> stack_;
};

TEST_F(TlsTest, TokenAndWatchWorkOverTlsVerifiedWithCaFile) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*mutual=*/false));
  std::shared_ptr<Client> client = NewClient(TlsOptions(/*client_cert=*/false));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(stack_->CreateIntegration(*client, "billing", kShortClient, kShortSecret).ok());

  absl::StatusOr<AccessToken> token = client->GetAccessToken("billing");
  ASSERT_TRUE(token.ok()) << token.status();
  auto source = TokenSource::New(client, "billing");
  ASSERT_TRUE(source.ok());
  absl::StatusOr<RequestHeaders> headers = (*source)->Headers();

  ASSERT_TRUE(headers.ok()) << headers.status();
  EXPECT_EQ(headers->headers[0].name, "Authorization");
}

TEST_F(TlsTest, TlsServerNameOverrideMustMatchCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*mutual=*/false));
  ClientOptions matching = TlsOptions(false);
  matching.tls_server_name = "tokenbroker.test";
  ClientOptions wrong = TlsOptions(false);
  wrong.tls_server_name = "elsewhere.test";

  EXPECT_EQ(NewClient(matching)->GetAccessToken("nobody").status().code(),
            absl::StatusCode::kNotFound);  // reached the server
  EXPECT_EQ(NewClient(wrong)->GetAccessToken("nobody").status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, UnavailableWhenServerCertificateIsNotTrusted) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*mutual=*/false));
  ClientOptions system_roots = TlsOptions(false);
  system_roots.ca_file.clear();

  absl::StatusOr<AccessToken> token = NewClient(system_roots)->GetAccessToken("nobody");

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
}

TEST_F(TlsTest, UnavailableWhenPlaintextClientMeetsTlsServer) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*mutual=*/false));
  ClientOptions plaintext;
  plaintext.target = stack_->broker().address();
  plaintext.plaintext = true;
  plaintext.retry.max_attempts = 1;

  absl::StatusOr<AccessToken> token = NewClient(plaintext)->GetAccessToken("nobody");

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
}

TEST_F(TlsTest, MutualTlsAcceptsClientCertificateSignedByClientCa) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*mutual=*/true));
  std::shared_ptr<Client> client = NewClient(TlsOptions(/*client_cert=*/true));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(stack_->CreateIntegration(*client, "billing", kLongClient, kLongSecret).ok());

  absl::StatusOr<AccessToken> token = client->GetAccessToken("billing");

  EXPECT_TRUE(token.ok()) << token.status();
}

TEST_F(TlsTest, MutualTlsRejectsClientWithoutCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*mutual=*/true));

  absl::StatusOr<AccessToken> token =
      NewClient(TlsOptions(/*client_cert=*/false))->GetAccessToken("nobody");

  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
}

}  // namespace
}  // namespace tokenbroker::client::testing
