#include "tokenbroker/client/curl_headers.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "internal/status_macros.h"

namespace tokenbroker::client {

absl::Status CurlHeaderList::Append(absl::string_view line) {
  if (line.find_first_of("\r\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError("a header line must not contain CR or LF");
  }
  // curl_slist_append copies the string, and needs it NUL-terminated.
  std::string copy(line);
  curl_slist* appended = curl_slist_append(list_, copy.c_str());
  if (appended == nullptr) return absl::ResourceExhaustedError("curl_slist_append failed");
  list_ = appended;
  return absl::OkStatus();
}

absl::StatusOr<CurlHeaderList> ToCurlHeaders(const std::vector<Header>& headers) {
  CurlHeaderList list;
  for (const Header& header : headers) {
    TBC_RETURN_IF_ERROR(list.Append(absl::StrCat(header.name, ": ", header.value)));
  }
  return list;
}

absl::StatusOr<CurlHeaderList> CurlHeaders(TokenSource& source) {
  TBC_ASSIGN_OR_RETURN(RequestHeaders headers, source.Headers());
  return ToCurlHeaders(headers.headers);
}

}  // namespace tokenbroker::client
