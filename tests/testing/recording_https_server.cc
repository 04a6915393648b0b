#include "tests/testing/recording_https_server.h"

#include <httplib.h>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tokenbroker::testing {

std::vector<std::string> RecordedRequest::Values(const std::string& name) const {
  std::vector<std::string> values;
  auto [begin, end] = headers.equal_range(name);
  for (auto it = begin; it != end; ++it) values.push_back(it->second);
  return values;
}

absl::StatusOr<std::unique_ptr<RecordingHttpsServer>> RecordingHttpsServer::Start(
    const std::string& cert_file, const std::string& key_file) {
  std::unique_ptr<RecordingHttpsServer> out(new RecordingHttpsServer());
  auto server = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
  if (!server->is_valid()) {
    return absl::InvalidArgumentError("RecordingHttpsServer: cannot load the certificate and key");
  }
  RecordingHttpsServer* self = out.get();
  server->set_pre_routing_handler([self](const httplib::Request& req, httplib::Response& res) {
    RecordedRequest recorded{.method = req.method, .target = req.target, .headers = {}};
    for (const auto& [name, value] : req.headers) {
      recorded.headers.emplace(absl::AsciiStrToLower(name), value);
    }
    {
      absl::MutexLock lock(&self->mu_);
      self->requests_.push_back(std::move(recorded));
    }
    res.status = 200;
    res.set_content(R"({"stub":"ok"})", "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  out->port_ = server->bind_to_any_port("127.0.0.1");
  if (out->port_ <= 0) return absl::UnavailableError("RecordingHttpsServer: cannot bind");
  out->server_ = std::move(server);
  out->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  // Serving once is_running(): until then stop() would not stop it.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!self->server_->is_running()) {
    if (absl::Now() > deadline) return absl::UnavailableError("RecordingHttpsServer: not serving");
    absl::SleepFor(absl::Milliseconds(1));
  }
  return out;
}

RecordingHttpsServer::~RecordingHttpsServer() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<RecordedRequest> RecordingHttpsServer::Requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

}  // namespace tokenbroker::testing
