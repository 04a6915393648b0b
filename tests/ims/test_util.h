// Helpers shared by the IMS unit tests.
#ifndef TOKENBROKER_TESTS_IMS_TEST_UTIL_H_
#define TOKENBROKER_TESTS_IMS_TEST_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/model/integration.h"

namespace tokenbroker::testing {

inline constexpr char kMarkerSecret[] = "s3cr3t-MARKER-do-not-leak-0001";
inline constexpr char kMarkerSecret2[] = "s3cr3t-MARKER-do-not-leak-0002";
inline constexpr char kMarkerToken[] = "tok-MARKER-do-not-leak";

struct TestRsaKey {
  std::string pkcs8_pem;
  std::string pkcs1_pem;
  std::string public_pem;
};

// One RSA-2048 key per test process (generation takes tens of ms).
inline const TestRsaKey& RsaKey() {
  static const TestRsaKey* key = [] {
    auto* k = new TestRsaKey();
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    auto dump = [&](auto write) {
      BIO* bio = BIO_new(BIO_s_mem());
      write(bio);
      char* data = nullptr;
      long len = BIO_get_mem_data(bio, &data);
      std::string out(data, len);
      BIO_free(bio);
      return out;
    };
    k->pkcs8_pem = dump([&](BIO* b) {
      PEM_write_bio_PKCS8PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    });
    k->pkcs1_pem = dump([&](BIO* b) {
      PEM_write_bio_PrivateKey_traditional(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    });
    k->public_pem = dump([&](BIO* b) { PEM_write_bio_PUBKEY(b, pkey); });
    EVP_PKEY_free(pkey);
    return k;
  }();
  return *key;
}

// Verifies an RS256 JWT against `public_pem`; returns its claims, or null.
inline nlohmann::json VerifyJwt(const std::string& jwt, const std::string& public_pem) {
  std::vector<std::string> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return nullptr;
  std::string header, payload, sig;
  if (!absl::WebSafeBase64Unescape(parts[0], &header) ||
      !absl::WebSafeBase64Unescape(parts[1], &payload) ||
      !absl::WebSafeBase64Unescape(parts[2], &sig)) {
    return nullptr;
  }
  nlohmann::json h = nlohmann::json::parse(header, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "RS256") return nullptr;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* pub = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string input = parts[0] + "." + parts[1];
  bool ok =
      pub != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
  if (!ok) return nullptr;
  return nlohmann::json::parse(payload, nullptr, false);
}

// An unsigned JWT-shaped access token with `claims` as payload.
inline std::string FakeAccessToken(const nlohmann::json& claims) {
  return absl::WebSafeBase64Escape(R"({"alg":"RS256"})") + "." +
         absl::WebSafeBase64Escape(claims.dump()) + ".c2ln";
}

inline std::string ErrorReason(const absl::Status& status) {
  auto info = GetErrorInfo(status);
  return info ? info->reason() : "";
}

inline std::string ErrorMetadata(const absl::Status& status, const std::string& key) {
  auto info = GetErrorInfo(status);
  if (!info) return "<no ErrorInfo>";
  auto it = info->metadata().find(key);
  return it == info->metadata().end() ? "<absent>" : it->second;
}

inline Integration S2SIntegration() {
  Integration i;
  i.id = "acme-s2s";
  i.auth_method = AuthMethod::kOAuthServerToServer;
  i.client_id = "client-123";
  i.org_id = "ORG1@AdobeOrg";
  i.technical_account_id = "TA1@techacct.adobe.com";
  i.scopes = {"openid", "AdobeID", "read_organizations"};
  i.credentials.client_secrets = {SecretString(std::string(kMarkerSecret))};
  return i;
}

inline Integration JwtIntegration() {
  Integration i = S2SIntegration();
  i.id = "acme-jwt";
  i.auth_method = AuthMethod::kJwt;
  i.scopes.clear();
  i.metascopes = {"ent_dataservices_sdk", "ent_campaign_sdk"};
  i.credentials.private_key_pem = SecretString(RsaKey().pkcs8_pem);
  return i;
}

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_IMS_TEST_UTIL_H_
