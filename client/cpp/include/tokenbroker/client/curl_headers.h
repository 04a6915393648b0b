// libcurl glue: the Adobe API headers as a `curl_slist`, owned.
//
//   absl::StatusOr<CurlHeaderList> headers = CurlHeaders(*source);
//   if (!headers.ok()) return headers.status();
//   curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers->get());
//   curl_easy_perform(curl);  // `headers` must outlive the transfer
#ifndef TOKENBROKER_CLIENT_CURL_HEADERS_H_
#define TOKENBROKER_CLIENT_CURL_HEADERS_H_

#include <curl/curl.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokenbroker/client/client.h"
#include "tokenbroker/client/token_source.h"

namespace tokenbroker::client {

// Owns a `curl_slist` (curl_slist_free_all on destruction). Move-only. The
// list holds the bearer token: keep it no longer than the request needs.
class CurlHeaderList {
 public:
  CurlHeaderList() = default;
  // Takes ownership of `list` (may be null).
  explicit CurlHeaderList(curl_slist* list) : list_(list) {}
  ~CurlHeaderList() { Reset(); }
  CurlHeaderList(CurlHeaderList&& other) noexcept : list_(other.release()) {}
  CurlHeaderList& operator=(CurlHeaderList&& other) noexcept {
    if (this != &other) {
      Reset();
      list_ = other.release();
    }
    return *this;
  }
  CurlHeaderList(const CurlHeaderList&) = delete;
  CurlHeaderList& operator=(const CurlHeaderList&) = delete;

  // For CURLOPT_HTTPHEADER. Null when empty.
  curl_slist* get() const { return list_; }
  // Gives up ownership.
  curl_slist* release() {
    curl_slist* list = list_;
    list_ = nullptr;
    return list;
  }
  // Appends one `Name: value` line (e.g. "Accept: application/json").
  // Errors: INVALID_ARGUMENT (a CR or LF in `line`: header injection),
  // RESOURCE_EXHAUSTED (out of memory).
  absl::Status Append(absl::string_view line);

 private:
  void Reset() {
    if (list_ != nullptr) curl_slist_free_all(list_);
    list_ = nullptr;
  }
  curl_slist* list_ = nullptr;
};

// `Name: value` lines of `headers`. Errors: as CurlHeaderList::Append.
absl::StatusOr<CurlHeaderList> ToCurlHeaders(const std::vector<Header>& headers);

// The integration's Adobe API headers from `source` (cached; see
// TokenSource::Headers). Errors: those of TokenSource::Headers, and as
// CurlHeaderList::Append.
absl::StatusOr<CurlHeaderList> CurlHeaders(TokenSource& source);

}  // namespace tokenbroker::client

#endif  // TOKENBROKER_CLIENT_CURL_HEADERS_H_
