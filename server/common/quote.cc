#include "server/common/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tokenbroker {

std::string QuoteInput(absl::string_view input, size_t max_bytes) {
  if (input.size() <= max_bytes) return absl::StrCat("'", absl::CHexEscape(input), "'");
  return absl::StrCat("'", absl::CHexEscape(input.substr(0, max_bytes)), "\u2026' (", input.size(),
                      " bytes)");
}

}  // namespace tokenbroker
