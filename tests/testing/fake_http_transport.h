// A test double for HttpTransport: no sockets, scripted answers.
// It is insecure by design (it keeps request bodies, secrets included, in
// memory for assertions): tests only.
#ifndef TOKENBROKER_TESTS_TESTING_FAKE_HTTP_TRANSPORT_H_
#define TOKENBROKER_TESTS_TESTING_FAKE_HTTP_TRANSPORT_H_

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "server/http/http_transport.h"

namespace tokenbroker::testing {

// Answers Send() from a FIFO queue of scripted results; when the queue is
// empty, from the handler (if set); otherwise with UNAVAILABLE "no scripted
// response". Records every request. Thread-safe.
class FakeHttpTransport final : public HttpTransport {
 public:
  using Handler = std::function<absl::StatusOr<HttpResponse>(const HttpRequest&)>;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

  // Appends one scripted result.
  void Enqueue(absl::StatusOr<HttpResponse> result);
  // Appends a response with a JSON body and `headers`.
  void EnqueueJson(int status_code, const nlohmann::json& body,
                   std::vector<std::pair<std::string, std::string>> headers = {});
  // Answers requests once the queue is empty.
  void SetHandler(Handler handler);

  // The requests received so far, in order.
  std::vector<HttpRequest> requests() const;
  int request_count() const;

 private:
  mutable absl::Mutex mu_;
  std::deque<absl::StatusOr<HttpResponse>> queue_ ABSL_GUARDED_BY(mu_);
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
};

// An HttpResponse with a JSON body (and Content-Type) plus `headers`.
HttpResponse JsonResponse(int status_code, const nlohmann::json& body,
                          std::vector<std::pair<std::string, std::string>> headers = {});

// Decodes an application/x-www-form-urlencoded body ('+' is a space).
// Duplicate names: the last wins.
std::map<std::string, std::string> ParseForm(absl::string_view body);

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_FAKE_HTTP_TRANSPORT_H_
