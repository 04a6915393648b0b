#include "server/http/http_transport.h"

#include "absl/strings/match.h"

namespace tokenbroker {

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

}  // namespace tokenbroker
