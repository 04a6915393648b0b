// The IMS emulator's core: Adobe IMS's token endpoints as pure request ->
// reply functions, plus the state tests inspect (counters, fault settings,
// clients). Transport-free: emulator_server.h puts it behind HTTP(S).
//
// Design note: the endpoints are plain functions of (form fields, base URL,
// now) so that the protocol checks can be read in one place and the HTTP
// layer stays a thin translator (the same split as the broker's gRPC edge).
//
// Not a security boundary: it is a test double. It is, however, strict in
// the ways real IMS is strict (signature, exp, aud, metascopes, jti), so that
// the broker cannot pass against it while being wrong against Adobe.
#ifndef TOKENBROKER_TESTS_IMS_EMULATOR_IMS_EMULATOR_H_
#define TOKENBROKER_TESTS_IMS_EMULATOR_IMS_EMULATOR_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/ims_emulator/clients.h"
#include "tests/ims_emulator/crypto.h"

namespace tokenbroker::emulator {

// Injected failures of the token endpoints. Each rate is the fraction of
// token requests that get that fault: one uniform draw per request picks at
// most one fault, the rates stacked in the order drop, error (500), 429,
// 5xx (503), malformed, hang, reset, slow (a sum past 1 clips the last
// ones). `down` overrides them all. The admin endpoints never fail.
struct FaultSettings {
  double error_rate = 0;   // 500 {"error":"server_error"}
  absl::Duration latency;  // added before every token response
  double rate_429 = 0;     // 429 with Retry-After
  int retry_after_seconds = 1;
  double rate_5xx = 0;        // 503 {"error":"service_unavailable"}
  double drop_rate = 0;       // connection closed, no response at all
  double malformed_rate = 0;  // 200 with a truncated, non-JSON body
  double hang_rate = 0;       // no answer for `hang`, then the connection is reset
  absl::Duration hang = absl::Seconds(60);
  double reset_rate = 0;  // the connection is reset (TCP RST), no response
  double slow_rate = 0;   // answered normally after `slow`
  absl::Duration slow = absl::Seconds(2);
  bool down = false;  // every token request gets 503
  // When not empty, the faults (latency included) apply only to token
  // requests of these client ids; the others are answered normally.
  std::vector<std::string> clients;
  // When > 0: the faults apply to the next `count` token requests (of `clients`) only; then
  // every setting returns to its default (no faults), e.g. "the next request gets a 429".
  int64_t count = 0;

  bool AppliesTo(absl::string_view client_id) const;
};

// Parses the admin JSON form: any of {"error_rate", "latency_ms",
// "rate_429", "retry_after_seconds", "rate_5xx", "drop_rate",
// "malformed_rate", "hang_rate", "hang_ms", "reset_rate", "slow_rate",
// "slow_ms", "down", "clients", "count"}; absent keys take the defaults above (the
// settings are replaced, not merged). Errors: INVALID_ARGUMENT.
absl::StatusOr<FaultSettings> ParseFaultSettings(absl::string_view text);
nlohmann::json FaultSettingsToJson(const FaultSettings& faults);

// What a request draws from the fault settings.
enum class Fault {
  kNone,
  kDown,
  kDrop,
  kServerError,
  kTooManyRequests,
  kUnavailable,
  kMalformed,
  kHang,
  kReset,
  kSlow
};
absl::string_view FaultName(Fault fault);

// Form fields (url-encoded or multipart), last value wins.
using Form = std::map<std::string, std::string>;

// An HTTP answer: status and JSON body.
struct Reply {
  int status = 200;
  std::string body;
};

struct EmulatorOptions {
  // Lifetime of minted tokens unless the client overrides it.
  absl::Duration token_lifetime = absl::Hours(24);
  // How far ahead of now a JWT's exp may be.
  absl::Duration jwt_max_exp_ahead = absl::Hours(24);
};

// Thread-safe: every method may be called concurrently. Never blocks beyond
// a short mutex hold (RSA signing happens outside the lock).
class ImsEmulator {
 public:
  // `signing_key` (RSA) signs the access tokens. Errors: INVALID_ARGUMENT
  // for a non-RSA key or duplicate client ids.
  static absl::StatusOr<std::unique_ptr<ImsEmulator>> New(EmulatorOptions options,
                                                          EvpPkeyPtr signing_key,
                                                          std::vector<ClientConfig> clients);

  // POST /ims/token/v3 (and v2): grant_type=client_credentials, client_id,
  // client_secret, scope (comma-separated). expires_in in seconds.
  Reply ClientCredentials(const Form& form, absl::Time now);

  // POST /ims/exchange/jwt: client_id, client_secret, jwt_token.
  // `base_url` is the IMS URL the JWT's aud and metascope claims must use,
  // without a trailing slash. expires_in in milliseconds.
  Reply ExchangeJwt(const Form& form, absl::string_view base_url, absl::Time now);

  // Registers or replaces a client.
  void PutClient(ClientConfig client);

  // The Developer Console's client-secrets API (console_api.cc), served on the
  // emulator's own base URL: `/console/organizations/{orgId}/credentials/
  // {credentialId}/secrets[/{uuid}]`, the ids a client's console_org_id and
  // console_credential_id. Checked in Adobe's order: the credential exists
  // (404), `Authorization: Bearer` holds an unexpired token this emulator
  // minted for that same client (401), `x-api-key` is its client id (403),
  // the token's scopes include adobeio_api and read_client_secret (list) or
  // manage_client_secrets (add, delete) (403); add and delete are refused
  // with 409 while a JWT -> S2S migration is in progress. Errors are
  // `{"error_code": "...", "message": "..."}`.
  struct ConsoleRequest {
    std::string org_id;
    std::string credential_id;
    std::string secret_uuid;    // DELETE only
    std::string authorization;  // the Authorization header
    std::string api_key;        // the x-api-key header
  };
  // GET: `{"client_id", "client_secrets": [{"uuid", "created_at",
  // "created_at_str", "expires_at": "PERMANENT", "secret_usages":
  // [{"last_used_at", "grant_type"}]}]}`, times in ms since the epoch; never
  // a value. A secret is "used" each time a token request presents it.
  Reply ListSecrets(const ConsoleRequest& request, absl::Time now);
  // POST: a new secret, valid at the token endpoints at once; its value is in
  // this answer only: `{"client_id", "client_secret", "uuid", "created_at"}`.
  // 400 when the credential already holds 2.
  Reply AddSecret(const ConsoleRequest& request, absl::Time now);
  // DELETE: 204, the secret refused from then on (tokens already minted stay
  // valid). 404 for an unknown uuid; 400 for the credential's only secret.
  Reply DeleteSecret(const ConsoleRequest& request, absl::Time now);
  // The id of the client the Console addresses by `org_id` and
  // `credential_id`; "" when none.
  std::string ConsoleClientId(absl::string_view org_id, absl::string_view credential_id) const;

  // GET /emulator/secrets (admin): `{"client_id", "secrets": [{"uuid",
  // "value", "created_at", "last_used_at"}]}`, times in ms since the epoch,
  // last_used_at null until a token request presents the secret. Unlike the
  // Console it shows the values: tests check that no log or output carries
  // them (a test double's secrets, generated for one run). 404 for an
  // unknown client.
  Reply AdminSecrets(absl::string_view client_id, absl::Time now);

  // {"total_exchanges":N,"rejected":N,"faults_injected":N,"token_requests":N,
  //  "exchanges":{"<client_id>":N},"exchanges_by_grant":{"client_credentials"|
  //  "jwt_bearer":{"<client_id>":N}}}: successful exchanges (both flows, and
  //  each flow apart), 4xx
  // answers, injected faults, and token requests received (counted on
  // arrival, before any latency fault: tests wait on it to know a request is
  // in flight).
  nlohmann::json Stats() const;
  void ResetStats();
  // Counts an injected fault in Stats().
  void CountFault();
  // Counts a token request of `client_id` arriving at `now` in Stats()
  // (which lists each client's last kMaxArrivals arrival times).
  void CountTokenRequest(absl::string_view client_id, absl::Time now);
  static constexpr size_t kMaxArrivals = 2000;

  FaultSettings faults() const;
  void SetFaults(const FaultSettings& faults);
  // Draws the fault for one token request of `client_id` from the current
  // settings (counting down `count`, when set).
  Fault DrawFault(absl::string_view client_id);

 private:
  Fault DrawFrom(const FaultSettings& faults) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ImsEmulator(EmulatorOptions options, EvpPkeyPtr signing_key)
      : options_(options), signing_key_(std::move(signing_key)) {}

  struct SecretMeta {
    std::string uuid;
    absl::Time created;
    absl::Time last_used = absl::InfinitePast();
    std::string grant_type;
  };

  // Looks the client up and checks the secret, recording its use at `now`
  // for `grant_type`; on failure fills `reply`.
  bool Authenticate(const Form& form, absl::Time now, absl::string_view grant_type,
                    ClientConfig* client, Reply* reply);
  // The metadata of the registered client's secrets, keyed by value: created
  // at `now` for a secret seen the first time, dropped for one the client no
  // longer holds. Empty for an unknown client.
  std::map<std::string, SecretMeta>& MetaOf(const std::string& client_id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The client the Console addresses by these ids, if any.
  const ClientConfig* ConsoleClientLocked(absl::string_view org_id,
                                          absl::string_view credential_id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The Console's checks (see ConsoleRequest) for a request needing `scope`;
  // the client's id on success, else fills `reply`.
  bool AuthorizeConsole(const ConsoleRequest& request, absl::string_view scope, bool rotates,
                        absl::Time now, std::string* client_id, Reply* reply);
  Reply Error(int status, absl::string_view error, absl::string_view description);
  // A JWT-shaped access token signed with signing_key_.
  std::string MintAccessToken(const ClientConfig& client, absl::string_view user_id,
                              absl::string_view scope, absl::Time now, absl::Duration lifetime);
  // `grant_type`: client_credentials or jwt_bearer, counted per client in
  // Stats().
  Reply Success(const ClientConfig& client, absl::string_view grant_type, absl::string_view user_id,
                absl::string_view scope, absl::Time now, bool milliseconds);
  // Records `jti` until `expires`; false if it is already recorded.
  bool RecordJti(const std::string& client_id, const std::string& jti, absl::Time expires,
                 absl::Time now);
  void CountRejected();

  const EmulatorOptions options_;
  const EvpPkeyPtr signing_key_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ClientConfig> clients_ ABSL_GUARDED_BY(mu_);
  // client id -> secret value -> metadata (the Console's view of the secrets).
  std::map<std::string, std::map<std::string, SecretMeta>> secret_meta_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> jtis_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> exchanges_ ABSL_GUARDED_BY(mu_);
  // grant type -> client id -> successful exchanges.
  std::map<std::string, std::map<std::string, int64_t>> grant_exchanges_ ABSL_GUARDED_BY(mu_);
  int64_t total_exchanges_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t faults_injected_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t token_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::deque<int64_t>> arrivals_ms_ ABSL_GUARDED_BY(mu_);
  size_t jti_purge_size_ ABSL_GUARDED_BY(mu_) = 1024;
  FaultSettings faults_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokenbroker::emulator

#endif  // TOKENBROKER_TESTS_IMS_EMULATOR_IMS_EMULATOR_H_
