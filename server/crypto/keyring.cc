#include "server/crypto/keyring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/crypto/aead.h"

namespace tokenbroker {
namespace {

constexpr int kFormatVersion = 1;
constexpr size_t kKeySize = AesGcmAead::kKeySize;
constexpr size_t kMaxFileSize = size_t{1} << 20;
constexpr char kIdForm[] = "k-YYYYMMDD-hhhhhh";
// The file's timestamp form: RFC 3339, UTC, whole seconds.
constexpr char kCreatedFormat[] = "%Y-%m-%dT%H:%M:%SZ";

absl::Status Invalid(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("keyring: ", problem));
}

// `status` with ` (where)` appended to its message; same code.
absl::Status Annotate(const absl::Status& status, absl::string_view where) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(status.message(), " (", where, ")"));
}

std::string ErrnoText(int err) { return std::generic_category().message(err); }

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// Wipes every string in a parsed JSON document when it goes out of scope:
// the base64 key strings, and any key pasted into the wrong field.
class JsonWiper {
 public:
  explicit JsonWiper(nlohmann::json* doc) : doc_(doc) {}
  JsonWiper(const JsonWiper&) = delete;
  JsonWiper& operator=(const JsonWiper&) = delete;
  ~JsonWiper() { WipeAll(*doc_); }

 private:
  static void WipeAll(nlohmann::json& node) {
    if (node.is_string()) {
      Wipe(node.get_ref<std::string&>());
    } else if (node.is_structured()) {
      for (auto& child : node) WipeAll(child);
    }
  }
  nlohmann::json* doc_;
};

// Lowercase hex of `n` random bytes (not secret: for names).
absl::StatusOr<std::string> RandomHex(size_t n) {
  unsigned char bytes[16];
  if (n > sizeof(bytes) || RAND_bytes(bytes, static_cast<int>(n)) != 1) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed");
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), n));
}

// Closes a file descriptor on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting the error close() gives (e.g. a delayed write
  // error on some file systems).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// An I/O failure while writing, mapped to a canonical code.
absl::Status WriteError(int err, absl::string_view what, absl::string_view path) {
  std::string message = absl::StrCat("keyring file '", path, "': ", what, ": ", ErrnoText(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

bool IsValidKeyId(absl::string_view id) {
  // k-YYYYMMDD-hhhhhh
  if (id.size() != 17 || id.substr(0, 2) != "k-" || id[10] != '-') return false;
  for (size_t i = 2; i < 10; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  for (size_t i = 11; i < 17; ++i) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<Keyring> Keyring::Parse(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), /*cb=*/nullptr,
                                             /*allow_exceptions=*/false);
  JsonWiper wiper(&doc);
  // The parser's own message quotes the input near the error, which may be
  // key material: say only that it failed.
  if (doc.is_discarded()) return Invalid("not valid JSON");
  if (!doc.is_object()) return Invalid("not a JSON object");

  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) {
    return Invalid("\"version\" is missing or not an integer");
  }
  if (version->get<int64_t>() != kFormatVersion) {
    return Invalid(
        absl::StrCat("unsupported version ", version->get<int64_t>(), "; want ", kFormatVersion));
  }
  auto primary = doc.find("primary");
  if (primary == doc.end() || !primary->is_string()) {
    return Invalid("\"primary\" is missing or not a string");
  }
  const std::string& primary_id = primary->get_ref<const std::string&>();
  if (!IsValidKeyId(primary_id)) {
    return Invalid(absl::StrCat("\"primary\" is not a key id of the form ", kIdForm));
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return Invalid("\"keys\" is missing or not an array");
  }
  if (keys->empty()) return Invalid("\"keys\" is empty");

  Keyring keyring;
  for (size_t i = 0; i < keys->size(); ++i) {
    const nlohmann::json& entry = (*keys)[i];
    const std::string where = absl::StrCat("keys[", i, "]");
    if (!entry.is_object()) return Invalid(absl::StrCat(where, " is not an object"));

    auto id_it = entry.find("id");
    if (id_it == entry.end() || !id_it->is_string()) {
      return Invalid(absl::StrCat(where, ".id is missing or not a string"));
    }
    // An invalid id is not echoed: it might be a key pasted into the wrong
    // field.
    const std::string& id = id_it->get_ref<const std::string&>();
    if (!IsValidKeyId(id)) {
      return Invalid(absl::StrCat(where, ".id is not of the form ", kIdForm));
    }
    if (keyring.keys_.count(id) > 0) return Invalid(absl::StrCat("duplicate key id '", id, "'"));

    auto created_it = entry.find("created");
    if (created_it == entry.end() || !created_it->is_string()) {
      return Invalid(absl::StrCat("key '", id, "': \"created\" is missing or not a string"));
    }
    absl::Time created;
    std::string time_error;
    if (!absl::ParseTime(absl::RFC3339_full, created_it->get_ref<const std::string&>(), &created,
                         &time_error)) {
      return Invalid(absl::StrCat("key '", id, "': \"created\" is not an RFC 3339 timestamp"));
    }

    auto key_it = entry.find("key");
    if (key_it == entry.end() || !key_it->is_string()) {
      return Invalid(absl::StrCat("key '", id, "': \"key\" is missing or not a string"));
    }
    std::string decoded;
    absl::Cleanup wipe_decoded = [&decoded] { Wipe(decoded); };
    if (!absl::Base64Unescape(key_it->get_ref<const std::string&>(), &decoded)) {
      return Invalid(absl::StrCat("key '", id, "': \"key\" is not valid base64"));
    }
    if (decoded.size() != kKeySize) {
      return Invalid(absl::StrCat("key '", id, "' is ", decoded.size(), " bytes; want ", kKeySize));
    }
    keyring.keys_.emplace(id, Entry{created, SecretString(absl::string_view(decoded))});
  }
  if (keyring.keys_.count(primary_id) == 0) {
    return Invalid(absl::StrCat("primary '", primary_id, "' is not among the keys"));
  }
  keyring.primary_id_ = primary_id;
  return keyring;
}

absl::StatusOr<Keyring> Keyring::LoadFromFile(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat("keyring file '", path, "' does not exist"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open keyring file '", path, "': ", ErrnoText(err)));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat keyring file '", path, "': ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("keyring file '", path, "' is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    Log(LogLevel::kWarning,
        "keyring file is accessible to group or others; restrict it to mode 0400 or 0600 "
        "(Kubernetes: defaultMode: 0400 on the Secret volume)",
        {{"path", path}, {"mode", mode}});
  }

  // One fixed buffer, never reallocated, wiped on every path.
  std::string buffer(kMaxFileSize + 1, '\0');
  absl::Cleanup wipe = [&buffer] { Wipe(buffer); };
  size_t total = 0;
  while (total < buffer.size()) {
    ssize_t n = ::read(fd.get(), buffer.data() + total, buffer.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read keyring file '", path, "': ", ErrnoText(errno)));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  if (total > kMaxFileSize) {
    return absl::FailedPreconditionError(
        absl::StrCat("keyring file '", path, "' is larger than ", kMaxFileSize, " bytes"));
  }
  absl::StatusOr<Keyring> keyring = Parse(absl::string_view(buffer.data(), total));
  if (!keyring.ok()) return Annotate(keyring.status(), absl::StrCat("file '", path, "'"));
  return keyring;
}

absl::StatusOr<Keyring> Keyring::LoadFromEnv(const char* var) {
  const char* raw = std::getenv(var);
  const std::string where = absl::StrCat("environment variable ", var);
  if (raw == nullptr || *raw == '\0') {
    return absl::NotFoundError(absl::StrCat("keyring: ", where, " is not set"));
  }
  absl::string_view value = absl::StripAsciiWhitespace(raw);
  if (!value.empty() && value.front() == '{') {
    absl::StatusOr<Keyring> keyring = Parse(value);
    if (!keyring.ok()) return Annotate(keyring.status(), where);
    return keyring;
  }

  // Base64 of the JSON, perhaps wrapped at 76 columns by `base64`.
  std::string compact;
  std::string decoded;
  absl::Cleanup wipe = [&compact, &decoded] {
    Wipe(compact);
    Wipe(decoded);
  };
  compact.reserve(value.size());
  for (char c : value) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  if (!absl::Base64Unescape(compact, &decoded) ||
      absl::StripLeadingAsciiWhitespace(decoded).substr(0, 1) != "{") {
    return Invalid(absl::StrCat(where, " holds neither keyring JSON nor base64 of it"));
  }
  absl::StatusOr<Keyring> keyring = Parse(decoded);
  if (!keyring.ok()) return Annotate(keyring.status(), where);
  return keyring;
}

absl::Status Keyring::AddKey(absl::Time now, std::string* id) {
  const std::string date = absl::FormatTime("%Y%m%d", now, absl::UTCTimeZone());
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto suffix = RandomHex(3);
    if (!suffix.ok()) return suffix.status();
    std::string candidate = absl::StrCat("k-", date, "-", *suffix);
    if (!IsValidKeyId(candidate)) {
      return absl::InvalidArgumentError("keyring: creation time outside years 0000-9999");
    }
    if (keys_.count(candidate) > 0) continue;
    auto key = internal::RandomSecret(kKeySize);
    if (!key.ok()) return key.status();
    // The file keeps whole seconds; so does memory, for exact round trips.
    absl::Time created = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
    keys_.emplace(candidate, Entry{created, *std::move(key)});
    *id = std::move(candidate);
    return absl::OkStatus();
  }
  return absl::InternalError("keyring: could not pick an unused key id");
}

absl::StatusOr<Keyring> Keyring::Generate(absl::Time now) {
  Keyring keyring;
  std::string id;
  absl::Status status = keyring.AddKey(now, &id);
  if (!status.ok()) return status;
  keyring.primary_id_ = std::move(id);
  return keyring;
}

absl::StatusOr<std::string> Keyring::AddPrimary(absl::Time now) {
  std::string id;
  absl::Status status = AddKey(now, &id);
  if (!status.ok()) return status;
  primary_id_ = id;
  return id;
}

absl::Status Keyring::Remove(absl::string_view id) {
  auto it = keys_.find(id);
  if (it == keys_.end()) {
    return absl::NotFoundError(absl::StrCat("keyring: no key '", id, "'"));
  }
  if (it->first == primary_id_) {
    return absl::FailedPreconditionError(
        absl::StrCat("keyring: key '", id, "' is the primary; add a new primary first"));
  }
  keys_.erase(it);
  return absl::OkStatus();
}

const SecretString* Keyring::Find(absl::string_view id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second.key;
}

std::vector<std::string> Keyring::ids() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& [id, entry] : keys_) out.push_back(id);
  return out;
}

std::vector<Keyring::KeyMetadata> Keyring::metadata() const {
  std::vector<KeyMetadata> out;
  out.reserve(keys_.size());
  for (const auto& [id, entry] : keys_) {
    out.push_back(KeyMetadata{id, entry.create_time, id == primary_id_});
  }
  return out;
}

SecretString Keyring::Serialize() const {
  // Built by hand into one buffer reserved up front, so that no reallocation
  // leaves an unwiped copy of key material on the heap. Every field is plain
  // ASCII (validated ids, fixed-form timestamps, base64): no escaping needed.
  std::string out;
  absl::Cleanup wipe = [&out] { Wipe(out); };
  out.reserve(128 + keys_.size() * 160);
  absl::StrAppend(&out, "{\n  \"version\": ", kFormatVersion, ",\n  \"primary\": \"", primary_id_,
                  "\",\n  \"keys\": [\n");
  size_t i = 0;
  for (const auto& [id, entry] : keys_) {
    std::string b64 = absl::Base64Escape(entry.key.value());
    absl::StrAppend(&out, "    {\"id\": \"", id, "\", \"created\": \"",
                    absl::FormatTime(kCreatedFormat, entry.create_time, absl::UTCTimeZone()),
                    "\", \"key\": \"", b64, "\"}", ++i < keys_.size() ? ",\n" : "\n");
    Wipe(b64);
  }
  absl::StrAppend(&out, "  ]\n}\n");
  return SecretString(absl::string_view(out));
}

absl::Status WriteKeyringFile(const std::string& path, const Keyring& keyring, bool overwrite) {
  struct stat st;
  if (!overwrite && ::lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("keyring file '", path, "' already exists"));
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));

  // The temporary file, created 0600 so key bytes are never readable by
  // others, not even briefly.
  std::string tmp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 16 && raw_fd < 0; ++attempt) {
    auto suffix = RandomHex(6);
    if (!suffix.ok()) return suffix.status();
    tmp = absl::StrCat(path, ".tmp-", *suffix);
    raw_fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (raw_fd < 0 && errno != EEXIST) return WriteError(errno, "create temporary file", path);
  }
  if (raw_fd < 0) return WriteError(EEXIST, "create temporary file", path);
  ScopedFd fd(raw_fd);
  bool committed = false;
  absl::Cleanup remove_tmp = [&] {
    if (!committed) ::unlink(tmp.c_str());
  };
  // The umask can only narrow 0600; make it exactly 0600 so the owner can
  // rewrite the file later.
  if (::fchmod(fd.get(), 0600) != 0) return WriteError(errno, "chmod", path);

  const SecretString text = keyring.Serialize();
  absl::string_view rest = text.value();
  while (!rest.empty()) {
    ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return WriteError(errno, "write", path);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return WriteError(errno, "fsync", path);
  if (fd.Close() != 0) return WriteError(errno, "close", path);

  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) return WriteError(errno, "rename", path);
    committed = true;
  } else {
    // link() fails with EEXIST rather than replace a file that appeared
    // since the check above.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return absl::AlreadyExistsError(absl::StrCat("keyring file '", path, "' already exists"));
      }
      return WriteError(errno, "link", path);
    }
    ::unlink(tmp.c_str());
    committed = true;
  }

  ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return WriteError(errno, "open directory", path);
  if (::fsync(dir_fd.get()) != 0) return WriteError(errno, "fsync directory", path);
  return absl::OkStatus();
}

}  // namespace tokenbroker
