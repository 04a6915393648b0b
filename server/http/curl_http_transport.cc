#include "server/http/curl_http_transport.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace tokenbroker {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;

struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlStringPtr = std::unique_ptr<char, CurlStringDeleter>;

// curl_global_init is not reentrant: run it once per process, never undo it.
CURLcode GlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

struct ParsedUrl {
  std::string scheme;
  std::string host;
};

absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  CurlUrlPtr u(curl_url());
  if (u == nullptr) return absl::ResourceExhaustedError("out of memory parsing a URL");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("malformed URL (an absolute http(s) URL is required)");
  }
  ParsedUrl parsed;
  char* part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
    CurlStringPtr owned(part);
    parsed.scheme = absl::AsciiStrToLower(part);
  }
  part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    CurlStringPtr owned(part);
    parsed.host = part;
  }
  if (parsed.host.empty()) return absl::InvalidArgumentError("malformed URL: no host");
  return parsed;
}

// Maps a libcurl failure to a Status naming the kind of failure and the host.
// `detail` is libcurl's error buffer: it names hosts, ports and TLS problems,
// never bodies.
absl::Status CurlError(CURLcode code, absl::string_view detail, absl::string_view method,
                       absl::string_view host) {
  std::string context = absl::StrCat("HTTP ", method, " to ", host, " failed: ");
  std::string suffix = absl::StrCat(
      " (", detail.empty() ? absl::string_view(curl_easy_strerror(code)) : detail, ")");
  auto unavailable = [&](absl::string_view kind) {
    return absl::UnavailableError(absl::StrCat(context, kind, suffix));
  };
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(absl::StrCat(context, "malformed URL", suffix));
    case CURLE_COULDNT_RESOLVE_HOST:
      return unavailable("DNS resolution failed");
    case CURLE_COULDNT_RESOLVE_PROXY:
      return unavailable("proxy DNS resolution failed");
    case CURLE_COULDNT_CONNECT:
      return unavailable("connect failed");
    case CURLE_OPERATION_TIMEDOUT:
      return unavailable("timed out");
    case CURLE_PEER_FAILED_VERIFICATION:
      return unavailable("TLS certificate verify failed");
    case CURLE_SSL_CACERT_BADFILE:
      return absl::FailedPreconditionError(
          absl::StrCat(context, "the CA file could not be loaded", suffix));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      // OpenSSL reports some verification failures during the handshake.
      if (absl::StrContains(absl::AsciiStrToLower(detail), "certificate")) {
        return unavailable("TLS certificate verify failed");
      }
      return unavailable("TLS handshake failed");
    case CURLE_SEND_ERROR:
      return unavailable("send error (connection reset?)");
    case CURLE_RECV_ERROR:
      return unavailable("receive error (connection reset?)");
    case CURLE_GOT_NOTHING:
      return unavailable("empty reply from server");
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_WEIRD_SERVER_REPLY:
      return unavailable("broken response");
    case CURLE_WRITE_ERROR:
      return unavailable("response too large");
    case CURLE_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(absl::StrCat(context, "out of memory", suffix));
    default:
      return unavailable("transport error");
  }
}

struct BodySink {
  std::string data;
  size_t max_bytes = 0;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<BodySink*>(userdata);
  size_t n = size * nmemb;
  if (sink->data.size() + n > sink->max_bytes) return 0;  // CURLE_WRITE_ERROR
  sink->data.append(ptr, n);
  return n;
}

size_t WriteHeader(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(userdata);
  size_t n = size * nmemb;
  absl::string_view line(ptr, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (after 100 Continue or a proxy CONNECT): only the
    // final response's headers count.
    headers->clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;  // the blank line, or junk
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
  std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  if (!name.empty()) headers->emplace_back(std::move(name), std::move(value));
  return n;
}

long ToMillis(absl::Duration d) {  // NOLINT(google-runtime-int): libcurl's type
  int64_t ms = absl::ToInt64Milliseconds(d);
  return ms < 1 ? 1 : static_cast<long>(ms);  // NOLINT(google-runtime-int)
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlHttpTransport>> CurlHttpTransport::New(
    CurlHttpTransportOptions options) {
  if (CURLcode code = GlobalInit(); code != CURLE_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(code)));
  }
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || (info->features & CURL_VERSION_SSL) == 0) {
    return absl::FailedPreconditionError("libcurl was built without TLS support");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.total_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("HTTP timeouts must be positive");
  }
  if (!options.ca_file.empty()) {
    std::FILE* f = std::fopen(options.ca_file.c_str(), "r");
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("CA file '", options.ca_file, "' cannot be read"));
    }
    std::fclose(f);
  }
  if (options.max_idle_connections < 0) options.max_idle_connections = 0;
  return std::unique_ptr<CurlHttpTransport>(new CurlHttpTransport(std::move(options)));
}

CurlHttpTransport::CurlHttpTransport(CurlHttpTransportOptions options)
    : options_(std::move(options)) {}

CurlHttpTransport::~CurlHttpTransport() {
  absl::MutexLock lock(&mu_);
  for (Handle* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
  idle_.clear();
}

CurlHttpTransport::Handle* CurlHttpTransport::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      Handle* h = idle_.back();  // LIFO: the most recently used connection is warmest
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void CurlHttpTransport::Release(Handle* handle) {
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(idle_.size()) < options_.max_idle_connections) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

absl::StatusOr<HttpResponse> CurlHttpTransport::Send(const HttpRequest& request) {
  auto parsed = ParseUrl(request.url);
  if (!parsed.ok()) return parsed.status();
  if (parsed->scheme == "http") {
    if (!options_.allow_insecure_http) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing plain http:// to ", parsed->host,
                       ": IMS traffic carries secrets; use https:// or set "
                       "--allow-insecure-ims-http (local emulators only)"));
    }
  } else if (parsed->scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported URL scheme '", parsed->scheme, "' (https:// is required)"));
  }

  // The handle goes back to the pool on every path (its connection cache is
  // the point of the pool); a failed transfer leaves it reusable.
  auto release = [this](CURL* h) { Release(h); };
  std::unique_ptr<CURL, decltype(release)> curl(static_cast<CURL*>(Acquire()), release);
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  CURL* h = curl.get();
  // Clears the previous request's options; keeps the connection cache.
  curl_easy_reset(h);

  char errbuf[CURL_ERROR_SIZE] = {0};
  BodySink body;
  body.max_bytes = options_.max_response_bytes;
  HttpResponse response;

  CurlSlistPtr headers;
  auto append_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) return false;
    // `next` is the head of the same list, grown: release first so that reset frees nothing.
    static_cast<void>(headers.release());
    headers.reset(next);
    return true;
  };
  for (const auto& [name, value] : request.headers) {
    if (!append_header(absl::StrCat(name, ": ", value))) {
      return absl::ResourceExhaustedError("out of memory building HTTP headers");
    }
  }
  // No "Expect: 100-continue" round trip for our small bodies.
  if (!append_header("Expect:")) {
    return absl::ResourceExhaustedError("out of memory building HTTP headers");
  }

  absl::Duration timeout =
      request.timeout > absl::ZeroDuration() ? request.timeout : options_.total_timeout;
  bool ok = true;
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  set(curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()));
  set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf));
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                       options_.allow_insecure_http ? "http,https" : "https"));
  set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L));
  // TLS: always verified, TLS 1.2 or later. There is deliberately no option
  // to turn verification off.
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
  set(curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  if (!options_.ca_file.empty()) {
    set(curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str()));
  }
  set(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(options_.connect_timeout)));
  set(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ToMillis(timeout)));
  set(curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L));
  set(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()));
  set(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody));
  set(curl_easy_setopt(h, CURLOPT_WRITEDATA, &body));
  set(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader));
  set(curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers));
  // Proxies: CURLOPT_PROXY/NOPROXY are left unset so that libcurl honours
  // https_proxy/HTTPS_PROXY/http_proxy/NO_PROXY from the environment.

  std::string method = absl::AsciiStrToUpper(request.method);
  absl::string_view payload = request.body.value();
  if (method == "GET") {
    set(curl_easy_setopt(h, CURLOPT_HTTPGET, 1L));
  } else if (method == "HEAD") {
    set(curl_easy_setopt(h, CURLOPT_NOBODY, 1L));
  } else {
    if (method != "POST") set(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str()));
    // POSTFIELDS does not copy: `request` outlives the transfer.
    set(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size())));
    set(curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.data()));
  }
  if (!ok) return absl::InternalError("libcurl rejected a request option");

  CURLcode code = curl_easy_perform(h);
  // Make sure the pooled handle holds no pointer into this frame.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    return CurlError(code, errbuf, method, parsed->host);
  }
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status_code = static_cast<int>(status);
  response.body = SecretString(std::move(body.data));
  return response;
}

}  // namespace tokenbroker
