#include "server/edge/reloading_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/file_signature.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace tokenbroker {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Never prompts for a pass phrase: an encrypted key does not load.
int NoPassword(char*, int, int, void*) { return 0; }

// Every PEM certificate of `path`, in file order; none if it cannot be read.
std::vector<X509Ptr> ReadCertificates(const std::string& path) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the file reads as an error
  return certs;
}

std::string SignatureOf(const TlsFiles& files) {
  return absl::StrCat(FileSignature(files.cert), "|", FileSignature(files.key), "|",
                      files.client_ca.empty() ? "" : FileSignature(files.client_ca));
}

}  // namespace

struct ReloadingTls::Material {
  ~Material() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    X509_STORE_free(client_ca);
    sk_X509_NAME_pop_free(client_ca_names, X509_NAME_free);
  }
  X509* cert = nullptr;
  STACK_OF(X509) * chain = sk_X509_new_null();
  EVP_PKEY* key = nullptr;
  X509_STORE* client_ca = nullptr;  // null without --client-ca-file
  STACK_OF(X509_NAME) * client_ca_names = nullptr;
};

namespace {

using Material = ReloadingTls::Material;

absl::Status LoadIdentity(const TlsFiles& files, Material& m) {
  std::vector<X509Ptr> certs = ReadCertificates(files.cert);
  if (certs.empty()) {
    return InvalidField("--tls-cert", absl::StrCat("no PEM certificate in ", files.cert));
  }
  m.cert = certs[0].release();
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(m.chain, certs[i].release());
  BioPtr bio(BIO_new_file(files.key.c_str(), "r"));
  m.key =
      bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr);
  ERR_clear_error();
  if (m.key == nullptr) {
    return InvalidField("--tls-key", absl::StrCat("no unencrypted PEM private key in ", files.key));
  }
  if (X509_check_private_key(m.cert, m.key) != 1) {
    ERR_clear_error();
    return InvalidField("--tls-key", absl::StrCat(files.key, " is not the key of ", files.cert));
  }
  return absl::OkStatus();
}

absl::Status LoadClientCa(const std::string& path, Material& m) {
  std::vector<X509Ptr> certs = ReadCertificates(path);
  if (certs.empty()) {
    return InvalidField("--client-ca-file", absl::StrCat("no PEM certificate in ", path));
  }
  m.client_ca = X509_STORE_new();
  m.client_ca_names = sk_X509_NAME_new_null();
  for (const X509Ptr& cert : certs) {
    X509_STORE_add_cert(m.client_ca, cert.get());  // takes its own reference
    sk_X509_NAME_push(m.client_ca_names, X509_NAME_dup(X509_get_subject_name(cert.get())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Material>> LoadMaterial(const TlsFiles& files) {
  auto m = std::make_shared<Material>();
  TB_RETURN_IF_ERROR(LoadIdentity(files, *m));
  if (!files.client_ca.empty()) TB_RETURN_IF_ERROR(LoadClientCa(files.client_ca, *m));
  return std::shared_ptr<const Material>(std::move(m));
}

// Puts `m` on a handshake's `ssl` (references taken, `m` keeps its own).
bool Install(SSL* ssl, const Material& m) {
  if (SSL_use_cert_and_key(ssl, m.cert, m.key, m.chain, /*override=*/1) != 1) return false;
  if (m.client_ca == nullptr) return true;
  if (SSL_set1_verify_cert_store(ssl, m.client_ca) != 1) return false;
  SSL_set_client_CA_list(ssl, SSL_dup_CA_list(m.client_ca_names));  // takes the copy
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReloadingTls>> ReloadingTls::Load(const TlsFiles& files,
                                                                 absl::Duration reload_interval,
                                                                 const Clock* clock) {
  std::string signature = SignatureOf(files);
  TB_ASSIGN_OR_RETURN(std::shared_ptr<const Material> material, LoadMaterial(files));
  std::unique_ptr<ReloadingTls> tls(new ReloadingTls(files, reload_interval, clock));
  absl::MutexLock lock(&tls->mu_);
  tls->current_ = std::move(material);
  tls->loaded_signature_ = std::move(signature);
  tls->next_check_ = clock->Now() + reload_interval;
  return tls;
}

ReloadingTls::ReloadingTls(TlsFiles files, absl::Duration reload_interval, const Clock* clock)
    : files_(std::move(files)), reload_interval_(reload_interval), clock_(clock) {}

ReloadingTls::~ReloadingTls() = default;

void ReloadingTls::Attach(SSL_CTX* ctx) {
  std::shared_ptr<const Material> m = Current();
  SSL_CTX_use_cert_and_key(ctx, m->cert, m->key, m->chain, /*override=*/1);
  SSL_CTX_set_cert_cb(ctx, &ReloadingTls::OnHandshake, this);
}

int ReloadingTls::OnHandshake(SSL* ssl, void* self) {
  std::shared_ptr<const Material> m = static_cast<ReloadingTls*>(self)->Current();
  return Install(ssl, *m) ? 1 : 0;  // 0 fails the handshake
}

std::shared_ptr<const ReloadingTls::Material> ReloadingTls::Current() {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_->Now();
  if (now < next_check_) return current_;
  next_check_ = now + reload_interval_;
  std::string signature = SignatureOf(files_);
  if (signature == loaded_signature_) return current_;
  absl::StatusOr<std::shared_ptr<const Material>> loaded = LoadMaterial(files_);
  if (!loaded.ok()) {
    // Files half-way through a rotation, or broken: keep serving what works.
    if (signature != refused_signature_) {
      Log(LogLevel::kWarning,
          "http token endpoint keeps its TLS files: the changed ones do not load",
          {{"error", std::string(loaded.status().message())}});
      refused_signature_ = std::move(signature);
    }
    return current_;
  }
  current_ = *std::move(loaded);
  loaded_signature_ = std::move(signature);
  refused_signature_.clear();
  ++reloads_;
  Log(LogLevel::kInfo, "http token endpoint TLS files reloaded", {{"cert", files_.cert}});
  return current_;
}

int ReloadingTls::reloads() const {
  absl::MutexLock lock(&mu_);
  return reloads_;
}

}  // namespace tokenbroker
