#include "tests/ims_emulator/emulator_server.h"

#include <netdb.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tokenbroker::emulator {
namespace {

constexpr char kJsonType[] = "application/json;charset=utf-8";

void SetJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJsonType);
}

void SetError(httplib::Response& res, int status, absl::string_view error,
              absl::string_view description) {
  SetJson(res, status,
          nlohmann::ordered_json{{"error", error}, {"error_description", description}}.dump());
}

// Form fields from an url-encoded body (httplib parses it into params, with
// the query string) or a multipart/form-data body.
Form ExtractForm(const httplib::Request& req) {
  Form form;
  for (const auto& [key, value] : req.params) form[key] = value;
  for (const auto& [key, part] : req.files) form[key] = part.content;
  return form;
}

// "host:port" of a socket address, as httplib's getnameinfo formats it.
bool Endpoint(const sockaddr_storage& addr, socklen_t len, std::string* host, int* port) {
  char h[NI_MAXHOST];
  char p[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, h, sizeof(h), p, sizeof(p),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  *host = h;
  return absl::SimpleAtoi(p, port);
}

// The file descriptor of the connection `req` arrived on, or -1.
//
// httplib 0.11.4 does not hand the socket to handlers. Over TLS the request
// carries its SSL*, whose fd is the socket. Over plain HTTP the socket is
// found by its address: the only open socket whose peer is
// remote_addr:remote_port and whose local port is local_port. That match is
// race-free for our purpose: the matching socket is the one this handler is
// serving, and it cannot be closed while the handler runs.
int ConnectionSocket(const httplib::Request& req) {
  if (req.ssl != nullptr) return SSL_get_fd(req.ssl);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &fd)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    std::string local_host, peer_host;
    int local_port = -1, peer_port = -1;
    if (!Endpoint(local, local_len, &local_host, &local_port) ||
        !Endpoint(peer, peer_len, &peer_host, &peer_port)) {
      continue;
    }
    if (peer_port == req.remote_port && peer_host == req.remote_addr &&
        (req.local_port <= 0 || local_port == req.local_port)) {
      return fd;
    }
  }
  return -1;
}

// Resets a TCP connection: connect() with AF_UNSPEC disconnects an
// established socket, and Linux then sends a RST (tcp_disconnect), not the
// FIN of shutdown(). The fd stays open (httplib still owns and closes it).
void ResetConnection(int fd) {
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  (void)::connect(fd, &unspec, sizeof(unspec));  // best effort: the request fails either way
}

// Ends a request with no HTTP answer: shuts its connection down (FIN) or
// resets it (RST). httplib's write of the 500 set here then fails and it
// closes the socket; the 500 is sent only if the socket cannot be found.
void DropConnection(const httplib::Request& req, httplib::Response& res, bool reset,
                    std::string* note) {
  int fd = ConnectionSocket(req);
  if (fd < 0) {
    absl::StrAppend(note, " (socket not found, answered 500)");
  } else if (reset) {
    ResetConnection(fd);
  } else {
    ::shutdown(fd, SHUT_RDWR);
  }
  SetError(res, 500, "server_error", "connection drop failed (emulated)");
}

std::string FormatUrl(bool plain_http, const std::string& host, int port) {
  bool v6 = absl::StrContains(host, ':');
  return absl::StrCat(plain_http ? "http" : "https", "://", v6 ? "[" : "", host, v6 ? "]" : "", ":",
                      port);
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EmulatorServer>> EmulatorServer::New(ServerOptions options) {
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  if (!options.plain_http && options.tls_cert_file.empty() && options.cert_out.empty()) {
    return absl::InvalidArgumentError(
        "--cert-out is required when the certificate is generated (no --tls-cert/--tls-key)");
  }
  auto signing_key = GenerateRsaKey(2048);
  if (!signing_key.ok()) return signing_key.status();
  std::unique_ptr<EmulatorServer> server(new EmulatorServer(std::move(options)));
  auto emulator = ImsEmulator::New(server->options_.emulator, *std::move(signing_key),
                                   std::move(server->options_.clients));
  if (!emulator.ok()) return emulator.status();
  server->emulator_ = *std::move(emulator);
  server->emulator_->SetFaults(server->options_.faults);
  server->holds_ = std::make_unique<HoldGate>(server->options_.hold_timeout);
  std::string& public_url = server->options_.public_url;
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();

  if (server->options_.plain_http) {
    server->http_ = std::make_unique<httplib::Server>();
  } else {
    absl::Status tls = server->SetUpTls();
    if (!tls.ok()) return tls;
  }
  int threads = server->options_.threads;
  server->http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->http_->set_keep_alive_max_count(100000);
  server->http_->set_keep_alive_timeout(5);
  server->http_->set_tcp_nodelay(true);
  server->AddRoutes();
  return server;
}

absl::Status EmulatorServer::SetUpTls() {
  const ServerOptions& o = options_;
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (o.tls_cert_file.empty()) {
    if (o.cert_out.empty()) {
      return absl::InvalidArgumentError(
          "--cert-out is required when the certificate is generated (no --tls-cert/--tls-key)");
    }
    auto key = GenerateEcP256Key();
    if (!key.ok()) return key.status();
    auto cert =
        SelfSignedCertificate(key->get(), "ims-emulator",
                              {"DNS:localhost", "IP:127.0.0.1", "IP:::1"}, absl::Hours(24 * 30));
    if (!cert.ok()) return cert.status();
    absl::Status written = WriteFileAtomically(o.cert_out, CertificateToPem(cert->get()));
    if (!written.ok()) return written;
    tls_key_ = *std::move(key);
    tls_cert_ = *std::move(cert);
  }
  std::string error;
  auto setup = [this, &error](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    bool ok;
    if (tls_cert_ != nullptr) {
      ok = SSL_CTX_use_certificate(&ctx, tls_cert_.get()) == 1 &&
           SSL_CTX_use_PrivateKey(&ctx, tls_key_.get()) == 1;
    } else {
      ok = SSL_CTX_use_certificate_chain_file(&ctx, options_.tls_cert_file.c_str()) == 1 &&
           SSL_CTX_use_PrivateKey_file(&ctx, options_.tls_key_file.c_str(), SSL_FILETYPE_PEM) == 1;
    }
    if (!ok || SSL_CTX_check_private_key(&ctx) != 1) {
      error = "cannot load the TLS certificate and key (or they do not match)";
      return false;
    }
    return true;
  };
  auto server = std::make_unique<httplib::SSLServer>(setup);
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(error.empty() ? "TLS setup failed" : error);
  }
  http_ = std::move(server);
  return absl::OkStatus();
}

EmulatorServer::~EmulatorServer() { Stop(); }

absl::StatusOr<int> EmulatorServer::Bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
  } else {
    port_ = http_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.port));
  }
  return port_;
}

void EmulatorServer::Serve() { http_->listen_after_bind(); }

void EmulatorServer::Stop() {
  // Held requests would keep their threads (and stop()) until the timeout.
  if (holds_ != nullptr) holds_->Set(std::nullopt);
  if (http_ != nullptr) http_->stop();
}

std::string EmulatorServer::url() const {
  return FormatUrl(options_.plain_http, options_.host, port_);
}

std::string EmulatorServer::BaseUrl(const httplib::Request& req) const {
  if (!options_.public_url.empty()) return options_.public_url;
  std::string host = req.get_header_value("Host");
  if (host.empty()) return FormatUrl(options_.plain_http, req.local_addr, req.local_port);
  return absl::StrCat(options_.plain_http ? "http://" : "https://", host);
}

std::string EmulatorServer::HandleToken(Flow flow, const httplib::Request& req,
                                        httplib::Response& res) {
  Form form = ExtractForm(req);
  emulator_->CountTokenRequest(form["client_id"], absl::Now());
  std::string note = absl::StrCat("client_id=", absl::CHexEscape(form["client_id"]));
  // A held request is the test's scenario: no random fault on top of it.
  std::optional<HoldGate::Ticket> hold = holds_->Arrive(HoldEndpoint::kToken, form["client_id"]);
  if (hold && !hold->after) return Held(*hold, req, res, std::move(note));
  if (!hold) {
    FaultSettings faults = emulator_->faults();
    if (faults.latency > absl::ZeroDuration() && faults.AppliesTo(form["client_id"])) {
      absl::SleepFor(faults.latency);
    }
    Fault fault = emulator_->DrawFault(form["client_id"]);
    if (fault != Fault::kNone) {
      emulator_->CountFault();
      absl::StrAppend(&note, " fault=", FaultName(fault));
    }
    if (AnswerFault(fault, faults, req, res, &note)) return note;
  }

  absl::Time now = absl::Now();
  Reply reply = flow == Flow::kClientCredentials ? emulator_->ClientCredentials(form, now)
                                                 : emulator_->ExchangeJwt(form, BaseUrl(req), now);
  if (hold) return Held(*hold, req, res, std::move(note));
  SetJson(res, reply.status, reply.body);
  return note;
}

std::string EmulatorServer::Held(const HoldGate::Ticket& ticket, const httplib::Request& req,
                                 httplib::Response& res, std::string note) {
  holds_->Block(ticket);
  absl::StrAppend(&note, " held=", ticket.after ? "after" : "before", " dropped");
  DropConnection(req, res, /*reset=*/false, &note);
  return note;
}

bool EmulatorServer::AnswerFault(Fault fault, const FaultSettings& faults,
                                 const httplib::Request& req, httplib::Response& res,
                                 std::string* note) {
  switch (fault) {
    case Fault::kNone:
      return false;
    case Fault::kSlow:
      absl::SleepFor(faults.slow);
      return false;
    case Fault::kDown:
      SetError(res, 503, "service_unavailable", "IMS is down (emulated)");
      return true;
    case Fault::kDrop:
    case Fault::kReset:
    case Fault::kHang:
      // No response: a drop is a FIN, a reset (and a hang after its wait) a RST.
      if (fault == Fault::kHang) absl::SleepFor(faults.hang);
      DropConnection(req, res, /*reset=*/fault != Fault::kDrop, note);
      return true;
    case Fault::kServerError:
      SetError(res, 500, "server_error", "internal server error (emulated)");
      return true;
    case Fault::kTooManyRequests:
      SetError(res, 429, "too_many_requests", "too many requests (emulated)");
      res.set_header("Retry-After", absl::StrCat(faults.retry_after_seconds));
      return true;
    case Fault::kUnavailable:
      SetError(res, 503, "service_unavailable", "service unavailable (emulated)");
      return true;
    case Fault::kMalformed:
      SetJson(res, 200, "{\"access_token\":\"eyJhbGciOiJSUzI1NiIsIng1dSI6Imlt");
      return true;
  }
  return false;
}

// The Developer Console's secrets API (ImsEmulator::ConsoleRequest). Never
// faulted; held only by an explicit POST /emulator/hold.
template <typename Wrap>
void EmulatorServer::AddConsoleRoutes(const Wrap& wrap) {
  using httplib::Request;
  using httplib::Response;
  constexpr char kSecrets[] = R"(/console/organizations/([^/]+)/credentials/([^/]+)/secrets)";
  auto console_request = [](const Request& req) {
    ImsEmulator::ConsoleRequest request;
    request.org_id = req.matches[1];
    request.credential_id = req.matches[2];
    if (req.matches.size() > 3) request.secret_uuid = req.matches[3];
    request.authorization = req.get_header_value("Authorization");
    request.api_key = req.get_header_value("x-api-key");
    return request;
  };
  auto answer = [](Response& res, const Reply& reply) {
    if (reply.status == 204) {
      res.status = 204;
    } else {
      SetJson(res, reply.status, reply.body);
    }
    return absl::StrCat("console=", reply.status);
  };
  // A call of `method`, subject to the hold of `endpoint` (before its effect,
  // or after it and before the answer).
  auto serve = [this, console_request, answer](HoldEndpoint endpoint, auto method) {
    return [this, console_request, answer, endpoint, method](const Request& req, Response& res) {
      ImsEmulator::ConsoleRequest request = console_request(req);
      std::optional<HoldGate::Ticket> hold = holds_->Arrive(
          endpoint, emulator_->ConsoleClientId(request.org_id, request.credential_id));
      if (hold && !hold->after) return Held(*hold, req, res, "console");
      Reply reply = ((*emulator_).*method)(request, absl::Now());
      if (hold) return Held(*hold, req, res, absl::StrCat("console=", reply.status));
      return answer(res, reply);
    };
  };
  http_->Get(kSecrets, wrap(serve(HoldEndpoint::kList, &ImsEmulator::ListSecrets)));
  http_->Post(kSecrets, wrap(serve(HoldEndpoint::kAdd, &ImsEmulator::AddSecret)));
  http_->Delete(absl::StrCat(kSecrets, "/([^/]+)"),
                wrap(serve(HoldEndpoint::kDelete, &ImsEmulator::DeleteSecret)));
}

// What tests set and inspect: the hold (hold_gate.h) and a client's secrets.
template <typename Wrap>
void EmulatorServer::AddTestRoutes(const Wrap& wrap) {
  using httplib::Request;
  using httplib::Response;
  http_->Get("/emulator/hold", wrap([this](const Request&, Response& res) {
               SetJson(res, 200, holds_->Status().dump());
               return std::string();
             }));
  http_->Post("/emulator/hold", wrap([this](const Request& req, Response& res) {
                auto spec = ParseHoldSpec(req.body);
                if (!spec.ok()) {
                  SetError(res, 400, "bad_request", spec.status().message());
                  return std::string();
                }
                holds_->Set(*spec);
                SetJson(res, 200, holds_->Status().dump());
                return std::string(spec->has_value() ? "hold set" : "hold released");
              }));
  http_->Get("/emulator/secrets", wrap([this](const Request& req, Response& res) {
               Reply reply = emulator_->AdminSecrets(req.get_param_value("client_id"), absl::Now());
               SetJson(res, reply.status, reply.body);
               return std::string();
             }));
}

void EmulatorServer::AddRoutes() {
  using httplib::Request;
  using httplib::Response;
  // Every route: an x-debug-id, then the handler, then the request log.
  auto wrap = [this](std::function<std::string(const Request&, Response&)> fn) {
    return [this, fn = std::move(fn)](const Request& req, Response& res) {
      absl::Time start = absl::Now();
      std::string debug_id = RandomHex(16);
      res.set_header("x-debug-id", debug_id);
      std::string note = fn(req, res);
      if (options_.log_requests) {
        std::string line =
            absl::StrCat("ims-emulator: ", req.method, " ", req.path, " ", res.status, " ",
                         absl::FormatDuration(absl::Now() - start), " x-debug-id=", debug_id,
                         note.empty() ? "" : " ", note, "\n");
        fwrite(line.data(), 1, line.size(), stderr);
      }
    };
  };

  for (const char* path : {"/ims/token/v3", "/ims/token/v2"}) {
    http_->Post(path, wrap([this](const Request& req, Response& res) {
                  return HandleToken(Flow::kClientCredentials, req, res);
                }));
  }
  http_->Post("/ims/exchange/jwt", wrap([this](const Request& req, Response& res) {
                return HandleToken(Flow::kJwt, req, res);
              }));

  AddConsoleRoutes(wrap);

  AddTestRoutes(wrap);
  http_->Get("/emulator/stats", wrap([this](const Request&, Response& res) {
               nlohmann::json stats = emulator_->Stats();
               stats["held_now"] = holds_->held_now();
               SetJson(res, 200, stats.dump());
               return std::string();
             }));
  http_->Post("/emulator/reset", wrap([this](const Request&, Response& res) {
                emulator_->ResetStats();
                SetJson(res, 200, "{}");
                return std::string();
              }));
  http_->Get("/emulator/faults", wrap([this](const Request&, Response& res) {
               SetJson(res, 200, FaultSettingsToJson(emulator_->faults()).dump());
               return std::string();
             }));
  http_->Post("/emulator/faults", wrap([this](const Request& req, Response& res) {
                auto faults = ParseFaultSettings(req.body);
                if (!faults.ok()) {
                  SetError(res, 400, "bad_request", faults.status().message());
                  return std::string();
                }
                emulator_->SetFaults(*faults);
                SetJson(res, 200, FaultSettingsToJson(*faults).dump());
                return std::string();
              }));
  http_->Post("/emulator/clients", wrap([this](const Request& req, Response& res) {
                nlohmann::json doc =
                    nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
                auto client = ParseClient(doc);
                if (!client.ok()) {
                  SetError(res, 400, "bad_request", client.status().message());
                  return std::string();
                }
                std::string id = client->client_id;
                emulator_->PutClient(*std::move(client));
                SetJson(res, 200, nlohmann::json{{"client_id", id}}.dump());
                return absl::StrCat("client_id=", id);
              }));

  http_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (!res.has_header("x-debug-id")) res.set_header("x-debug-id", RandomHex(16));
        SetError(res, res.status, res.status == 404 ? "not_found" : "bad_request",
                 res.status == 404
                     ? absl::StrCat(req.method, " ", req.path, " is not an emulator endpoint")
                     : absl::StrCat("HTTP ", res.status, " for ", req.method, " ", req.path));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler([](const Request&, Response& res, const std::exception_ptr&) {
    if (!res.has_header("x-debug-id")) res.set_header("x-debug-id", RandomHex(16));
    SetError(res, 500, "server_error", "unexpected exception in the emulator");
  });
}

}  // namespace tokenbroker::emulator
