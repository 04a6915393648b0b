#include "server/store/postgres_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace tokenbroker::internal {
namespace {

struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

uint64_t ReadBigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool IsConnectionSqlState(absl::string_view state) {
  return absl::StartsWith(state, "08") || absl::StartsWith(state, "53") || state == "57P01" ||
         state == "57P02" || state == "57P03";
}

}  // namespace

absl::StatusOr<PgDsn> PgDsn::Parse(absl::string_view dsn) {
  std::string text(absl::StripAsciiWhitespace(dsn));
  if (text.empty()) return absl::InvalidArgumentError("postgres: empty connection string");
  char* errmsg = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
      PQconninfoParse(text.c_str(), &errmsg));
  if (errmsg != nullptr) PQfreemem(errmsg);  // may quote the string: never shown
  if (options == nullptr) {
    return absl::InvalidArgumentError(
        "postgres: cannot parse the connection string (expected a libpq URI "
        "postgresql://USER@HOST:PORT/DB?sslmode=verify-full or key=value pairs)");
  }
  std::string host, hostaddr, port, dbname, user;
  PgDsn out;
  for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    absl::string_view key = o->keyword;
    if (key == "host") host = o->val;
    if (key == "hostaddr") hostaddr = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
    if (key == "user") user = o->val;
    if (key == "password") out.password = SecretString(std::string(o->val));
  }
  if (host.empty()) host = hostaddr.empty() ? "(default socket)" : hostaddr;
  if (port.empty()) port = "5432";
  if (dbname.empty()) dbname = user.empty() ? "(default)" : user;
  out.description = absl::StrCat("host=", host, " port=", port, " dbname=", dbname);
  out.conninfo = SecretString(std::move(text));
  return out;
}

std::string ScrubPassword(std::string message, const PgDsn& dsn) {
  // A very short password would turn any message into noise; it is also
  // not a password worth the name.
  if (dsn.password.value().size() >= 4) {
    absl::StrReplaceAll({{dsn.password.value(), "<redacted>"}}, &message);
  }
  return message;
}

absl::Status PgErrorStatus(PGconn* conn, const PGresult* result, absl::string_view what,
                           const PgDsn& dsn) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string detail;
  if (primary != nullptr) {
    detail = primary;
  } else if (result != nullptr && *PQresultErrorMessage(result) != '\0') {
    detail = PQresultErrorMessage(result);
  } else if (conn != nullptr) {
    detail = PQerrorMessage(conn);
  }
  detail = std::string(absl::StripAsciiWhitespace(detail));
  absl::StrReplaceAll({{"\n", "; "}}, &detail);
  std::string message =
      ScrubPassword(absl::StrCat("postgres: ", what, ": ",
                                 state != nullptr ? absl::StrCat("[", state, "] ") : "", detail),
                    dsn);
  const bool connection_bad = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  if (state == nullptr) {
    return connection_bad ? absl::UnavailableError(message) : absl::InternalError(message);
  }
  absl::string_view s = state;
  if (IsConnectionSqlState(s) || connection_bad) return absl::UnavailableError(message);
  if (absl::StartsWith(s, "22")) return absl::InvalidArgumentError(message);  // data exception
  if (s == "23505") return absl::AlreadyExistsError(message);
  if (s == "23503") return absl::NotFoundError(message);
  if (s == "40001" || s == "40P01") return absl::AbortedError(message);
  if (s == "57014") return absl::UnavailableError(message);  // cancelled (timeout)
  return absl::InternalError(message);
}

std::string PgRows::Bytes(int row, int col) const {
  const char* v = PQgetvalue(result_.get(), row, col);
  int n = PQgetlength(result_.get(), row, col);
  return std::string(v, static_cast<size_t>(n));
}

int64_t PgRows::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  const char* v = PQgetvalue(result_.get(), row, col);
  int n = PQgetlength(result_.get(), row, col);
  uint64_t raw = ReadBigEndian(v, n);
  switch (n) {
    case 1:
      return static_cast<int8_t>(raw);
    case 2:
      return static_cast<int16_t>(raw);
    case 4:
      return static_cast<int32_t>(raw);
    default:
      return static_cast<int64_t>(raw);
  }
}

std::optional<int64_t> PgRows::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

int64_t PgRows::Affected() const {
  int64_t n = 0;
  if (!absl::SimpleAtoi(PQcmdTuples(result_.get()), &n)) return 0;
  return n;
}

PgParams& PgParams::Add(absl::string_view text) {
  values_.emplace_back(std::string(text));
  lengths_.push_back(static_cast<int>(text.size()));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Add(int64_t value) { return Add(absl::StrCat(value)); }

PgParams& PgParams::Add(std::optional<int64_t> value) {
  if (value.has_value()) return Add(*value);
  values_.emplace_back(std::nullopt);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::AddBytes(absl::string_view bytes) {
  values_.emplace_back(std::string(bytes));
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  return *this;
}

std::vector<const char*> PgParams::Values() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.has_value() ? v->data() : nullptr);
  return out;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const PgDsn& dsn, absl::Duration connect_timeout) {
  // Defaults first: the DSN's own values (expanded from `dbname`) override.
  const std::string timeout =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(connect_timeout)));
  const std::string conninfo(dsn.conninfo.value());
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "tokenbroker", conninfo.c_str(), nullptr};
  PgConnHandle conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string detail(absl::StripAsciiWhitespace(PQerrorMessage(conn.get())));
    absl::StrReplaceAll({{"\n", "; "}}, &detail);
    return absl::UnavailableError(ScrubPassword(
        absl::StrCat("postgres: cannot connect to ", dsn.description, ": ", detail), dsn));
  }
  // Server notices (e.g. "terminating connection") would go to stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(std::move(conn), &dsn));
}

bool PgConnection::Broken() {
  if (broken_) return true;
  if (PQstatus(conn_.get()) != CONNECTION_OK) return broken_ = true;
  // Idle: reading pending input does not block, and finds a closed socket
  // (server restarted, connection terminated by an administrator).
  // A terminated backend first sends an error, then closes: read twice so
  // the end of the stream is seen too, and let libpq parse what it read.
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) {
    for (int i = 0; i < 2; ++i) {
      if (PQconsumeInput(conn_.get()) == 0 || PQstatus(conn_.get()) != CONNECTION_OK) {
        return broken_ = true;
      }
      PQisBusy(conn_.get());
    }
  }
  return PQstatus(conn_.get()) != CONNECTION_OK && (broken_ = true);
}

absl::StatusOr<PgResultHandle> PgConnection::Run(absl::string_view what, const std::string& sql,
                                                 const PgParams* params, absl::Duration timeout) {
  PGconn* conn = conn_.get();
  if (broken_ || PQstatus(conn) != CONNECTION_OK) {
    broken_ = true;
    return absl::UnavailableError(absl::StrCat("postgres: ", what, ": connection lost"));
  }
  int sent;
  if (params != nullptr) {
    std::vector<const char*> values = params->Values();
    sent = PQsendQueryParams(conn, sql.c_str(), params->size(), nullptr, values.data(),
                             params->Lengths().data(), params->Formats().data(),
                             /*resultFormat=*/1);
  } else {
    sent = PQsendQuery(conn, sql.c_str());
  }
  if (sent == 0) {
    if (PQstatus(conn) != CONNECTION_OK) broken_ = true;
    return PgErrorStatus(conn, nullptr, what, *dsn_);
  }
  if (round_trips_ != nullptr) round_trips_->fetch_add(1);
  const absl::Time deadline = absl::Now() + timeout;
  PgResultHandle last, error;
  int drained_after_loss = 0;
  while (true) {
    while (PQisBusy(conn) && !broken_) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        // Ask the server to stop the statement; this connection is not
        // reused either way.
        if (PGcancel* cancel = PQgetCancel(conn); cancel != nullptr) {
          char buf[256];
          PQcancel(cancel, buf, sizeof(buf));
          PQfreeCancel(cancel);
        }
        broken_ = true;
        return absl::UnavailableError(
            absl::StrCat("postgres: ", what, ": no answer within ", absl::FormatDuration(timeout)));
      }
      pollfd fd{PQsocket(conn), POLLIN, 0};
      int ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000));
      if (poll(&fd, 1, ms) < 0 && errno != EINTR) {
        broken_ = true;
        break;
      }
      if (PQconsumeInput(conn) == 0) {
        broken_ = true;
        break;
      }
    }
    PGresult* r = PQgetResult(conn);
    if (r == nullptr) break;
    PgResultHandle result(r);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
      if (error == nullptr) error = std::move(result);
    } else {
      last = std::move(result);
    }
    if (broken_ && ++drained_after_loss > 16) break;
  }
  if (PQstatus(conn) != CONNECTION_OK) broken_ = true;
  if (error != nullptr) return PgErrorStatus(conn, error.get(), what, *dsn_);
  if (broken_) return PgErrorStatus(conn, nullptr, what, *dsn_);
  if (last == nullptr) return absl::InternalError(absl::StrCat("postgres: ", what, ": no result"));
  return last;
}

absl::StatusOr<PgRows> PgConnection::Exec(absl::string_view what, const std::string& sql,
                                          const PgParams& params, absl::Duration timeout) {
  TB_ASSIGN_OR_RETURN(PgResultHandle result, Run(what, sql, &params, timeout));
  return PgRows(std::move(result));
}

absl::Status PgConnection::ExecScript(absl::string_view what, const std::string& sql,
                                      absl::Duration timeout) {
  return Run(what, sql, nullptr, timeout).status();
}

PgPool::~PgPool() {
  absl::MutexLock lock(&mu_);
  idle_.clear();
}

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Return(std::move(conn_));
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  const bool broken = conn->Broken();
  if (broken) conn.reset();  // closed outside the lock
  absl::MutexLock lock(&mu_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire(std::optional<absl::Duration> timeout, bool fresh) {
  const absl::Time deadline = absl::Now() + timeout.value_or(options_.acquire_timeout);
  std::vector<std::unique_ptr<PgConnection>> dropped;
  mu_.Lock();
  if (fresh) {
    open_ -= static_cast<int>(idle_.size());
    dropped = std::move(idle_);
    idle_.clear();
  }
  while (true) {
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      mu_.Unlock();
      if (!conn->Broken()) return Lease(this, std::move(conn));
      conn.reset();
      mu_.Lock();
      --open_;
      continue;
    }
    if (open_ < options_.size) {
      ++open_;
      mu_.Unlock();
      dropped.clear();
      absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(
          dsn_, std::min(options_.connect_timeout, timeout.value_or(options_.acquire_timeout)));
      if (!conn.ok()) {
        absl::MutexLock lock(&mu_);
        --open_;
        return conn.status();
      }
      (*conn)->CountRoundTripsInto(&round_trips_);
      return Lease(this, *std::move(conn));
    }
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
      mu_.Unlock();
      return absl::UnavailableError(
          absl::StrCat("postgres: no free connection in the pool of ", options_.size, " within ",
                       absl::FormatDuration(timeout.value_or(options_.acquire_timeout))));
    }
  }
}

absl::Status PgPool::Run(const std::function<absl::Status(PgConnection&, bool* retry_safe)>& work) {
  for (int attempt = 0;; ++attempt) {
    TB_ASSIGN_OR_RETURN(Lease lease, Acquire(std::nullopt, /*fresh=*/attempt > 0));
    bool retry_safe = true;
    absl::Status status = work(*lease, &retry_safe);
    if (status.ok() || attempt > 0 || !retry_safe || !absl::IsUnavailable(status) ||
        !lease->Broken()) {
      return status;
    }
    Log(LogLevel::kInfo, "postgres: connection lost; retrying on a new connection",
        {{"database", dsn_.description}, {"error", std::string(status.message())}});
  }
}

absl::Status PgPool::Transaction(const std::function<absl::Status(PgConnection&)>& work) {
  return Run([&work](PgConnection& conn, bool* retry_safe) -> absl::Status {
    TB_RETURN_IF_ERROR(conn.ExecScript("BEGIN", "BEGIN ISOLATION LEVEL READ COMMITTED"));
    absl::Status status = work(conn);
    if (!status.ok()) {
      if (!conn.Broken()) conn.ExecScript("ROLLBACK", "ROLLBACK").IgnoreError();
      return status;
    }
    // From here a lost connection leaves the outcome unknown: no retry.
    *retry_safe = false;
    absl::Status committed = conn.ExecScript("COMMIT", "COMMIT");
    if (absl::IsUnavailable(committed)) {
      return absl::UnavailableError(
          absl::StrCat(committed.message(), " (the change may or may not have been applied)"));
    }
    return committed;
  });
}

}  // namespace tokenbroker::internal
