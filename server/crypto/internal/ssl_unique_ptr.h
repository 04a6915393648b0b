// RAII ownership of OpenSSL handles: `SslUniquePtr<EVP_CIPHER_CTX>` frees
// with the matching OpenSSL function on every return path.
#ifndef TOKENBROKER_SERVER_CRYPTO_INTERNAL_SSL_UNIQUE_PTR_H_
#define TOKENBROKER_SERVER_CRYPTO_INTERNAL_SSL_UNIQUE_PTR_H_

#include <openssl/evp.h>

#include <memory>

namespace tokenbroker::internal {

template <typename T>
struct SslDeleter;

template <>
struct SslDeleter<EVP_CIPHER_CTX> {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

template <typename T>
using SslUniquePtr = std::unique_ptr<T, SslDeleter<T>>;

}  // namespace tokenbroker::internal

#endif  // TOKENBROKER_SERVER_CRYPTO_INTERNAL_SSL_UNIQUE_PTR_H_
