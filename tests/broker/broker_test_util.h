// What the broker's unit tests share: an OAuth integration and a holder
// for the result of one broker callback.
#ifndef TOKENBROKER_TESTS_BROKER_BROKER_TEST_UTIL_H_
#define TOKENBROKER_TESTS_BROKER_BROKER_TEST_UTIL_H_

#include <optional>
#include <string>

#include "server/broker/token_broker.h"

namespace tokenbroker::testing {

inline Integration MakeIntegration(const std::string& id) {
  Integration integration;
  integration.id = id;
  integration.auth_method = AuthMethod::kOAuthServerToServer;
  integration.client_id = "client-" + id;
  integration.org_id = "ORG@AdobeOrg";
  integration.scopes = {"openid"};
  integration.credentials.client_secrets.emplace_back(std::string("secret"));
  return integration;
}

// Collects the result of one broker callback.
struct Result {
  std::optional<absl::StatusOr<SnapshotPtr>> value;
  TokenCallback Callback() {
    return [this](absl::StatusOr<SnapshotPtr> r) { value = std::move(r); };
  }
  std::string token() const { return std::string((*value)->get()->token.access_token.value()); }
  absl::Time expire() const { return (*value)->get()->token.expire_time; }
};

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_BROKER_BROKER_TEST_UTIL_H_
