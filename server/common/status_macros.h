// The few Status helpers Debian's Abseil 20220623 lacks, written once.
#ifndef TOKENBROKER_SERVER_COMMON_STATUS_MACROS_H_
#define TOKENBROKER_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define TB_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status tb_status_ = (expr);      \
    if (!tb_status_.ok()) return tb_status_; \
  } while (0)

#define TB_STATUS_CONCAT_INNER_(a, b) a##b
#define TB_STATUS_CONCAT_(a, b) TB_STATUS_CONCAT_INNER_(a, b)

// `TB_ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares/assigns `x` from the
// value of an absl::StatusOr, or returns its status.
#define TB_ASSIGN_OR_RETURN(lhs, expr) \
  TB_ASSIGN_OR_RETURN_IMPL_(TB_STATUS_CONCAT_(tb_statusor_, __LINE__), lhs, expr)
// `statusor` names a variable and `lhs` may be a declaration (`auto x`): neither can be
// parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // TOKENBROKER_SERVER_COMMON_STATUS_MACROS_H_
