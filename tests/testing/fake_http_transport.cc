#include "tests/testing/fake_http_transport.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace tokenbroker::testing {

absl::StatusOr<HttpResponse> FakeHttpTransport::Send(const HttpRequest& request) {
  Handler handler;
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    if (!queue_.empty()) {
      absl::StatusOr<HttpResponse> result = std::move(queue_.front());
      queue_.pop_front();
      return result;
    }
    handler = handler_;
  }
  if (handler) return handler(request);  // outside the lock: it may block
  return absl::UnavailableError("FakeHttpTransport: no scripted response");
}

void FakeHttpTransport::Enqueue(absl::StatusOr<HttpResponse> result) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(result));
}

void FakeHttpTransport::EnqueueJson(int status_code, const nlohmann::json& body,
                                    std::vector<std::pair<std::string, std::string>> headers) {
  Enqueue(JsonResponse(status_code, body, std::move(headers)));
}

void FakeHttpTransport::SetHandler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

std::vector<HttpRequest> FakeHttpTransport::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int FakeHttpTransport::request_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(requests_.size());
}

HttpResponse JsonResponse(int status_code, const nlohmann::json& body,
                          std::vector<std::pair<std::string, std::string>> headers) {
  HttpResponse response;
  response.status_code = status_code;
  response.headers.emplace_back("content-type", "application/json");
  for (auto& [name, value] : headers) {
    response.headers.emplace_back(absl::AsciiStrToLower(name), std::move(value));
  }
  response.body = SecretString(body.dump());
  return response;
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseForm(absl::string_view body) {
  std::map<std::string, std::string> form;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    form[Decode(kv.first)] = Decode(kv.second);
  }
  return form;
}

}  // namespace tokenbroker::testing
