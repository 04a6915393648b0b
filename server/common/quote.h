// Bounded echoes of caller input in error messages.
#ifndef TOKENBROKER_SERVER_COMMON_QUOTE_H_
#define TOKENBROKER_SERVER_COMMON_QUOTE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tokenbroker {

// How many bytes of an input an error message may quote.
inline constexpr size_t kMaxQuotedBytes = 64;

// `input` quoted for an error message: 'abc' when it is at most `max_bytes`
// long, else its first `max_bytes` bytes and its size, 'abc…' (20480 bytes).
// Non-printable and non-ASCII bytes are C-escaped (\xff), so the message is
// printable (ASCII but for the ellipsis), at most 4 * max_bytes + 32 bytes: a
// caller can never make an error (a gRPC trailer) large, nor inject lines
// into a log. Every error that repeats caller input goes through here.
std::string QuoteInput(absl::string_view input, size_t max_bytes = kMaxQuotedBytes);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_QUOTE_H_
