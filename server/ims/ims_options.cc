#include "server/ims/ims_options.h"

#include "absl/strings/strip.h"

namespace tokenbroker {

std::string ImsBaseUrl(const Integration& integration, const ImsOptions& options) {
  absl::string_view base =
      integration.ims_url.empty() ? options.default_base_url : integration.ims_url;
  while (absl::ConsumeSuffix(&base, "/")) {
  }
  return std::string(base);
}

}  // namespace tokenbroker
