// OpenSSL helpers for the IMS emulator and its tests: RAII handle types,
// base64url, RS256, key and self-signed certificate generation.
//
// Test tooling only: keys are generated for one process lifetime and never
// protected at rest.
#ifndef TOKENBROKER_TESTS_IMS_EMULATOR_CRYPTO_H_
#define TOKENBROKER_TESTS_IMS_EMULATOR_CRYPTO_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokenbroker::emulator {

namespace internal {
template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
}  // namespace internal

// Owning handles: each frees its object with the matching OpenSSL call.
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, internal::OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, internal::OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr =
    std::unique_ptr<EVP_MD_CTX, internal::OpenSslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, internal::OpenSslDeleter<X509, X509_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, internal::OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BioPtr = std::unique_ptr<BIO, internal::OpenSslDeleter<BIO, BIO_free_all>>;

// RFC 4648 §5 base64url without padding.
std::string Base64UrlEncode(absl::string_view data);
// Accepts base64url with or without padding; nullopt on invalid input.
std::optional<std::string> Base64UrlDecode(absl::string_view text);

// `bytes` random bytes from RAND_bytes, hex encoded (2 * bytes characters).
std::string RandomHex(size_t bytes);

// Compares without an early exit: SHA-256 of both, then CRYPTO_memcmp, so
// neither the content nor the length of `expected` leaks through timing.
bool ConstantTimeEquals(absl::string_view actual, absl::string_view expected);

// Key generation. Errors: INTERNAL.
absl::StatusOr<EvpPkeyPtr> GenerateRsaKey(int bits);
absl::StatusOr<EvpPkeyPtr> GenerateEcP256Key();

// A self-signed X.509 v3 certificate for `key` (SHA-256), valid from one hour
// ago for `validity`, with CN=`common_name` and `subject_alt_names` in
// OpenSSL's syntax ("DNS:localhost", "IP:127.0.0.1"); empty = no SAN.
// Errors: INTERNAL.
absl::StatusOr<X509Ptr> SelfSignedCertificate(EVP_PKEY* key, absl::string_view common_name,
                                              const std::vector<std::string>& subject_alt_names,
                                              absl::Duration validity);

// PEM encodings. PrivateKeyToPem writes unencrypted PKCS#8.
std::string CertificateToPem(X509* cert);
std::string PrivateKeyToPem(EVP_PKEY* key);

// PEM decoding. Errors: INVALID_ARGUMENT.
absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem);
absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem);

// The public key of `cert` (a new reference).
EvpPkeyPtr CertificatePublicKey(X509* cert);

// RSASSA-PKCS1-v1_5 with SHA-256 (JWS "RS256"). Errors: INTERNAL, or
// INVALID_ARGUMENT when `key` is not RSA.
absl::StatusOr<std::string> SignRs256(EVP_PKEY* key, absl::string_view data);
bool VerifyRs256(EVP_PKEY* key, absl::string_view data, absl::string_view signature);

}  // namespace tokenbroker::emulator

#endif  // TOKENBROKER_TESTS_IMS_EMULATOR_CRYPTO_H_
