// The HTTP token endpoint's TLS files, re-read when they change: what the
// gRPC ports get from gRPC's FileWatcherCertificateProvider, for the
// endpoint cpp-httplib serves. A certificate (or client CA bundle) rotated
// by Kubernetes (a Secret volume swapping its ..data link) or cert-manager
// is served from the next handshake on, without a restart.
//
// No thread: a handshake checks the files' signatures (inode, size, mtime;
// server/common/file_signature.h) at most once per `reload_interval`, and
// only a change reads them. A change that does not load (a key that does
// not match its certificate half-way through a rotation, a CA bundle with
// no certificate) keeps the material in use, logs a warning once for that
// state of the files, and is tried again at the next check.
//
// Attach() installs OpenSSL's certificate callback on the endpoint's
// SSL_CTX: each handshake then gets the current certificate, key and chain
// and, with a client CA, the verify store and the CA names the server
// sends in its CertificateRequest. The SSL_CTX's verify mode (whether a
// client certificate is requested or required) is the caller's.
//
// Thread-safety: thread-safe; handshakes run on httplib's pool threads.
#ifndef TOKENBROKER_SERVER_EDGE_RELOADING_TLS_H_
#define TOKENBROKER_SERVER_EDGE_RELOADING_TLS_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace tokenbroker {

struct TlsFiles {
  std::string cert;       // PEM: the leaf certificate, then its chain
  std::string key;        // PEM private key of `cert`
  std::string client_ca;  // PEM CA bundle verifying clients; "" = none
};

class ReloadingTls {
 public:
  // Reads the files now. INVALID_ARGUMENT naming the flag (--tls-cert,
  // --tls-key, --client-ca-file) of a file that cannot be read or parsed,
  // or a key that does not match the certificate. `clock` must outlive this.
  static absl::StatusOr<std::unique_ptr<ReloadingTls>> Load(const TlsFiles& files,
                                                            absl::Duration reload_interval,
                                                            const Clock* clock);
  ~ReloadingTls();
  ReloadingTls(const ReloadingTls&) = delete;
  ReloadingTls& operator=(const ReloadingTls&) = delete;

  // Installs the current material on `ctx` and the callback that hands
  // each handshake the material current then. This object must outlive
  // `ctx`'s connections.
  void Attach(SSL_CTX* ctx);
  // Successful reloads since Load (the first load not counted).
  int reloads() const;

  // Loaded, immutable material; defined in the .cc.
  struct Material;

 private:
  ReloadingTls(TlsFiles files, absl::Duration reload_interval, const Clock* clock);
  // The material for a handshake starting now, after a check of the files
  // if one is due.
  std::shared_ptr<const Material> Current();
  static int OnHandshake(SSL* ssl, void* self);

  const TlsFiles files_;
  const absl::Duration reload_interval_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Material> current_ ABSL_GUARDED_BY(mu_);
  std::string loaded_signature_ ABSL_GUARDED_BY(mu_);
  std::string refused_signature_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_);
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_EDGE_RELOADING_TLS_H_
