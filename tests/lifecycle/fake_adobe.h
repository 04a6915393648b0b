// A fake Adobe for the lifecycle tests: the Developer Console's secrets API
// and IMS of one credential in one object, sharing its secrets.
#ifndef TOKENBROKER_TESTS_LIFECYCLE_FAKE_ADOBE_H_
#define TOKENBROKER_TESTS_LIFECYCLE_FAKE_ADOBE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/clock.h"
#include "server/console/console_secrets.h"
#include "server/ims/token_exchanger.h"

namespace tokenbroker {

// The Developer Console and IMS of one credential: secrets by uuid, each
// with its value and last use; IMS accepts any of them.
class FakeAdobe final : public ConsoleSecrets, public TokenExchanger {
 public:
  explicit FakeAdobe(const Clock* clock) : clock_(clock) {}

  int adds() const { return adds_; }

  std::string AddDirectly(const std::string& value) {
    std::string uuid = absl::StrCat("uuid-", ++next_);
    secrets_[uuid] = {value, clock_->Now(), std::nullopt};
    return uuid;
  }
  std::vector<std::string> Values() const {
    std::vector<std::string> values;
    for (const auto& [uuid, s] : secrets_) values.push_back(s.value);
    return values;
  }

  absl::StatusOr<std::vector<ConsoleSecret>> List(const ConsoleTarget&,
                                                  const SecretString&) override {
    std::vector<ConsoleSecret> out;
    for (const auto& [uuid, s] : secrets_) out.push_back({uuid, s.created, s.last_used});
    return out;
  }
  absl::StatusOr<AddedConsoleSecret> Add(const ConsoleTarget&, const SecretString&) override {
    if (secrets_.size() >= 2) return absl::FailedPreconditionError("holds 2 client secrets");
    ++adds_;
    std::string value = absl::StrCat("secret-", next_ + 1);
    std::string uuid = AddDirectly(value);
    return AddedConsoleSecret{uuid, clock_->Now(), SecretString(value)};
  }
  absl::Status Delete(const ConsoleTarget&, const SecretString&, absl::string_view uuid) override {
    if (fail_deletes) return absl::UnavailableError("Console 503");
    if (secrets_.erase(std::string(uuid)) == 0) return absl::NotFoundError("no such secret");
    return absl::OkStatus();
  }
  // IMS: the first secret of the integration must be one of the credential's.
  absl::StatusOr<AccessToken> Exchange(const Integration& integration) override {
    if (refuse_new_secrets &&
        integration.credentials.client_secrets.front().value() != "secret-1") {
      return absl::UnavailableError("IMS does not know the new secret yet");
    }
    for (auto& [uuid, s] : secrets_) {
      if (s.value != integration.credentials.client_secrets.front().value()) continue;
      s.last_used = clock_->Now();
      AccessToken token;
      token.access_token = SecretString("token-" + s.value);
      token.expire_time = clock_->Now() + absl::Hours(24);
      return token;
    }
    return absl::FailedPreconditionError("invalid_client");
  }

  bool fail_deletes = false;
  bool refuse_new_secrets = false;

 private:
  struct Secret {
    std::string value;
    absl::Time created;
    std::optional<absl::Time> last_used;
  };
  const Clock* clock_;
  std::map<std::string, Secret> secrets_;
  int next_ = 0;
  int adds_ = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_TESTS_LIFECYCLE_FAKE_ADOBE_H_
