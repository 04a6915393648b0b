#include "tests/ims_emulator/ims_emulator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tokenbroker::emulator {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr char kIncorrectlyFormatted[] = "JWT token is incorrectly formatted";

std::string FormValue(const Form& form, const std::string& key) {
  auto it = form.find(key);
  return it == form.end() ? std::string() : it->second;
}

bool Contains(const std::vector<std::string>& list, absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Decodes one base64url JWT segment holding a JSON object.
bool DecodeJsonSegment(absl::string_view segment, json* out) {
  auto raw = Base64UrlDecode(segment);
  if (!raw.has_value()) return false;
  *out = json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  return !out->is_discarded() && out->is_object();
}

}  // namespace

absl::StatusOr<FaultSettings> ParseFaultSettings(absl::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("faults must be a JSON object");
  }
  FaultSettings faults;
  const std::vector<std::pair<const char*, double*>> rates = {
      {"error_rate", &faults.error_rate},
      {"rate_429", &faults.rate_429},
      {"rate_5xx", &faults.rate_5xx},
      {"drop_rate", &faults.drop_rate},
      {"malformed_rate", &faults.malformed_rate},
      {"hang_rate", &faults.hang_rate},
      {"reset_rate", &faults.reset_rate},
      {"slow_rate", &faults.slow_rate}};
  const std::vector<std::pair<const char*, absl::Duration*>> durations = {
      {"latency_ms", &faults.latency}, {"hang_ms", &faults.hang}, {"slow_ms", &faults.slow}};
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    const json& value = item.value();
    auto rate =
        std::find_if(rates.begin(), rates.end(), [&](const auto& r) { return key == r.first; });
    auto duration = std::find_if(durations.begin(), durations.end(),
                                 [&](const auto& d) { return key == d.first; });
    if (rate != rates.end()) {
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
        return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a number in [0, 1]"));
      }
      *rate->second = value.get<double>();
    } else if (duration != durations.end()) {
      if (!value.is_number() || value.get<double>() < 0) {
        return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a number >= 0"));
      }
      *duration->second = absl::Milliseconds(value.get<double>());
    } else if (key == "retry_after_seconds") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return absl::InvalidArgumentError("\"retry_after_seconds\" must be an integer >= 0");
      }
      faults.retry_after_seconds = value.get<int>();
    } else if (key == "clients") {
      if (!value.is_array()) return absl::InvalidArgumentError("\"clients\" must be an array");
      for (const json& client : value) {
        if (!client.is_string()) {
          return absl::InvalidArgumentError("\"clients\" must hold client id strings");
        }
        faults.clients.push_back(client.get<std::string>());
      }
    } else if (key == "count") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return absl::InvalidArgumentError("\"count\" must be an integer >= 0");
      }
      faults.count = value.get<int64_t>();
    } else if (key == "down") {
      if (!value.is_boolean()) return absl::InvalidArgumentError("\"down\" must be a boolean");
      faults.down = value.get<bool>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown fault setting \"", key, "\""));
    }
  }
  return faults;
}

json FaultSettingsToJson(const FaultSettings& faults) {
  return json{{"error_rate", faults.error_rate},
              {"latency_ms", absl::ToDoubleMilliseconds(faults.latency)},
              {"rate_429", faults.rate_429},
              {"retry_after_seconds", faults.retry_after_seconds},
              {"rate_5xx", faults.rate_5xx},
              {"drop_rate", faults.drop_rate},
              {"malformed_rate", faults.malformed_rate},
              {"hang_rate", faults.hang_rate},
              {"hang_ms", absl::ToDoubleMilliseconds(faults.hang)},
              {"reset_rate", faults.reset_rate},
              {"slow_rate", faults.slow_rate},
              {"slow_ms", absl::ToDoubleMilliseconds(faults.slow)},
              {"down", faults.down},
              {"clients", faults.clients},
              {"count", faults.count}};
}

bool FaultSettings::AppliesTo(absl::string_view client_id) const {
  return clients.empty() || std::find(clients.begin(), clients.end(), client_id) != clients.end();
}

absl::string_view FaultName(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "none";
    case Fault::kDown:
      return "down";
    case Fault::kDrop:
      return "drop";
    case Fault::kServerError:
      return "error";
    case Fault::kTooManyRequests:
      return "429";
    case Fault::kUnavailable:
      return "5xx";
    case Fault::kMalformed:
      return "malformed";
    case Fault::kHang:
      return "hang";
    case Fault::kReset:
      return "reset";
    case Fault::kSlow:
      return "slow";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<ImsEmulator>> ImsEmulator::New(EmulatorOptions options,
                                                              EvpPkeyPtr signing_key,
                                                              std::vector<ClientConfig> clients) {
  if (signing_key == nullptr || EVP_PKEY_get_base_id(signing_key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("the access token signing key must be RSA");
  }
  if (options.token_lifetime <= absl::ZeroDuration() ||
      options.jwt_max_exp_ahead <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("token lifetime and JWT max exp ahead must be positive");
  }
  std::unique_ptr<ImsEmulator> emulator(new ImsEmulator(options, std::move(signing_key)));
  absl::MutexLock lock(&emulator->mu_);
  for (ClientConfig& client : clients) {
    std::string id = client.client_id;
    if (!emulator->clients_.emplace(id, std::move(client)).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate client_id \"", id, "\""));
    }
    emulator->MetaOf(id, absl::Now());
  }
  return emulator;
}

void ImsEmulator::PutClient(ClientConfig client) {
  absl::MutexLock lock(&mu_);
  std::string id = client.client_id;
  clients_[id] = std::move(client);
  MetaOf(id, absl::Now());
}

json ImsEmulator::Stats() const {
  absl::MutexLock lock(&mu_);
  json exchanges = json::object();
  for (const auto& [id, n] : exchanges_) exchanges[id] = n;
  json by_grant = json::object();
  for (const auto& [grant, counts] : grant_exchanges_) {
    for (const auto& [id, n] : counts) by_grant[grant][id] = n;
  }
  json arrivals = json::object();
  for (const auto& [id, times] : arrivals_ms_) arrivals[id] = times;
  return json{{"total_exchanges", total_exchanges_},
              {"rejected", rejected_},
              {"faults_injected", faults_injected_},
              {"token_requests", token_requests_},
              {"exchanges", exchanges},
              {"exchanges_by_grant", by_grant},
              {"arrivals_ms", arrivals}};
}

void ImsEmulator::ResetStats() {
  absl::MutexLock lock(&mu_);
  exchanges_.clear();
  grant_exchanges_.clear();
  total_exchanges_ = 0;
  rejected_ = 0;
  faults_injected_ = 0;
  token_requests_ = 0;
  arrivals_ms_.clear();
}

void ImsEmulator::CountFault() {
  absl::MutexLock lock(&mu_);
  ++faults_injected_;
}

void ImsEmulator::CountTokenRequest(absl::string_view client_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ++token_requests_;
  std::deque<int64_t>& times = arrivals_ms_[std::string(client_id)];
  times.push_back(absl::ToUnixMillis(now));
  if (times.size() > kMaxArrivals) times.pop_front();
}

void ImsEmulator::CountRejected() {
  absl::MutexLock lock(&mu_);
  ++rejected_;
}

FaultSettings ImsEmulator::faults() const {
  absl::MutexLock lock(&mu_);
  return faults_;
}

void ImsEmulator::SetFaults(const FaultSettings& faults) {
  absl::MutexLock lock(&mu_);
  faults_ = faults;
}

Fault ImsEmulator::DrawFault(absl::string_view client_id) {
  absl::MutexLock lock(&mu_);
  if (!faults_.AppliesTo(client_id)) return Fault::kNone;
  if (faults_.count > 0 && --faults_.count == 0) {
    FaultSettings last = std::exchange(faults_, FaultSettings{});
    return DrawFrom(last);
  }
  return DrawFrom(faults_);
}

Fault ImsEmulator::DrawFrom(const FaultSettings& faults) {
  if (faults.down) return Fault::kDown;
  const std::pair<double, Fault> draws[] = {
      {faults.drop_rate, Fault::kDrop},           {faults.error_rate, Fault::kServerError},
      {faults.rate_429, Fault::kTooManyRequests}, {faults.rate_5xx, Fault::kUnavailable},
      {faults.malformed_rate, Fault::kMalformed}, {faults.hang_rate, Fault::kHang},
      {faults.reset_rate, Fault::kReset},         {faults.slow_rate, Fault::kSlow}};
  double draw = absl::Uniform(gen_, 0.0, 1.0);
  double stacked = 0;
  for (const auto& [rate, fault] : draws) {
    stacked += rate;
    if (draw < stacked) return fault;
  }
  return Fault::kNone;
}

Reply ImsEmulator::Error(int status, absl::string_view error, absl::string_view description) {
  if (status >= 400 && status < 500) CountRejected();
  Reply reply;
  reply.status = status;
  reply.body = ordered_json{{"error", error}, {"error_description", description}}.dump();
  return reply;
}

bool ImsEmulator::Authenticate(const Form& form, absl::Time now, absl::string_view grant_type,
                               ClientConfig* client, Reply* reply) {
  std::string client_id = FormValue(form, "client_id");
  if (client_id.empty()) {
    *reply = Error(400, "invalid_client", "client_id is missing");
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = clients_.find(client_id);
    if (it != clients_.end()) *client = it->second;
  }
  if (client->client_id.empty()) {
    *reply = Error(400, "invalid_client", "unknown client_id");
    return false;
  }
  std::string secret = FormValue(form, "client_secret");
  // Compare with every registered secret, without an early exit.
  bool match = false;
  for (const std::string& candidate : client->client_secrets) {
    match |= ConstantTimeEquals(secret, candidate);
  }
  if (secret.empty() || !match) {
    *reply = Error(401, "invalid_client", "invalid client_secret");
    return false;
  }
  absl::MutexLock lock(&mu_);
  std::map<std::string, SecretMeta>& metas = MetaOf(client->client_id, now);
  auto meta = metas.find(secret);
  if (meta != metas.end()) {  // else deleted since the copy above: this request still passes
    meta->second.last_used = now;
    meta->second.grant_type = std::string(grant_type);
  }
  return true;
}

std::string ImsEmulator::MintAccessToken(const ClientConfig& client, absl::string_view user_id,
                                         absl::string_view scope, absl::Time now,
                                         absl::Duration lifetime) {
  const int64_t now_ms = absl::ToUnixMillis(now);
  ordered_json header = {{"alg", "RS256"},
                         {"x5u", "ims_na1-key-at-1.cer"},
                         {"kid", "ims_na1-key-at-1"},
                         {"itt", "at"}};
  ordered_json payload = {{"id", absl::StrCat(now_ms, "_", RandomHex(16), "_ue1")},
                          {"type", "access_token"},
                          {"client_id", client.client_id},
                          {"user_id", user_id},
                          {"as", "ims-na1"},
                          {"org", client.org_id},
                          {"created_at", absl::StrCat(now_ms)},
                          {"expires_in", absl::StrCat(absl::ToInt64Milliseconds(lifetime))},
                          {"scope", scope}};
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));
  auto signature = SignRs256(signing_key_.get(), signing_input);
  // The key was checked to be RSA in New(): signing cannot fail short of OOM.
  return absl::StrCat(signing_input, ".",
                      Base64UrlEncode(signature.ok() ? *signature : std::string("x")));
}

Reply ImsEmulator::Success(const ClientConfig& client, absl::string_view grant_type,
                           absl::string_view user_id, absl::string_view scope, absl::Time now,
                           bool milliseconds) {
  absl::Duration lifetime = client.token_lifetime.value_or(options_.token_lifetime);
  std::string token = MintAccessToken(client, user_id, scope, now, lifetime);
  {
    absl::MutexLock lock(&mu_);
    ++total_exchanges_;
    ++exchanges_[client.client_id];
    ++grant_exchanges_[std::string(grant_type)][client.client_id];
  }
  Reply reply;
  if (milliseconds) {
    reply.body = ordered_json{{"token_type", "bearer"},
                              {"access_token", token},
                              {"expires_in", absl::ToInt64Milliseconds(lifetime)}}
                     .dump();
  } else {
    reply.body = ordered_json{{"access_token", token},
                              {"token_type", "bearer"},
                              {"expires_in", absl::ToInt64Seconds(lifetime)}}
                     .dump();
  }
  return reply;
}

Reply ImsEmulator::ClientCredentials(const Form& form, absl::Time now) {
  std::string grant_type = FormValue(form, "grant_type");
  if (grant_type != "client_credentials") {
    return Error(
        400, "unsupported_grant_type",
        grant_type.empty() ? "grant_type is missing" : "grant_type must be client_credentials");
  }
  ClientConfig client;
  Reply reply;
  if (!Authenticate(form, now, "client_credentials", &client, &reply)) return reply;
  std::vector<std::string> requested;
  for (absl::string_view scope : absl::StrSplit(FormValue(form, "scope"), ',')) {
    scope = absl::StripAsciiWhitespace(scope);
    if (scope.empty()) continue;
    if (!Contains(client.scopes, scope)) {
      return Error(400, "invalid_scope",
                   absl::StrCat("scope \"", scope, "\" is not allowed for this client"));
    }
    requested.emplace_back(scope);
  }
  std::string scope = absl::StrJoin(requested.empty() ? client.scopes : requested, ",");
  std::string user_id = client.technical_account_id.empty()
                            ? absl::StrCat(client.client_id, "@AdobeID")
                            : client.technical_account_id;
  return Success(client, "client_credentials", user_id, scope, now, /*milliseconds=*/false);
}

Reply ImsEmulator::ExchangeJwt(const Form& form, absl::string_view base_url, absl::Time now) {
  ClientConfig client;
  Reply reply;
  if (!Authenticate(form, now, "jwt_bearer", &client, &reply)) return reply;
  std::string jwt = FormValue(form, "jwt_token");
  if (jwt.empty()) return Error(400, "bad_request", "jwt_token is missing");

  std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  json header, payload;
  if (parts.size() != 3 || parts[2].empty() || !DecodeJsonSegment(parts[0], &header)) {
    return Error(400, "invalid_token", kIncorrectlyFormatted);
  }
  if (header.value("alg", "") != "RS256") {
    return Error(400, "invalid_token", "JWT must be signed with alg RS256");
  }
  if (client.certificate_key == nullptr) {
    return Error(400, "invalid_signature", "no certificate is registered for this client");
  }
  auto signature = Base64UrlDecode(parts[2]);
  if (!signature.has_value() ||
      !VerifyRs256(client.certificate_key.get(),
                   jwt.substr(0, parts[0].size() + 1 + parts[1].size()), *signature)) {
    return Error(400, "invalid_signature",
                 "JWT signature does not verify with the client's certificate");
  }
  if (!DecodeJsonSegment(parts[1], &payload)) {
    return Error(400, "invalid_token", kIncorrectlyFormatted);
  }

  auto exp = payload.find("exp");
  if (exp == payload.end() || !exp->is_number_integer()) {
    return Error(400, "invalid_token", kIncorrectlyFormatted);
  }
  absl::Time expires = absl::FromUnixSeconds(exp->get<int64_t>());
  if (expires <= now) return Error(400, "invalid_token", "JWT token has expired");
  if (expires > now + options_.jwt_max_exp_ahead) {
    return Error(400, "invalid_token",
                 absl::StrCat("JWT exp is more than ",
                              absl::FormatDuration(options_.jwt_max_exp_ahead), " ahead"));
  }

  if (payload.value("iss", json()) != json(client.org_id) || client.org_id.empty()) {
    return Error(400, "invalid_token", "iss does not match the client's organization");
  }
  if (payload.value("sub", json()) != json(client.technical_account_id) ||
      client.technical_account_id.empty()) {
    return Error(400, "invalid_token", "sub does not match the client's technical account");
  }
  std::string expected_aud = absl::StrCat(base_url, "/c/", client.client_id);
  if (payload.value("aud", json()) != json(expected_aud)) {
    return Error(400, "invalid_token", absl::StrCat("aud must be ", expected_aud));
  }

  const std::string metascope_prefix = absl::StrCat(base_url, "/s/");
  std::vector<std::string> metascopes;
  for (const auto& item : payload.items()) {
    if (!absl::StartsWith(item.key(), metascope_prefix)) continue;
    std::string name = item.key().substr(metascope_prefix.size());
    if (item.value() != json(true)) {
      return Error(400, "invalid_scope",
                   absl::StrCat("metascope claim ", item.key(), " must be true"));
    }
    if (!Contains(client.metascopes, name)) {
      return Error(400, "invalid_scope",
                   absl::StrCat("metascope \"", name, "\" is not allowed for this client"));
    }
    metascopes.push_back(name);
  }
  if (metascopes.empty()) {
    return Error(400, "invalid_scope",
                 absl::StrCat("no metascope claim (", metascope_prefix, "<metascope>: true)"));
  }

  auto jti = payload.find("jti");
  if (jti != payload.end()) {
    if (!jti->is_string() || jti->get<std::string>().empty()) {
      return Error(400, "invalid_token", kIncorrectlyFormatted);
    }
    if (!RecordJti(client.client_id, jti->get<std::string>(), expires, now)) {
      return Error(400, "invalid_jti", "jti has already been used");
    }
  }
  return Success(client, "jwt_bearer", client.technical_account_id, absl::StrJoin(metascopes, ","),
                 now, /*milliseconds=*/true);
}

bool ImsEmulator::RecordJti(const std::string& client_id, const std::string& jti,
                            absl::Time expires, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (jtis_.size() >= jti_purge_size_) {
    for (auto it = jtis_.begin(); it != jtis_.end();) {
      if (it->second <= now) {
        jtis_.erase(it++);
      } else {
        ++it;
      }
    }
    jti_purge_size_ = std::max<size_t>(1024, 2 * jtis_.size());
  }
  auto [it, inserted] = jtis_.emplace(absl::StrCat(client_id, "\n", jti), expires);
  if (inserted) return true;
  if (it->second <= now) {  // The earlier JWT has expired: the jti is free again.
    it->second = expires;
    return true;
  }
  return false;
}

}  // namespace tokenbroker::emulator
