#include "server/audit/audit_log.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
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

absl::Status FileAuditSink::Write(const std::string& line) {
  absl::MutexLock lock(&mu_);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fputc('\n', file_) == EOF || std::fflush(file_) != 0) {
    std::clearerr(file_);
    return absl::UnavailableError(absl::StrCat("cannot write the audit log ", path_));
  }
  return absl::OkStatus();
}

absl::Status StdoutAuditSink::Write(const std::string& line) {
  absl::MutexLock lock(&mu_);
  std::string text = line + "\n";
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    std::clearerr(stdout);
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
    std::vector<std::string> batch;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      batch.swap(queue_);
      stopping = stopping_;
    }
    for (const std::string& line : batch) {
      absl::Status written = sink_->Write(line);
      if (written.ok()) {
        healthy_.store(true);
        continue;
      }
      int64_t n = failures_.fetch_add(1) + 1;
      healthy_.store(false);
      // One log line per power of two failures: loud, but not a flood.
      if ((n & (n - 1)) == 0) {
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
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), out, &len);
  return absl::StrCat("hmac:",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), 8)));
}

std::string AuditLogger::Fingerprint(absl::string_view token) const {
  return KeyedFingerprint(key_.value(), token);
}

std::string AuditLogger::ToJson(const AuditRecord& r) {
  nlohmann::ordered_json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", r.time, absl::UTCTimeZone());
  line["request_id"] = r.request_id;
  line["caller"] = r.caller;
  line["peer"] = r.peer;
  line["method"] = r.method;
  if (!r.integration.empty()) line["integration"] = r.integration;
  line["code"] = absl::StatusCodeToString(r.code);
  if (!r.x_debug_id.empty()) line["x_debug_id"] = r.x_debug_id;
  if (!r.token_fingerprint.empty()) line["token_fingerprint"] = r.token_fingerprint;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void AuditLogger::Record(const AuditRecord& record) {
  std::string line = ToJson(record);
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(line));
  ++queued_;
}

bool AuditLogger::Accepting() const { return mode_ == AuditFailureMode::kServe || healthy_.load(); }

absl::StatusOr<SecretString> LoadAuditKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--audit-key-file ", path, " cannot be read"));
  std::stringstream content;
  content << in.rdbuf();
  std::string key(absl::StripTrailingAsciiWhitespace(content.str()));
  if (key.size() < 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("--audit-key-file ", path, ": at least 32 bytes of key are required"));
  }
  return SecretString(std::move(key));
}

}  // namespace tokenbroker
