#include "server/ims/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/secret.h"

namespace tokenbroker {
namespace {

// RAII for the OpenSSL handles used here.
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct OpensslFreeDeleter {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using OpensslBytesPtr = std::unique_ptr<unsigned char, OpensslFreeDeleter>;

// Refuses to prompt for a passphrase (OpenSSL's default would read the tty).
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

absl::StatusOr<EvpPkeyPtr> ParseRsaPrivateKey(absl::string_view pem) {
  if (pem.empty() || pem.size() > 1 << 20) {
    return absl::InvalidArgumentError("private key does not parse (empty or too large)");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  // Reads both PKCS#1 and PKCS#8 PEM.
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  ERR_clear_error();  // the queue may describe the key: drop it
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "private key does not parse (expected an unencrypted PEM RSA key, PKCS#1 or PKCS#8)");
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("private key is not an RSA key (RS256 needs RSA)");
  }
  return key;
}

std::string Base64Url(absl::string_view data) {
  return absl::WebSafeBase64Escape(data);  // '-', '_', no padding
}

}  // namespace

absl::StatusOr<SecretString> SignJwtRs256(const nlohmann::json& claims,
                                          absl::string_view private_key_pem) {
  auto key = ParseRsaPrivateKey(private_key_pem);
  if (!key.ok()) return key.status();
  if (!claims.is_object()) return absl::InvalidArgumentError("JWT claims must be a JSON object");

  static const std::string kHeader = Base64Url(R"({"alg":"RS256","typ":"JWT"})");
  std::string signing_input = absl::StrCat(
      kHeader, ".",
      Base64Url(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return absl::InternalError("EVP_MD_CTX_new failed");
  size_t sig_len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RS256 signing failed");
  }
  std::string signature(sig_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RS256 signing failed");
  }
  signature.resize(sig_len);
  std::string encoded = Base64Url(signature);
  std::string jwt;
  jwt.reserve(signing_input.size() + 1 + encoded.size());  // one buffer, no stray copies
  absl::StrAppend(&jwt, signing_input, ".", encoded);
  OPENSSL_cleanse(signature.data(), signature.size());
  OPENSSL_cleanse(encoded.data(), encoded.size());
  return SecretString(std::move(jwt));
}

absl::Status CheckSigningKey(absl::string_view private_key_pem) {
  auto key = ParseRsaPrivateKey(private_key_pem);
  if (!key.ok()) return key.status();
  int bits = EVP_PKEY_get_bits(key->get());
  if (bits < kMinRsaKeyBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA key of ", bits, " bits; at least ", kMinRsaKeyBits, " are required"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PublicKeyFingerprint(absl::string_view private_key_pem) {
  auto key = ParseRsaPrivateKey(private_key_pem);
  if (!key.ok()) return key.status();
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key->get(), &der);
  if (len <= 0) {
    ERR_clear_error();
    return absl::InternalError("cannot encode the public key");
  }
  OpensslBytesPtr owned(der);
  return Fingerprint(absl::string_view(reinterpret_cast<const char*>(der), len));
}

}  // namespace tokenbroker
