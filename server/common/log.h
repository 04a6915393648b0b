// Structured logging: one JSON object per line on stderr.
//
// Never pass a secret (client secret, private key, access token) as a field:
// SecretString deliberately has no conversion that would allow it.
#ifndef TOKENBROKER_SERVER_COMMON_LOG_H_
#define TOKENBROKER_SERVER_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace tokenbroker {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogField = std::pair<absl::string_view, std::string>;

// Writes `{"time":...,"level":...,"msg":...,<fields>}` to stderr, atomically
// per line. Thread-safe.
void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});

// Lines below `level` are dropped. Default kInfo.
void SetMinLogLevel(LogLevel level);
// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_LOG_H_
