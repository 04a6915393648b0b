// The libcurl helper: list contents, and a real request carrying them.
#include "tokenbroker/client/curl_headers.h"

#include <httplib.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sdk_stack.h"

namespace tokenbroker::client::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Lines(const CurlHeaderList& list) {
  std::vector<std::string> lines;
  for (curl_slist* item = list.get(); item != nullptr; item = item->next) {
    lines.emplace_back(item->data);
  }
  return lines;
}

TEST(CurlHeaderListTest, ToCurlHeadersFormatsNameColonValue) {
  absl::StatusOr<CurlHeaderList> list =
      ToCurlHeaders({{"Authorization", "Bearer t"}, {"x-api-key", "c1"}});

  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(Lines(*list), ElementsAre("Authorization: Bearer t", "x-api-key: c1"));
}

TEST(CurlHeaderListTest, AppendRejectsLineBreaks) {
  CurlHeaderList list;
  EXPECT_EQ(list.Append("x: a\r\nInjected: b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(list.get(), nullptr);
  EXPECT_EQ(ToCurlHeaders({{"x", "a\nb"}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CurlHeaderListTest, MoveTransfersOwnership) {
  CurlHeaderList a;
  ASSERT_TRUE(a.Append("Accept: application/json").ok());
  curl_slist* raw = a.get();
  CurlHeaderList b(std::move(a));
  EXPECT_EQ(a.get(), nullptr);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(b.get(), raw);
  CurlHeaderList c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  curl_slist_free_all(c.release());
}

TEST(CurlHeadersTest, RequestCarriesAdobeHeadersFromTokenSource) {
  auto stack = SdkStack::Start();
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto client = Client::New((*stack)->PlaintextOptions());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*stack)->CreateIntegration(**client, "billing", kLongClient, kLongSecret).ok());
  auto source = TokenSource::New(*client, "billing");
  ASSERT_TRUE(source.ok()) << source.status();
  absl::StatusOr<AccessToken> token = (*source)->Token();
  ASSERT_TRUE(token.ok()) << token.status();

  // An HTTP server standing in for an Adobe API: it echoes what it got.
  httplib::Server api;
  api.Get("/echo", [](const httplib::Request& request, httplib::Response& response) {
    std::string body;
    for (const char* name : {"Authorization", "x-api-key", "x-gw-ims-org-id"}) {
      body += std::string(name) + "=" + request.get_header_value(name) + "\n";
    }
    response.set_content(body, "text/plain");
  });
  int port = api.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&api] { api.listen_after_bind(); });

  absl::StatusOr<CurlHeaderList> headers = CurlHeaders(**source);
  ASSERT_TRUE(headers.ok()) << headers.status();
  CURL* curl = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/echo";
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers->get());
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  api.stop();
  serving.join();

  ASSERT_EQ(code, CURLE_OK) << curl_easy_strerror(code);
  EXPECT_THAT(body, HasSubstr("Authorization=Bearer " + token->token + "\n"));
  EXPECT_THAT(body, HasSubstr(std::string("x-api-key=") + kLongClient + "\n"));
  EXPECT_THAT(body, HasSubstr(std::string("x-gw-ims-org-id=") + kOrgId + "\n"));
}

}  // namespace
}  // namespace tokenbroker::client::testing
