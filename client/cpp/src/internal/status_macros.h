// The two Status helpers Debian's Abseil 20220623 lacks, for the SDK's own
// sources (the server has its own copy; the SDK does not depend on server/).
#ifndef TOKENBROKER_CLIENT_INTERNAL_STATUS_MACROS_H_
#define TOKENBROKER_CLIENT_INTERNAL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define TBC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status tbc_status_ = (expr);       \
    if (!tbc_status_.ok()) return tbc_status_; \
  } while (0)

#define TBC_CONCAT_INNER_(a, b) a##b
#define TBC_CONCAT_(a, b) TBC_CONCAT_INNER_(a, b)

// `TBC_ASSIGN_OR_RETURN(auto x, StatusOrExpr());`
#define TBC_ASSIGN_OR_RETURN(lhs, expr) \
  TBC_ASSIGN_OR_RETURN_IMPL_(TBC_CONCAT_(tbc_statusor_, __LINE__), lhs, expr)
// `statusor` names a variable and `lhs` may be a declaration (`auto x`): neither can be
// parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TBC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)    \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // TOKENBROKER_CLIENT_INTERNAL_STATUS_MACROS_H_
