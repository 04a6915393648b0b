// HttpTransport over libcurl, with verified TLS and connection reuse.
//
// Design note: libcurl keeps its connection cache in the easy handle, so the
// transport keeps a pool of idle easy handles. Send() takes one (or makes a
// new one), uses it for one request and gives it back; a later request, from
// any thread, then reuses the open TLS connection instead of paying a new
// handshake. A handle is used by one thread at a time, as libcurl requires.
// (A CURLSH connection share would do the same with more locking; the pool is
// simpler and has no shared state inside libcurl.)
//
// Proxies: libcurl reads https_proxy/HTTPS_PROXY, http_proxy and
// NO_PROXY/no_proxy from the environment; nothing here overrides that.
#ifndef TOKENBROKER_SERVER_HTTP_CURL_HTTP_TRANSPORT_H_
#define TOKENBROKER_SERVER_HTTP_CURL_HTTP_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_transport.h"

namespace tokenbroker {

struct CurlHttpTransportOptions {
  // PEM file of the CA certificates to trust *instead of* the system store;
  // empty: the system store. Peer and host name verification are always on.
  std::string ca_file;
  // Time allowed for TCP connect plus TLS handshake.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Whole-request timeout, used when HttpRequest::timeout is zero.
  absl::Duration total_timeout = absl::Seconds(30);
  // Allows http:// URLs (flag --allow-insecure-ims-http); for local
  // emulators only. https:// is always allowed.
  bool allow_insecure_http = false;
  // Idle easy handles (each with its open connections) kept for reuse.
  int max_idle_connections = 16;
  // Responses larger than this fail with UNAVAILABLE (IMS answers are tiny).
  size_t max_response_bytes = 1 << 20;
};

// Thread-safe; Send() blocks until the response, an error or the timeout.
// Errors are those of HttpTransport. Messages name the host and the kind of
// failure, never the request or response body.
class CurlHttpTransport final : public HttpTransport {
 public:
  // Errors: INVALID_ARGUMENT (ca_file unreadable, non-positive timeouts),
  // FAILED_PRECONDITION (libcurl without TLS support).
  static absl::StatusOr<std::unique_ptr<CurlHttpTransport>> New(CurlHttpTransportOptions options);

  ~CurlHttpTransport() override;
  CurlHttpTransport(const CurlHttpTransport&) = delete;
  CurlHttpTransport& operator=(const CurlHttpTransport&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  explicit CurlHttpTransport(CurlHttpTransportOptions options);

  // A CURL* easy handle, opaque here so that <curl/curl.h> stays out of
  // the header.
  using Handle = void;
  Handle* Acquire();
  void Release(Handle* handle);

  const CurlHttpTransportOptions options_;
  absl::Mutex mu_;
  std::vector<Handle*> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_HTTP_CURL_HTTP_TRANSPORT_H_
