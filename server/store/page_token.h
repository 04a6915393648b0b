#ifndef TOKENBROKER_SERVER_STORE_PAGE_TOKEN_H_
#define TOKENBROKER_SERVER_STORE_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbroker {

// Page tokens are opaque to clients: `v1:` + the last id returned, in
// unpadded base64url. Every store pages by id order, so one encoding serves
// all backends.
std::string EncodePageToken(absl::string_view last_id);
// The last id of the previous page ("" for an empty token).
// INVALID_ARGUMENT when the token was not made by EncodePageToken.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token);

// A new opaque etag (16 hex digits, random).
std::string NewEtag();

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_STORE_PAGE_TOKEN_H_
