#include "server/audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>

#include "absl/strings/str_cat.h"
#include "client/common/fingerprint.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"

namespace tokenbroker {

absl::StatusOr<std::unique_ptr<FileAuditSink>> FileAuditSink::Open(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open --audit-log=", path));
  }
  std::FILE* file = fdopen(fd, "a");
  if (file == nullptr) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat("cannot open --audit-log=", path));
  }
  return std::unique_ptr<FileAuditSink>(new FileAuditSink(file, path));
}

FileAuditSink::~FileAuditSink() {
  absl::MutexLock lock(&mu_);
  std::fclose(file_);
}

namespace {

bool WriteLines(std::FILE* file, const std::vector<std::string>& lines) {
  bool ok = true;
  for (const std::string& line : lines) {
    ok = ok && std::fwrite(line.data(), 1, line.size(), file) == line.size() &&
         std::fputc('\n', file) != EOF;
  }
  ok = std::fflush(file) == 0 && ok;
  if (!ok) std::clearerr(file);
  return ok;
}

}  // namespace

absl::Status FileAuditSink::Write(const std::vector<std::string>& lines) {
  absl::MutexLock lock(&mu_);
  if (!WriteLines(file_, lines)) {
    return absl::UnavailableError(absl::StrCat("cannot write the audit log ", path_));
  }
  return absl::OkStatus();
}

absl::Status StdoutAuditSink::Write(const std::vector<std::string>& lines) {
  absl::MutexLock lock(&mu_);
  if (!WriteLines(stdout, lines)) {
    return absl::UnavailableError("cannot write the audit log to stdout");
  }
  return absl::OkStatus();
}

AuditLogger::AuditLogger(std::unique_ptr<AuditSink> sink, SecretString key, AuditFailureMode mode)
    : sink_(std::move(sink)), key_(std::move(key)), mode_(mode) {
  writer_ = std::thread([this] { WriterLoop(); });
}

AuditLogger::~AuditLogger() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void AuditLogger::Flush() {
  absl::MutexLock lock(&mu_);
  int64_t target = queued_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return written_ >= target; };
  mu_.Await(absl::Condition(&done));
}

void AuditLogger::WriterLoop() {
  while (true) {
    std::vector<AuditRecord> records;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      records.swap(queue_);
      stopping = stopping_;
    }
    std::vector<std::string> batch;
    batch.reserve(records.size());
    for (const AuditRecord& record : records) {
      std::string fingerprint;
      if (record.token != nullptr) {
        auto it = fingerprints_.find(record.token.get());
        if (it == fingerprints_.end()) {
          if (fingerprints_.size() >= 256) fingerprints_.clear();
          it = fingerprints_
                   .emplace(record.token.get(),
                            std::make_pair(record.token, Fingerprint(record.token->value())))
                   .first;
        }
        fingerprint = it->second.second;
      }
      batch.push_back(ToJson(record, fingerprint));
    }
    absl::Status written = batch.empty() ? absl::OkStatus() : sink_->Write(batch);
    if (written.ok()) {
      healthy_.store(true);
    } else {
      uint64_t before = static_cast<uint64_t>(failures_.fetch_add(batch.size()));
      uint64_t n = before + batch.size();
      healthy_.store(false);
      // Logged when the count of lost lines passes a power of two: loud, but
      // not a flood.
      if (std::bit_width(before) != std::bit_width(n)) {
        Log(LogLevel::kError, "audit log write failed",
            {{"error", std::string(written.message())},
             {"failures", absl::StrCat(n)},
             {"mode", mode_ == AuditFailureMode::kRefuse ? "refuse" : "serve"}});
      }
    }
    {
      absl::MutexLock lock(&mu_);
      written_ += static_cast<int64_t>(batch.size());
      if (stopping && queue_.empty()) return;
    }
  }
}

std::string AuditLogger::KeyedFingerprint(absl::string_view key, absl::string_view token) {
  return fingerprint::AuditFingerprint(key, token);
}

std::string AuditLogger::Fingerprint(absl::string_view token) const {
  return KeyedFingerprint(key_.value(), token);
}

std::string AuditLogger::ToJson(const AuditRecord& r, const std::string& fingerprint) {
  nlohmann::ordered_json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", r.time, absl::UTCTimeZone());
  line["request_id"] = r.request_id;
  line["caller"] = r.caller;
  if (!r.via.empty()) line["via"] = r.via;
  if (!r.workload.empty()) line["workload"] = r.workload;
  line["peer"] = r.peer;
  line["method"] = r.method;
  if (!r.integration.empty()) line["integration"] = r.integration;
  line["code"] = absl::StatusCodeToString(r.code);
  if (!r.x_debug_id.empty()) line["x_debug_id"] = r.x_debug_id;
  if (!fingerprint.empty()) line["token_fingerprint"] = fingerprint;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void AuditLogger::Record(const AuditRecord& record) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(record);
  ++queued_;
}

bool AuditLogger::Accepting() const { return mode_ == AuditFailureMode::kServe || healthy_.load(); }

absl::StatusOr<SecretString> LoadAuditKey(const std::string& path) {
  absl::StatusOr<std::string> key = fingerprint::ReadAuditKeyFile(path);
  if (!key.ok()) return key.status();
  return SecretString(*std::move(key));
}

}  // namespace tokenbroker
