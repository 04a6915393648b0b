// The shared client conformance scenarios (client/conformance/scenarios.json)
// against the real tokenbroker and ims-emulator: one test per scenario id,
// executed as client/conformance/README.md specifies. A scenario id, op,
// setup key, client option or expectation this runner does not know fails
// the scenario; nothing is skipped.
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "internal/status_macros.h"
#include "nlohmann/json.hpp"
#include "sdk_stack.h"
#include "tests/testing/subprocess.h"
#include "tokenbroker/client/error.h"
#include "tokenbroker/client/token_source.h"

namespace tokenbroker::client::testing {
namespace {

using json = nlohmann::json;
using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WriteFile;

constexpr absl::Duration kPollInterval = absl::Milliseconds(50);

const json& ScenarioFile() {
  static const json* const file = [] {
    std::ifstream in(TOKENBROKER_CONFORMANCE_FILE);
    return new json(json::parse(in, nullptr, /*allow_exceptions=*/false));
  }();
  return *file;
}

// The scenario ids, in file order. An unreadable file gives one id that no
// scenario has, so that the run fails instead of running nothing.
std::vector<std::string> ScenarioIds() {
  const json& file = ScenarioFile();
  std::vector<std::string> ids;
  if (!file.is_object() || !file.contains("scenarios") || !file["scenarios"].is_array()) {
    return {"scenarios_json_unreadable"};
  }
  for (const json& scenario : file["scenarios"]) {
    ids.push_back(scenario.is_object() ? scenario.value("id", "") : "");
  }
  return ids;
}

// INVALID_ARGUMENT naming the keys of `object` outside `known`.
absl::Status CheckKeys(const json& object, std::initializer_list<const char*> known,
                       absl::string_view where) {
  if (!object.is_object())
    return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
  std::set<std::string> allowed(known.begin(), known.end());
  std::vector<std::string> unknown;
  for (const auto& item : object.items()) {
    if (allowed.count(item.key()) == 0) unknown.push_back(item.key());
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": unknown key(s) ", absl::StrJoin(unknown, ", ")));
}

absl::Status Failed(absl::string_view what) { return absl::FailedPreconditionError(what); }

absl::Duration Ms(const json& value) { return absl::Milliseconds(value.get<int64_t>()); }

// `hmac-sha256:<salt hex>:<hex of HMAC-SHA256(salt, token)>` with a random
// 16-byte salt: the policy file's caller-token hash.
std::string CallerTokenHash(const std::string& token) {
  unsigned char salt[16];
  RAND_bytes(salt, sizeof(salt));
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), salt, sizeof(salt), reinterpret_cast<const unsigned char*>(token.data()),
       token.size(), mac, &mac_len);
  return absl::StrCat(
      "hmac-sha256:",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(salt), sizeof(salt))), ":",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), mac_len)));
}

// The policy file of a scenario's `broker.policy`.
absl::StatusOr<std::string> PolicyFile(const json& policy) {
  TBC_RETURN_IF_ERROR(CheckKeys(policy, {"caller_tokens", "bindings"}, "broker.policy"));
  json file = {{"version", 1}, {"caller_tokens", json::array()}};
  const json tokens = policy.value("caller_tokens", json::object());
  for (const auto& [identity, token] : tokens.items()) {
    file["caller_tokens"].push_back(
        {{"identity", identity}, {"hash", CallerTokenHash(token.get<std::string>())}});
  }
  file["bindings"] = policy.value("bindings", json::array());
  return file.dump();
}

// Checks `expect` against a call's outcome: `status`, whether the answer
// was non-empty, and the call's wall time.
absl::Status CheckExpect(const json& expect, const absl::Status& status, bool non_empty,
                         absl::Duration elapsed) {
  TBC_RETURN_IF_ERROR(
      CheckKeys(expect,
                {"ok", "code", "typed", "reason", "ims_error", "http_status", "x_debug_id",
                 "retry_delay_min_ms", "message_excludes", "min_elapsed_ms", "max_elapsed_ms"},
                "expect"));
  const TokenbrokerError error = GetError(status);
  const std::string got = status.ok() ? "OK" : error.ToString();
  if (expect.contains("ok") && expect["ok"].get<bool>() != (status.ok() && non_empty)) {
    return Failed(absl::StrCat("expected ok=", expect["ok"].dump(), ", got ", got));
  }
  if (expect.contains("code") && absl::StatusCodeToString(status.code()) != expect["code"]) {
    return Failed(absl::StrCat("expected code ", expect["code"].dump(), ", got ", got));
  }
  // C++ has no error type per code: the per-code check is the code itself.
  if (expect.value("typed", false) &&
      (!expect.contains("code") || absl::StatusCodeToString(error.code) != expect["code"])) {
    return Failed(
        absl::StrCat("typed: expected the code ", expect.value("code", "?"), ", got ", got));
  }
  for (const auto& [key, field] : std::vector<std::pair<std::string, const std::string*>>{
           {"reason", &error.reason},
           {"ims_error", &error.ims_error},
           {"http_status", &error.http_status}}) {
    if (expect.contains(key) && expect[key].get<std::string>() != *field) {
      return Failed(absl::StrCat("expected ", key, " ", expect[key].dump(), ", got ", got));
    }
  }
  if (expect.contains("x_debug_id")) {
    if (expect["x_debug_id"] != "nonempty") return Failed("x_debug_id: only \"nonempty\" is known");
    if (error.x_debug_id.empty()) return Failed(absl::StrCat("no x_debug_id in ", got));
  }
  if (expect.contains("retry_delay_min_ms") &&
      (!error.retry_delay.has_value() || *error.retry_delay < Ms(expect["retry_delay_min_ms"]))) {
    return Failed(absl::StrCat("expected a retry delay of at least ",
                               expect["retry_delay_min_ms"].dump(), " ms, got ", got));
  }
  if (expect.contains("message_excludes")) {
    const std::string secret = expect["message_excludes"].get<std::string>();
    for (const std::string& text : {std::string(status.message()), status.ToString(), got}) {
      if (absl::StrContains(text, secret)) return Failed("the error holds the excluded text");
    }
  }
  if (expect.contains("min_elapsed_ms") && elapsed < Ms(expect["min_elapsed_ms"])) {
    return Failed(absl::StrCat("took ", absl::FormatDuration(elapsed), ", expected at least ",
                               expect["min_elapsed_ms"].dump(), " ms"));
  }
  if (expect.contains("max_elapsed_ms") && elapsed > Ms(expect["max_elapsed_ms"])) {
    return Failed(absl::StrCat("took ", absl::FormatDuration(elapsed), ", expected at most ",
                               expect["max_elapsed_ms"].dump(), " ms"));
  }
  return absl::OkStatus();
}

// Compares the SDK's default options with the file's `defaults`.
absl::Status CheckDefaults(const json& defaults) {
  TBC_RETURN_IF_ERROR(CheckKeys(
      defaults,
      {"tls", "call_timeout_ms", "retry", "token_source_min_validity", "caller_token_reload_ms"},
      "defaults"));
  const ClientOptions options;
  const TokenSourceOptions source;
  std::vector<std::string> wrong;
  auto check = [&wrong](const std::string& name, bool equal) {
    if (!equal) wrong.push_back(name);
  };
  if (defaults.contains("tls")) check("tls", (!options.plaintext) == defaults["tls"].get<bool>());
  if (defaults.contains("call_timeout_ms")) {
    check("call_timeout_ms", options.call_timeout == Ms(defaults["call_timeout_ms"]));
  }
  if (defaults.contains("caller_token_reload_ms")) {
    check("caller_token_reload_ms",
          options.caller_token_reload == Ms(defaults["caller_token_reload_ms"]));
  }
  if (defaults.contains("token_source_min_validity")) {
    if (defaults["token_source_min_validity"] != "server") {
      return Failed("token_source_min_validity: only \"server\" is known");
    }
    check("token_source_min_validity", !source.min_remaining_validity.has_value());
  }
  if (defaults.contains("retry")) {
    const json& retry = defaults["retry"];
    TBC_RETURN_IF_ERROR(CheckKeys(
        retry, {"max_attempts", "initial_backoff_ms", "multiplier", "max_backoff_ms"}, "retry"));
    const RetryPolicy& policy = options.retry;
    if (retry.contains("max_attempts")) {
      check("retry.max_attempts", policy.max_attempts == retry["max_attempts"].get<int>());
    }
    if (retry.contains("initial_backoff_ms")) {
      check("retry.initial_backoff_ms", policy.initial_backoff == Ms(retry["initial_backoff_ms"]));
    }
    if (retry.contains("multiplier")) {
      check("retry.multiplier", policy.multiplier == retry["multiplier"].get<double>());
    }
    if (retry.contains("max_backoff_ms")) {
      check("retry.max_backoff_ms", policy.max_backoff == Ms(retry["max_backoff_ms"]));
    }
  }
  if (wrong.empty()) return absl::OkStatus();
  return Failed(absl::StrCat("defaults differ: ", absl::StrJoin(wrong, ", ")));
}

// One scenario: the emulator and broker it describes, its integrations and
// faults, then its steps in order.
class ScenarioRunner {
 public:
  explicit ScenarioRunner(const json& scenario) : scenario_(scenario) {}
  ~ScenarioRunner() {
    source_.reset();  // before the clients and the processes
    open_client_.reset();
  }

  absl::Status Run() {
    TBC_RETURN_IF_ERROR(CheckKeys(scenario_,
                                  {"id", "rule", "doc", "broker", "emulator_clients",
                                   "integrations", "setup_caller_token", "faults", "steps"},
                                  "scenario"));
    TBC_RETURN_IF_ERROR(StartStack());
    TBC_RETURN_IF_ERROR(CreateIntegrations());
    if (scenario_.contains("faults")) stack_->ims().SetFaults(scenario_["faults"]);
    const json& steps = scenario_.at("steps");
    for (size_t i = 0; i < steps.size(); ++i) {
      absl::Status status = Step(steps[i]);
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrCat("step ", i, " (", steps[i].value("op", "?"),
                                                        "): ", status.message()));
      }
    }
    return absl::OkStatus();
  }

 private:
  using Op = absl::Status (ScenarioRunner::*)(const json&);
  struct OpSpec {
    std::vector<std::string> keys;  // besides `op`
    Op run;
  };

  static const std::map<std::string, OpSpec>& Ops() {
    static const auto* const ops = new std::map<std::string, OpSpec>{
        {"check_defaults", {{}, &ScenarioRunner::CheckDefaultsStep}},
        {"get_access_token", {{"integration", "client", "expect"}, &ScenarioRunner::GetToken}},
        {"get_integration", {{"integration", "client", "expect"}, &ScenarioRunner::GetIntegration}},
        {"expect_emulator", {{"token_requests"}, &ScenarioRunner::ExpectEmulator}},
        {"client_open", {{"client"}, &ScenarioRunner::ClientOpen}},
        {"client_close", {{}, &ScenarioRunner::ClientClose}},
        {"write_caller_token_file", {{"token"}, &ScenarioRunner::WriteCallerTokenFile}},
        {"get_access_token_until_ok",
         {{"integration", "client", "within_ms"}, &ScenarioRunner::GetTokenUntilOk}},
        {"token_source_open", {{"integration", "client"}, &ScenarioRunner::SourceOpen}},
        {"token_source_close", {{}, &ScenarioRunner::SourceClose}},
        {"token_source_token", {{"save_as", "min_remaining_ms"}, &ScenarioRunner::SourceToken}},
        {"token_source_until_changed",
         {{"from", "within_ms", "min_remaining_ms", "before_expiry_of"},
          &ScenarioRunner::SourceUntilChanged}},
        {"restart_broker", {{}, &ScenarioRunner::RestartBroker}},
        {"refresh_access_token",
         {{"integration", "client", "save_as"}, &ScenarioRunner::RefreshToken}},
        {"token_source_until_equals", {{"value", "within_ms"}, &ScenarioRunner::SourceUntilEquals}},
    };
    return *ops;
  }

  absl::Status Step(const json& step) {
    if (!step.is_object() || !step.contains("op")) return Failed("a step without op");
    auto op = Ops().find(step["op"].get<std::string>());
    if (op == Ops().end()) return Failed(absl::StrCat("unknown op ", step["op"].dump()));
    std::set<std::string> allowed(op->second.keys.begin(), op->second.keys.end());
    allowed.insert("op");
    for (const auto& item : step.items()) {
      if (allowed.count(item.key()) == 0) return Failed(absl::StrCat("unknown key ", item.key()));
    }
    return (this->*op->second.run)(step);
  }

  // --- Setup ---------------------------------------------------------------

  absl::Status StartStack() {
    StackConfig config;
    config.emulator_clients = {EmulatorClient("c-day", "s-day", 24 * 3600)};
    for (const json& client : scenario_.value("emulator_clients", json::array())) {
      TBC_RETURN_IF_ERROR(
          CheckKeys(client, {"client_id", "secret", "lifetime_s"}, "emulator_clients[]"));
      config.emulator_clients.push_back(EmulatorClient(client.at("client_id").get<std::string>(),
                                                       client.at("secret").get<std::string>(),
                                                       client.at("lifetime_s").get<int>()));
    }
    const json broker = scenario_.value("broker", json::object());
    TBC_RETURN_IF_ERROR(CheckKeys(broker, {"tls", "flags", "policy"}, "broker"));
    config.tls = broker.value("tls", false);
    config.broker_flags = broker.value("flags", std::vector<std::string>());
    if (broker.contains("policy")) {
      TBC_ASSIGN_OR_RETURN(config.policy, PolicyFile(broker["policy"]));
    }
    TBC_ASSIGN_OR_RETURN(stack_, SdkStack::Start(config));
    return absl::OkStatus();
  }

  // Through the SDK's wrapped CreateIntegration: plaintext (with the test CA
  // when the broker serves TLS), as `setup_caller_token` when given.
  absl::Status CreateIntegrations() {
    ClientOptions options;
    options.target = stack_->broker().address();
    if (scenario_.value("broker", json::object()).value("tls", false)) {
      options.ca_file = stack_->ca_file();
    } else {
      options.plaintext = true;
    }
    options.caller_token = scenario_.value("setup_caller_token", "");
    TBC_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, Client::New(options));
    for (const json& integration : scenario_.value("integrations", json::array())) {
      TBC_RETURN_IF_ERROR(CheckKeys(integration, {"id", "client_id", "secret"}, "integrations[]"));
      absl::Status created =
          stack_->CreateOAuthIntegration(*client, integration.at("id").get<std::string>(),
                                         integration.at("client_id").get<std::string>(),
                                         integration.at("secret").get<std::string>());
      if (!created.ok()) {
        return Failed(absl::StrCat("creating integration ", integration["id"].dump(), ": ",
                                   GetError(created).ToString()));
      }
    }
    return absl::OkStatus();
  }

  // --- Clients -------------------------------------------------------------

  std::string CallerTokenFile() const { return dir_.File("caller-token"); }

  absl::StatusOr<std::shared_ptr<Client>> NewClient(const json& spec) {
    TBC_RETURN_IF_ERROR(CheckKeys(
        spec,
        {"plaintext", "ca_file", "call_timeout_ms", "caller_token_file", "caller_token_reload_ms"},
        "client"));
    ClientOptions options;
    options.target = stack_->broker().address();
    if (spec.contains("plaintext")) options.plaintext = spec["plaintext"].get<bool>();
    if (spec.value("ca_file", false)) options.ca_file = stack_->ca_file();
    if (spec.contains("call_timeout_ms")) options.call_timeout = Ms(spec["call_timeout_ms"]);
    if (spec.value("caller_token_file", false)) options.caller_token_file = CallerTokenFile();
    if (spec.contains("caller_token_reload_ms")) {
      options.caller_token_reload = Ms(spec["caller_token_reload_ms"]);
    }
    return Client::New(options);
  }

  // The step's own client, else the one of client_open.
  absl::StatusOr<std::shared_ptr<Client>> ClientFor(const json& step) {
    if (step.contains("client")) return NewClient(step["client"]);
    if (open_client_ == nullptr) return Failed("no client: neither `client` nor client_open");
    return open_client_;
  }

  absl::Status ClientOpen(const json& step) {
    TBC_ASSIGN_OR_RETURN(open_client_, NewClient(step.at("client")));
    return absl::OkStatus();
  }

  absl::Status ClientClose(const json&) {
    open_client_.reset();
    return absl::OkStatus();
  }

  absl::Status WriteCallerTokenFile(const json& step) {
    const std::string temporary = CallerTokenFile() + ".tmp";
    WriteFile(temporary, step.at("token").get<std::string>());
    if (std::rename(temporary.c_str(), CallerTokenFile().c_str()) != 0) {
      return absl::InternalError("rename of the caller-token file failed");
    }
    return absl::OkStatus();
  }

  // --- Calls ---------------------------------------------------------------

  absl::Status CheckDefaultsStep(const json&) {
    return CheckDefaults(ScenarioFile().at("defaults"));
  }

  absl::Status GetToken(const json& step) {
    TBC_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, ClientFor(step));
    const absl::Time start = absl::Now();
    absl::StatusOr<AccessToken> token =
        client->GetAccessToken(step.at("integration").get<std::string>());
    const absl::Duration elapsed = absl::Now() - start;
    return CheckExpect(step.at("expect"), token.status(), token.ok() && !token->token.empty(),
                       elapsed);
  }

  absl::Status GetIntegration(const json& step) {
    TBC_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, ClientFor(step));
    v1::GetIntegrationRequest request;
    request.set_name(IntegrationName(step.at("integration").get<std::string>()));
    const absl::Time start = absl::Now();
    absl::StatusOr<v1::GetIntegrationResponse> response = client->GetIntegration(request);
    const absl::Duration elapsed = absl::Now() - start;
    return CheckExpect(step.at("expect"), response.status(),
                       response.ok() && !response->integration().name().empty(), elapsed);
  }

  absl::Status GetTokenUntilOk(const json& step) {
    TBC_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, ClientFor(step));
    const absl::Time deadline = absl::Now() + Ms(step.at("within_ms"));
    absl::Status last;
    do {
      absl::StatusOr<AccessToken> token =
          client->GetAccessToken(step.at("integration").get<std::string>());
      if (token.ok()) return absl::OkStatus();
      last = token.status();
      absl::SleepFor(kPollInterval);
    } while (absl::Now() < deadline);
    return Failed(absl::StrCat("no success within ", step["within_ms"].dump(),
                               " ms; last: ", GetError(last).ToString()));
  }

  absl::Status RefreshToken(const json& step) {
    TBC_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, ClientFor(step));
    absl::StatusOr<AccessToken> token =
        client->RefreshAccessToken(step.at("integration").get<std::string>());
    if (!token.ok()) return Failed(GetError(token.status()).ToString());
    saved_[step.at("save_as").get<std::string>()] = *token;
    return absl::OkStatus();
  }

  absl::Status ExpectEmulator(const json& step) {
    const int got = stack_->ims().TokenRequests();
    if (got == step.at("token_requests").get<int>()) return absl::OkStatus();
    return Failed(absl::StrCat("the emulator saw ", got, " token requests, expected ",
                               step["token_requests"].dump()));
  }

  absl::Status RestartBroker(const json&) {
    TBC_RETURN_IF_ERROR(stack_->RestartBroker());
    return CreateIntegrations();
  }

  // --- Token source ----------------------------------------------------------

  absl::Status SourceOpen(const json& step) {
    TBC_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, ClientFor(step));
    TBC_ASSIGN_OR_RETURN(source_,
                         TokenSource::New(client, step.at("integration").get<std::string>()));
    return absl::OkStatus();
  }

  absl::Status SourceClose(const json&) {
    source_.reset();
    return absl::OkStatus();
  }

  absl::StatusOr<AccessToken> SourceTokenNow() {
    if (source_ == nullptr) return Failed("no token source: token_source_open first");
    return source_->Token();
  }

  // FAILED_PRECONDITION when `token` has less than `min_remaining_ms` left.
  static absl::Status CheckRemaining(const AccessToken& token, const json& step) {
    if (!step.contains("min_remaining_ms")) return absl::OkStatus();
    absl::Duration left = token.expire_time - absl::Now();
    if (left >= Ms(step["min_remaining_ms"])) return absl::OkStatus();
    return Failed(absl::StrCat("a token with only ", absl::FormatDuration(left), " left"));
  }

  absl::StatusOr<AccessToken> Saved(const json& name) const {
    auto it = saved_.find(name.get<std::string>());
    if (it == saved_.end()) return Failed(absl::StrCat("no token saved as ", name.dump()));
    return it->second;
  }

  absl::Status SourceToken(const json& step) {
    TBC_ASSIGN_OR_RETURN(AccessToken token, SourceTokenNow());
    TBC_RETURN_IF_ERROR(CheckRemaining(token, step));
    if (step.contains("save_as")) saved_[step["save_as"].get<std::string>()] = token;
    return absl::OkStatus();
  }

  // Polls the source every 50 ms until `done(token)` holds or `within_ms`
  // passes; each token seen must pass CheckRemaining. Errors of the source
  // count as "not yet" (the last one is reported).
  absl::StatusOr<AccessToken> PollSource(const json& step,
                                         const std::function<bool(const AccessToken&)>& done) {
    const absl::Time deadline = absl::Now() + Ms(step.at("within_ms"));
    absl::Status last = Failed("no token");
    do {
      absl::StatusOr<AccessToken> token = SourceTokenNow();
      if (token.ok()) {
        TBC_RETURN_IF_ERROR(CheckRemaining(*token, step));
        if (done(*token)) return token;
        last = Failed("still the old token");
      } else {
        last = token.status();
      }
      absl::SleepFor(kPollInterval);
    } while (absl::Now() < deadline);
    return Failed(absl::StrCat("not within ", step["within_ms"].dump(),
                               " ms; last: ", GetError(last).ToString()));
  }

  absl::Status SourceUntilChanged(const json& step) {
    TBC_ASSIGN_OR_RETURN(AccessToken from, Saved(step.at("from")));
    TBC_RETURN_IF_ERROR(
        PollSource(step, [&from](const AccessToken& t) { return t.token != from.token; }).status());
    const absl::Time arrived = absl::Now();
    if (step.contains("before_expiry_of")) {
      TBC_ASSIGN_OR_RETURN(AccessToken old, Saved(step["before_expiry_of"]));
      if (arrived >= old.expire_time) return Failed("the new token came after the old expired");
    }
    return absl::OkStatus();
  }

  absl::Status SourceUntilEquals(const json& step) {
    TBC_ASSIGN_OR_RETURN(AccessToken want, Saved(step.at("value")));
    return PollSource(step, [&want](const AccessToken& t) { return t.token == want.token; })
        .status();
  }

  const json& scenario_;
  TempDir dir_;
  std::unique_ptr<SdkStack> stack_;
  std::shared_ptr<Client> open_client_;
  std::unique_ptr<TokenSource> source_;
  std::map<std::string, AccessToken> saved_;
};

const json* FindScenario(const std::string& id) {
  const json& file = ScenarioFile();
  if (!file.is_object() || !file.contains("scenarios")) return nullptr;
  for (const json& scenario : file["scenarios"]) {
    if (scenario.is_object() && scenario.value("id", "") == id) return &scenario;
  }
  return nullptr;
}

class ConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceTest, Scenario) {
  ASSERT_FALSE(GetParam().empty()) << "a scenario without an id";
  const json* scenario = FindScenario(GetParam());
  ASSERT_NE(scenario, nullptr) << "no scenario " << GetParam() << " in "
                               << TOKENBROKER_CONFORMANCE_FILE;
  absl::Status result;
  try {
    result = ScenarioRunner(*scenario).Run();
  } catch (const json::exception& e) {
    result = absl::InvalidArgumentError(absl::StrCat("malformed scenario: ", e.what()));
  }
  EXPECT_TRUE(result.ok()) << GetParam() << ": " << result;
}

// Test names are the ids (snake_case). One that gtest cannot take as a
// name becomes `id_N`: the test still runs, under that name; an empty id
// fails.
std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  bool valid = !info.param.empty();
  for (char c : info.param) valid = valid && (absl::ascii_isalnum(c) || c == '_');
  return valid ? info.param : absl::StrCat("id_", info.index);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ConformanceTest, ::testing::ValuesIn(ScenarioIds()), TestName);

// The runner itself: what it does not know fails, never passes silently.
absl::Status RunScenario(const std::string& text) {
  const json scenario = json::parse(text);
  return ScenarioRunner(scenario).Run();
}

TEST(ConformanceRunnerTest, UnknownSetupKeyFails) {
  absl::Status status = RunScenario(R"({"id": "x", "no_such_setup": 1, "steps": []})");
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("unknown key(s) no_such_setup"));
}

TEST(ConformanceRunnerTest, UnknownOpFails) {
  absl::Status status = RunScenario(R"({"id": "x", "steps": [{"op": "no_such_op"}]})");
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("step 0 (no_such_op): unknown op"));
}

TEST(ConformanceRunnerTest, UnknownStepKeyFails) {
  absl::Status status =
      RunScenario(R"({"id": "x", "steps": [{"op": "client_close", "surprise": 1}]})");
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("unknown key surprise"));
}

TEST(ConformanceRunnerTest, UnknownExpectationOrClientOptionFails) {
  absl::Status expectation = CheckExpect(json::parse(R"({"no_such_expectation": 1})"),
                                         absl::OkStatus(), true, absl::ZeroDuration());
  absl::Status option = RunScenario(
      R"({"id": "x", "steps": [{"op": "client_open", "client": {"no_such_option": true}}]})");

  EXPECT_THAT(std::string(expectation.message()), ::testing::HasSubstr("no_such_expectation"));
  EXPECT_THAT(std::string(option.message()), ::testing::HasSubstr("no_such_option"));
}

}  // namespace
}  // namespace tokenbroker::client::testing
