#include "tests/ims_emulator/crypto.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tokenbroker::emulator {
namespace {

// The oldest queued OpenSSL error as text, and clears the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type.
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

absl::Status Internal(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslError()));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

absl::StatusOr<EvpPkeyPtr> Keygen(EvpPkeyCtxPtr ctx, absl::string_view what,
                                  int (*configure)(EVP_PKEY_CTX*, int), int arg) {
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) <= 0 || configure(ctx.get(), arg) <= 0) {
    return Internal(absl::StrCat(what, " keygen setup"));
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &key) <= 0) return Internal(absl::StrCat(what, " keygen"));
  return EvpPkeyPtr(key);
}

}  // namespace

std::string Base64UrlEncode(absl::string_view data) { return absl::WebSafeBase64Escape(data); }

std::optional<std::string> Base64UrlDecode(absl::string_view text) {
  std::string out;
  if (text.find_first_of("+/") != absl::string_view::npos) return std::nullopt;
  if (!absl::WebSafeBase64Unescape(text, &out)) return std::nullopt;
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    abort();  // No randomness: nothing the emulator can safely do.
  }
  return absl::BytesToHexString(raw);
}

bool ConstantTimeEquals(absl::string_view actual, absl::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(actual.data()), actual.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

absl::StatusOr<EvpPkeyPtr> GenerateRsaKey(int bits) {
  return Keygen(EvpPkeyCtxPtr(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr)), "RSA",
                EVP_PKEY_CTX_set_rsa_keygen_bits, bits);
}

absl::StatusOr<EvpPkeyPtr> GenerateEcP256Key() {
  return Keygen(EvpPkeyCtxPtr(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr)), "EC",
                EVP_PKEY_CTX_set_ec_paramgen_curve_nid, NID_X9_62_prime256v1);
}

absl::StatusOr<X509Ptr> SelfSignedCertificate(EVP_PKEY* key, absl::string_view common_name,
                                              const std::vector<std::string>& subject_alt_names,
                                              absl::Duration validity) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1) return Internal("X509_new");
  // A random positive 64-bit serial number.
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
    return Internal("RAND_bytes");
  }
  serial &= 0x7fffffffffffffffULL;
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(validity)) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Internal("certificate fields");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return Internal("certificate name");
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
  };
  if (!subject_alt_names.empty()) {
    extensions.emplace_back(NID_subject_alt_name, absl::StrJoin(subject_alt_names, ","));
  }
  for (const auto& [nid, value] : extensions) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return Internal(absl::StrCat("certificate extension ", OBJ_nid2sn(nid)));
    }
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return Internal("X509_sign");
  return cert;
}

std::string CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  return BioContents(bio.get());
}

std::string PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  return BioContents(bio.get());
}

absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem) {
  BioPtr bio = MemBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM X.509 certificate: ", OpenSslError()));
  }
  return cert;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem) {
  BioPtr bio = MemBio(pem);
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("not a PEM private key: ", OpenSslError()));
  }
  return key;
}

EvpPkeyPtr CertificatePublicKey(X509* cert) { return EvpPkeyPtr(X509_get_pubkey(cert)); }

absl::StatusOr<std::string> SignRs256(EVP_PKEY* key, absl::string_view data) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("RS256 needs an RSA key");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return Internal("RS256 sign setup");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Internal("RS256 sign");
  }
  sig.resize(len);
  return sig;
}

bool VerifyRs256(EVP_PKEY* key, absl::string_view data, absl::string_view signature) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return false;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace tokenbroker::emulator
