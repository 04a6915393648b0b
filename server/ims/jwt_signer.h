// RS256 JWT signing for the IMS JWT (service account) flow.
#ifndef TOKENBROKER_SERVER_IMS_JWT_SIGNER_H_
#define TOKENBROKER_SERVER_IMS_JWT_SIGNER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/common/secret.h"

namespace tokenbroker {

// Returns the compact JWT `base64url(header).base64url(claims).base64url(sig)`
// (no padding), header {"alg":"RS256","typ":"JWT"}, signed with RSASSA-PKCS1-v1_5
// over SHA-256 using `private_key_pem`, an RSA key in PKCS#1
// ("BEGIN RSA PRIVATE KEY") or PKCS#8 ("BEGIN PRIVATE KEY") PEM.
// Encrypted keys are not supported (no passphrase prompt ever happens).
// Errors: INVALID_ARGUMENT "private key does not parse" / "is not an RSA key"
// (messages never carry key bytes), INTERNAL on a signing failure.
// The JWT is a credential until it expires, hence SecretString; the
// signature's intermediate buffers are wiped. Thread-safe, non-blocking.
absl::StatusOr<SecretString> SignJwtRs256(const nlohmann::json& claims,
                                          absl::string_view private_key_pem);

// The weakest RSA key accepted for signing (NIST SP 800-131A: 2048 bits).
inline constexpr int kMinRsaKeyBits = 2048;

// OK when `private_key_pem` parses as SignJwtRs256 wants it and is an RSA
// key of at least kMinRsaKeyBits. Errors: INVALID_ARGUMENT as SignJwtRs256,
// or "RSA key of 512 bits; at least 2048 are required". Thread-safe.
absl::Status CheckSigningKey(absl::string_view private_key_pem);

// `sha256:` and the first 16 hex digits of SHA-256 over the DER
// SubjectPublicKeyInfo of the key's public half: lets an operator match a
// stored key with the certificate uploaded to the Developer Console without
// showing the key. Errors: INVALID_ARGUMENT as SignJwtRs256.
absl::StatusOr<std::string> PublicKeyFingerprint(absl::string_view private_key_pem);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_IMS_JWT_SIGNER_H_
