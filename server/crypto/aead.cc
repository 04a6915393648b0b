#include "server/crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/crypto/internal/ssl_unique_ptr.h"

namespace tokenbroker {
namespace {

// EVP lengths are ints; keep well clear of INT_MAX.
constexpr size_t kMaxInputSize = static_cast<size_t>(INT_MAX) - 1024;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* MutableBytes(std::string& s, size_t offset) {
  return reinterpret_cast<unsigned char*>(s.data()) + offset;
}

// A failure inside OpenSSL. Clears the thread's error queue so it does not
// leak into an unrelated later call; OpenSSL's messages carry no key bytes
// but add nothing a caller can act on, so they are dropped.
absl::Status OpenSslError(absl::string_view what) {
  ERR_clear_error();
  return absl::InternalError(absl::StrCat("AES-GCM: ", what, " failed"));
}

absl::Status AuthenticationFailed() {
  ERR_clear_error();
  return absl::DataLossError("AES-GCM: authentication failed");
}

// A cipher context initialised for AES-256-GCM with `key` and `nonce`, with
// `associated_data` already fed in.
absl::StatusOr<internal::SslUniquePtr<EVP_CIPHER_CTX>> NewContext(
    bool encrypt, const SecretString& key, const unsigned char* nonce,
    absl::string_view associated_data) {
  internal::SslUniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, AesGcmAead::kNonceSize, nullptr) !=
          1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, Bytes(key.value()), nonce, encrypt ? 1 : 0) !=
          1) {
    return OpenSslError("cipher initialisation");
  }
  if (!associated_data.empty()) {
    int len = 0;
    if (EVP_CipherUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                         static_cast<int>(associated_data.size())) != 1) {
      return OpenSslError("associated data");
    }
  }
  return ctx;
}

}  // namespace

namespace internal {

absl::StatusOr<SecretString> RandomSecret(size_t size) {
  std::string bytes(size, '\0');
  absl::Cleanup wipe = [&bytes] { OPENSSL_cleanse(bytes.data(), bytes.size()); };
  if (size > 0 && RAND_bytes(MutableBytes(bytes, 0), static_cast<int>(size)) != 1) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed");
  }
  // Copy from a view (not a move, which leaves short strings' bytes behind
  // in the source), then `wipe` clears the scratch buffer.
  return SecretString(absl::string_view(bytes));
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<AesGcmAead>> AesGcmAead::New(const SecretString& key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-256-GCM needs a ", kKeySize, "-byte key, got ", key.size(), " bytes"));
  }
  return std::unique_ptr<AesGcmAead>(new AesGcmAead(key));
}

absl::StatusOr<std::string> AesGcmAead::Encrypt(absl::string_view plaintext,
                                                absl::string_view associated_data) const {
  if (plaintext.size() > kMaxInputSize || associated_data.size() > kMaxInputSize) {
    return absl::InvalidArgumentError("AES-GCM: input too large");
  }
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  unsigned char* nonce = MutableBytes(out, 0);
  if (RAND_bytes(nonce, kNonceSize) != 1) return OpenSslError("RAND_bytes");

  auto ctx = NewContext(/*encrypt=*/true, key_, nonce, associated_data);
  if (!ctx.ok()) return ctx.status();

  int len = 0;
  size_t written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx->get(), MutableBytes(out, kNonceSize), &len, Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return OpenSslError("encryption");
    }
    written = static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx->get(), MutableBytes(out, kNonceSize + written), &len) != 1) {
    return OpenSslError("encryption");
  }
  written += static_cast<size_t>(len);
  if (written != plaintext.size()) return OpenSslError("encryption length check");
  if (EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          MutableBytes(out, kNonceSize + plaintext.size())) != 1) {
    return OpenSslError("tag");
  }
  return out;
}

absl::StatusOr<SecretString> AesGcmAead::Decrypt(absl::string_view ciphertext,
                                                 absl::string_view associated_data) const {
  if (ciphertext.size() < kOverhead) return AuthenticationFailed();
  if (ciphertext.size() > kMaxInputSize || associated_data.size() > kMaxInputSize) {
    return absl::InvalidArgumentError("AES-GCM: input too large");
  }
  const size_t body_size = ciphertext.size() - kOverhead;
  absl::string_view body = ciphertext.substr(kNonceSize, body_size);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads: copy the
  // (public) tag rather than cast away const.
  unsigned char tag[kTagSize];
  std::copy_n(Bytes(ciphertext) + kNonceSize + body_size, kTagSize, tag);

  auto ctx = NewContext(/*encrypt=*/false, key_, Bytes(ciphertext), associated_data);
  if (!ctx.ok()) return ctx.status();

  // GCM releases plaintext before it checks the tag: `out` is wiped on every
  // path, including success (the result is a copy).
  std::string out(body_size, '\0');
  absl::Cleanup wipe = [&out] { OPENSSL_cleanse(out.data(), out.size()); };
  unsigned char* dst = MutableBytes(out, 0);
  int len = 0;
  size_t written = 0;
  if (body_size > 0) {
    if (EVP_DecryptUpdate(ctx->get(), dst, &len, Bytes(body), static_cast<int>(body_size)) != 1) {
      return AuthenticationFailed();
    }
    written = static_cast<size_t>(len);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) {
    return OpenSslError("tag");
  }
  if (EVP_DecryptFinal_ex(ctx->get(), dst + written, &len) != 1) return AuthenticationFailed();
  written += static_cast<size_t>(len);
  if (written != body_size) return OpenSslError("decryption length check");
  return SecretString(absl::string_view(out));
}

}  // namespace tokenbroker
