#include "server/edge/http_token_endpoint.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "server/api/convert.h"
#include "server/common/error_details.h"
#include "server/common/secret.h"
#include "server/common/status_macros.h"
#include "server/edge/certificate_identity.h"
#include "server/edge/http_status.h"

namespace tokenbroker {
namespace {

// Both routes; matches[1] is the id, matches[2] the kind.
constexpr char kRoute[] = R"(/v1/integrations/([^/]+)/(token|headers))";
constexpr char kIntentHeader[] = "Tokenbroker-Request";
constexpr char kReasonMissingIntentHeader[] = "TOKENBROKER_REQUEST_HEADER_MISSING";

struct HostPort {
  std::string host;
  int port = 0;
};

// "host:port", "[v6]:port" -> the host httplib binds (brackets dropped).
absl::StatusOr<HostPort> ParseListen(absl::string_view listen) {
  size_t colon = listen.rfind(':');
  HostPort out;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &out.port) || out.port < 0 || out.port > 65535) {
    return InvalidField("--http-listen", "host:port, e.g. 127.0.0.1:8080");
  }
  absl::string_view host = listen.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  out.host = std::string(host);
  return out;
}

// The peer as gRPC writes it ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000").
std::string Peer(const httplib::Request& request) {
  const bool v6 = absl::StrContains(request.remote_addr, ':');
  return absl::StrCat(v6 ? "ipv6:[" : "ipv4:", request.remote_addr, v6 ? "]:" : ":",
                      request.remote_port);
}

CallOrigin OriginOf(const httplib::Request& request, bool verify_clients) {
  CallOrigin origin;
  origin.peer = Peer(request);
  origin.request_id = RequestIdOr(request.get_header_value("X-Request-Id"));
  if (verify_clients && request.ssl != nullptr) {
    // The handshake verified it (SSL_VERIFY_PEER): only its names are read.
    origin.certificate_identity = CertificateIdentity(SSL_get0_peer_certificate(request.ssl));
  }
  if (request.has_header("Authorization")) {
    origin.authorization = request.get_header_value("Authorization");
  }
  return origin;
}

void SendError(httplib::Response& response, const absl::Status& status) {
  response.status = HttpStatusFor(status.code());
  if (std::optional<int64_t> seconds = RetryAfterSeconds(status)) {
    response.set_header("Retry-After", absl::StrCat(*seconds));
  }
  response.set_content(ErrorJson(status), "application/json");
}

// Overwrites every string in `json` before it is freed.
void WipeJsonStrings(nlohmann::ordered_json& json) {
  if (json.is_string()) {
    WipeString(&json.get_ref<std::string&>());
  } else if (json.is_structured()) {
    for (auto& element : json) WipeJsonStrings(element);
  }
}

// `body` as the response, from a SecretString wiped when httplib is done.
void SendSecretJson(httplib::Response& response, nlohmann::ordered_json body) {
  auto secret = std::make_shared<SecretString>(body.dump());
  WipeJsonStrings(body);
  const size_t length = secret->size();
  response.set_content_provider(
      length, "application/json",
      [secret](size_t offset, size_t size, httplib::DataSink& sink) {
        return sink.write(secret->value().data() + offset, size);
      },
      [secret](bool /*success*/) { secret->Wipe(); });
}

nlohmann::ordered_json TokenJson(const TokenSnapshot& snapshot) {
  return {{"access_token", std::string(snapshot.token.access_token.value())},
          {"token_type", "Bearer"},
          {"expire_time", Rfc3339(snapshot.token.expire_time)}};
}

nlohmann::ordered_json HeadersJson(const TokenSnapshot& snapshot) {
  nlohmann::ordered_json headers = nlohmann::ordered_json::object();
  for (auto& [name, value] : AdobeHeaders(snapshot)) {
    headers[name] = value;
    WipeString(&value);
  }
  return {{"headers", std::move(headers)}, {"expire_time", Rfc3339(snapshot.token.expire_time)}};
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTokenEndpoint>> HttpTokenEndpoint::Start(
    const HttpEndpointOptions& options, TokenBroker* broker, const ApiContext* api) {
  TB_ASSIGN_OR_RETURN(HostPort address, ParseListen(options.listen));
  std::unique_ptr<HttpTokenEndpoint> endpoint(new HttpTokenEndpoint(broker, api));
  if (options.tls_cert.empty()) {
    endpoint->http_ = std::make_unique<httplib::Server>();
  } else {
    TB_ASSIGN_OR_RETURN(
        endpoint->tls_,
        ReloadingTls::Load({options.tls_cert, options.tls_key, options.client_ca_file},
                           options.tls_reload_interval, options.clock));
    ReloadingTls* tls = endpoint->tls_.get();
    auto setup = [tls, &options](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      tls->Attach(&ctx);
      if (options.client_ca_file.empty()) {
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_NONE, nullptr);
      } else {
        SSL_CTX_set_verify(
            &ctx,
            SSL_VERIFY_PEER |
                (options.client_certificate_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
            nullptr);
      }
      return true;
    };
    auto https = std::make_unique<httplib::SSLServer>(setup);
    if (!https->is_valid()) return InvalidField("--http-listen", "TLS set-up failed");
    endpoint->http_ = std::move(https);
    endpoint->verify_clients_ = !options.client_ca_file.empty();
  }
  httplib::Server& http = *endpoint->http_;
  const int threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_request_bytes);
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(5);
  http.set_read_timeout(5);
  http.set_write_timeout(5);
  http.set_tcp_nodelay(true);
  http.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  endpoint->AddRoutes();
  endpoint->port_ = address.port == 0
                        ? http.bind_to_any_port(address.host)
                        : (http.bind_to_port(address.host, address.port) ? address.port : -1);
  if (endpoint->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on --http-listen=", options.listen));
  }
  endpoint->thread_ = std::thread([&http] { http.listen_after_bind(); });
  return endpoint;
}

HttpTokenEndpoint::HttpTokenEndpoint(TokenBroker* broker, const ApiContext* api)
    : broker_(broker), api_(api) {}

HttpTokenEndpoint::~HttpTokenEndpoint() { Stop(); }

void HttpTokenEndpoint::Stop() {
  if (http_ != nullptr) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpTokenEndpoint::AddRoutes() {
  // Any method but GET on a route is 405. httplib answers unknown paths 404,
  // malformed requests 400, too long URIs 414 and bodies over the limit 413:
  // the error handler gives those the JSON error body.
  http_->set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    if (request.method == "GET") return httplib::Server::HandlerResponse::Unhandled;
    static const std::regex* const route = new std::regex(kRoute);
    if (std::regex_match(request.path, *route)) {
      response.status = 405;
      response.set_header("Allow", "GET");
      response.set_content(HttpErrorJson(405, "METHOD_NOT_ALLOWED", "only GET is served"),
                           "application/json");
    } else {
      response.status = 404;  // the error handler writes the body
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (response.status) {
          case 404:
            response.set_content(HttpErrorJson(404, "NOT_FOUND",
                                               "no such path: the endpoint serves GET "
                                               "/v1/integrations/{id}/token and /headers"),
                                 "application/json");
            break;
          case 413:
            response.set_content(
                HttpErrorJson(413, "PAYLOAD_TOO_LARGE", "the request body is too large"),
                "application/json");
            break;
          default:
            response.set_content(
                response.status >= 500
                    ? HttpErrorJson(response.status, "INTERNAL", "internal error")
                    : HttpErrorJson(response.status, "INVALID_ARGUMENT", "malformed HTTP request"),
                "application/json");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  // Nothing here should throw; if something does, its what() stays out of
  // the response (httplib would send it as a header).
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, const std::exception_ptr&) {
        response.status = 500;
        response.set_content(HttpErrorJson(500, "INTERNAL", "internal error"), "application/json");
      });
  http_->Get(kRoute, [this](const httplib::Request& request, httplib::Response& response) {
    Serve(request, response);
  });
}

void HttpTokenEndpoint::Serve(const httplib::Request& request, httplib::Response& response) {
  const bool token = request.matches[2] == "token";
  RpcScope scope(*api_, OriginOf(request, verify_clients_),
                 token ? kHttpTokenMethod : kHttpHeadersMethod);
  absl::StatusOr<SnapshotPtr> snapshot = Fetch(scope, request);
  scope.Finish(snapshot.status(), snapshot.ok() ? *snapshot : nullptr);
  if (!snapshot.ok()) return SendError(response, snapshot.status());
  SendSecretJson(response, token ? TokenJson(**snapshot) : HeadersJson(**snapshot));
}

absl::StatusOr<SnapshotPtr> HttpTokenEndpoint::Fetch(RpcScope& scope,
                                                     const httplib::Request& request) {
  if (request.get_header_value(kIntentHeader) != "true") {
    return WithErrorInfo(
        absl::PermissionDeniedError(
            "requests must carry the header 'Tokenbroker-Request: true' (a browser page or a "
            "fetched URL cannot add it, so they cannot take tokens from this endpoint)"),
        kReasonMissingIntentHeader);
  }
  TB_RETURN_IF_ERROR(scope.Authenticate());
  TB_ASSIGN_OR_RETURN(
      std::string id,
      ParseIntegrationName(absl::StrCat("integrations/", request.matches[1].str()), "name"));
  scope.set_integration(id);
  TB_RETURN_IF_ERROR(scope.Admit(Permission::kReadTokens, id));
  std::optional<absl::string_view> min_validity;
  if (request.has_param("min_validity")) {
    min_validity = request.params.find("min_validity")->second;
  }
  TB_ASSIGN_OR_RETURN(std::optional<absl::Duration> min, ParseMinValidityParam(min_validity));
  return GetTokenBlocking(id, min);
}

absl::StatusOr<SnapshotPtr> HttpTokenEndpoint::GetTokenBlocking(
    const std::string& id, std::optional<absl::Duration> min_validity) {
  struct Pending {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<SnapshotPtr> result ABSL_GUARDED_BY(mu);
  };
  auto pending = std::make_shared<Pending>();
  broker_->GetToken(id, min_validity, [pending](absl::StatusOr<SnapshotPtr> result) {
    absl::MutexLock lock(&pending->mu);
    pending->result = std::move(result);
    pending->done = true;
  });
  absl::MutexLock lock(&pending->mu);
  pending->mu.Await(absl::Condition(&pending->done));
  return std::move(pending->result);
}

}  // namespace tokenbroker
