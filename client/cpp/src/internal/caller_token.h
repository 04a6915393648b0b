// The caller's own bearer token (ClientOptions::caller_token[_file]).
#ifndef TOKENBROKER_CLIENT_INTERNAL_CALLER_TOKEN_H_
#define TOKENBROKER_CLIENT_INTERNAL_CALLER_TOKEN_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokenbroker::client::internal {

// A fixed token, or one read from a file and re-read once the copy in
// memory is older than `reload`, so that a rotated file is picked up
// (BEHAVIOUR.md §5). Thread-safe. AuthorizationValue() blocks only for the
// re-read of a small file.
class CallerToken {
 public:
  // Errors: INVALID_ARGUMENT (the file cannot be read or is empty, or the
  // token holds characters gRPC metadata cannot carry).
  static absl::StatusOr<std::unique_ptr<CallerToken>> FromString(absl::string_view token);
  static absl::StatusOr<std::unique_ptr<CallerToken>> FromFile(std::string path,
                                                               absl::Duration reload);

  // The `authorization` metadata value: "Bearer <token>". Errors:
  // UNAUTHENTICATED naming the file (never its content) when a re-read
  // finds it unreadable, empty or holding what metadata cannot carry; the
  // call fails rather than go out with a token the file no longer holds.
  absl::StatusOr<std::string> AuthorizationValue();

 private:
  CallerToken(std::string path, absl::Duration reload, std::string value, absl::Time read_at)
      : path_(std::move(path)), reload_(reload), value_(std::move(value)), read_at_(read_at) {}

  const std::string path_;  // empty: fixed token
  const absl::Duration reload_;
  absl::Mutex mu_;
  std::string value_ ABSL_GUARDED_BY(mu_);
  absl::Time read_at_ ABSL_GUARDED_BY(mu_);
};

// Reads `path` whole. Errors: INVALID_ARGUMENT naming `what` and the path.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, const char* what);

}  // namespace tokenbroker::client::internal

#endif  // TOKENBROKER_CLIENT_INTERNAL_CALLER_TOKEN_H_
