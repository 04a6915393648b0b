// The audit log: one JSON line per RPC.
//
//   {"time":"2026-11-23T10:00:00.123Z","request_id":"5f0c...","caller":"svc-billing",
//    "peer":"ipv4:10.0.0.7:51234","method":"/tokenbroker.v1.TokenService/GetAccessToken",
//    "integration":"acme","code":"OK","x_debug_id":"...","token_fingerprint":"hmac:3f9a..."}
//
// Tokens and secrets never appear. A token is identified by a keyed hash,
// HMAC-SHA256(audit key, token), first 16 hex digits (the format is
// fingerprint::AuditFingerprint, client/common/fingerprint.h, which tokenctl
// shares): an operator holding the audit key can match a known token with
// `tokenctl audit fingerprint`, nobody else can confirm a guess.
#ifndef TOKENBROKER_SERVER_AUDIT_AUDIT_LOG_H_
#define TOKENBROKER_SERVER_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/secret.h"

namespace tokenbroker {

struct AuditRecord {
  absl::Time time;
  std::string request_id;
  std::string caller;
  // A proxy's calls for workloads (ext_authz): the proxy, when the policy
  // lets it speak for `caller`; else the workload it reported, if any.
  std::string via;
  std::string workload;
  std::string peer;
  std::string method;
  std::string integration;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string x_debug_id;  // IMS's, when IMS was involved
  // The token handed out, if any; only its keyed fingerprint is written.
  // Shared, not copied: the writer thread fingerprints it (once per token).
  std::shared_ptr<const SecretString> token;
};

// Where audit lines go. Thread-safe; Write may block on I/O.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Writes lines (each without its newline), then flushes once.
  // UNAVAILABLE when it cannot.
  virtual absl::Status Write(const std::vector<std::string>& lines) = 0;
};

// Appends to a file (created 0600), flushed per line.
class FileAuditSink final : public AuditSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileAuditSink>> Open(const std::string& path);
  ~FileAuditSink() override;
  absl::Status Write(const std::vector<std::string>& lines) override;

 private:
  explicit FileAuditSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
};

// Writes to stdout.
class StdoutAuditSink final : public AuditSink {
 public:
  absl::Status Write(const std::vector<std::string>& lines) override;

 private:
  absl::Mutex mu_;
};

enum class AuditFailureMode {
  kServe,   // keep serving; count the failures and log them
  kRefuse,  // refuse RPCs (UNAVAILABLE) while the audit log cannot be written
};

// Formats records on the caller's thread and hands the lines to one writer
// thread (a short critical section, no I/O on the RPC path); the writer
// flushes them to the sink in batches. The destructor writes what is queued.
class AuditLogger {
 public:
  // `key` is the HMAC key of token fingerprints.
  AuditLogger(std::unique_ptr<AuditSink> sink, SecretString key, AuditFailureMode mode);
  ~AuditLogger();

  void Record(const AuditRecord& record);
  // Blocks until every line recorded so far was handed to the sink.
  void Flush();
  // False in kRefuse mode after a failed write, until a write succeeds.
  bool Accepting() const;
  int64_t failures() const { return failures_.load(); }
  std::string Fingerprint(absl::string_view token) const;

  // "hmac:" + 16 hex of HMAC-SHA256(key, token): fingerprint::AuditFingerprint.
  static std::string KeyedFingerprint(absl::string_view key, absl::string_view token);
  // `fingerprint` is the token's, or "".
  static std::string ToJson(const AuditRecord& record, const std::string& fingerprint);

 private:
  std::unique_ptr<AuditSink> sink_;
  const SecretString key_;
  const AuditFailureMode mode_;
  std::atomic<int64_t> failures_{0};
  std::atomic<bool> healthy_{true};

  void WriterLoop();
  // The writer thread's cache of fingerprints of recent tokens (the same
  // token is handed out many times); holding the token keeps its address
  // from being reused while cached.
  std::map<const SecretString*, std::pair<std::shared_ptr<const SecretString>, std::string>>
      fingerprints_;
  absl::Mutex mu_;
  std::vector<AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

// Reads the audit key file: fingerprint::ReadAuditKeyFile (at least 32
// bytes; trailing whitespace is not part of the key). Errors: NOT_FOUND,
// INVALID_ARGUMENT (too short).
absl::StatusOr<SecretString> LoadAuditKey(const std::string& path);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_AUDIT_AUDIT_LOG_H_
