// An HTTPS server on a free loopback port that answers every request with
// 200 and records what it received: the stand-in for an Adobe API behind a
// proxy, so that a test can check which headers reached the API (and that
// none did, when the proxy denied). For tests only: it trusts everything it
// is sent and keeps every request in memory.
#ifndef TOKENBROKER_TESTS_TESTING_RECORDING_HTTPS_SERVER_H_
#define TOKENBROKER_TESTS_TESTING_RECORDING_HTTPS_SERVER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace tokenbroker::testing {

// One request as the server saw it. Header names are lower-cased; a header
// sent twice appears twice, in `headers`'s order.
struct RecordedRequest {
  std::string method;
  std::string target;  // the request target as sent: path and query
  std::multimap<std::string, std::string> headers;

  // The values of header `name` (lower case).
  std::vector<std::string> Values(const std::string& name) const;
};

// Thread-safe: requests are served on the server's own threads; the
// accessors may be called from any thread.
class RecordingHttpsServer {
 public:
  // Serves TLS with the PEM certificate and key in the given files on
  // 127.0.0.1, port chosen by the system. Errors: INVALID_ARGUMENT (bad
  // certificate or key), UNAVAILABLE (cannot bind).
  static absl::StatusOr<std::unique_ptr<RecordingHttpsServer>> Start(const std::string& cert_file,
                                                                     const std::string& key_file);
  // Stops serving and joins the server thread.
  ~RecordingHttpsServer();

  int port() const { return port_; }
  // Every request received so far, oldest first.
  std::vector<RecordedRequest> Requests() const;

 private:
  RecordingHttpsServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable absl::Mutex mu_;
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_RECORDING_HTTPS_SERVER_H_
