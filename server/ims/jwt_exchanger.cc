#include "server/ims/jwt_exchanger.h"

#include <openssl/rand.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/ims/ims_request.h"
#include "server/ims/jwt_signer.h"

namespace tokenbroker {

std::string RandomJti() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // Practically unreachable; a non-random jti is still well-formed, and
    // IMS rejects a reused one with invalid_jti rather than accepting it.
    return absl::StrCat(absl::ToUnixNanos(absl::Now()));
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), 16));
}

JwtExchanger::JwtExchanger(HttpTransport* transport, const Clock* clock, ImsOptions options,
                           JtiGenerator jti_generator)
    : transport_(transport),
      clock_(clock),
      options_(std::move(options)),
      jti_generator_(jti_generator ? std::move(jti_generator) : JtiGenerator(&RandomJti)) {}

nlohmann::json JwtExchanger::Claims(const Integration& integration, absl::Time now) const {
  const std::string base = ImsBaseUrl(integration, options_);
  nlohmann::json claims = nlohmann::json::object();
  claims["exp"] = absl::ToUnixSeconds(now + options_.jwt_lifetime);  // integer
  claims["iss"] = integration.org_id;
  claims["sub"] = integration.technical_account_id;
  claims["aud"] = absl::StrCat(base, "/c/", integration.client_id);
  claims["jti"] = jti_generator_();
  for (const std::string& metascope : integration.metascopes) {
    if (metascope.empty()) continue;
    std::string key =
        absl::StrContains(metascope, "://") ? metascope : absl::StrCat(base, "/s/", metascope);
    claims[key] = true;
  }
  return claims;
}

absl::StatusOr<AccessToken> JwtExchanger::Exchange(const Integration& integration) {
  if (integration.client_id.empty()) {
    return InvalidField("client_id", "required to exchange a JWT credential");
  }
  if (integration.org_id.empty()) {
    return InvalidField("org_id", "required to exchange a JWT credential (the JWT's iss)");
  }
  if (integration.technical_account_id.empty()) {
    return InvalidField("technical_account_id",
                        "required to exchange a JWT credential (the JWT's sub)");
  }
  if (integration.credentials.private_key_pem.empty()) {
    return InvalidField("private_key", "a JWT integration needs its private key");
  }
  std::vector<const SecretString*> secrets = internal::ClientSecrets(integration);
  if (secrets.empty()) {
    return InvalidField("client_secrets", "a JWT integration needs a client secret");
  }

  return internal::WithSecretFallback(
      integration, secrets,
      [&](const SecretString& secret, int index) -> absl::StatusOr<AccessToken> {
        // A fresh JWT (and jti) per attempt.
        absl::StatusOr<SecretString> signed_jwt = SignJwtRs256(
            Claims(integration, clock_->Now()), integration.credentials.private_key_pem.value());
        if (!signed_jwt.ok()) {
          return absl::Status(
              signed_jwt.status().code(),
              absl::StrCat("integration '", integration.id, "': ", signed_jwt.status().message()));
        }
        internal::ImsPost post;
        post.url = absl::StrCat(ImsBaseUrl(integration, options_), options_.jwt_exchange_path);
        post.form_body = internal::FormEncode({{"client_id", integration.client_id},
                                               {"client_secret", secret.value()},
                                               {"jwt_token", signed_jwt->value()}});
        post.timeout = options_.request_timeout;
        post.unit = ExpiresInUnit::kMilliseconds;
        post.flow = "jwt";
        post.secret_index = index;
        return internal::PostTokenRequest(*transport_, *clock_, integration, post);
      });
}

}  // namespace tokenbroker
