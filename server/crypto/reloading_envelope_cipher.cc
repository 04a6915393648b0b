#include "server/crypto/reloading_envelope_cipher.h"

#include "absl/strings/str_cat.h"
#include "server/common/file_signature.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace tokenbroker {

absl::StatusOr<std::unique_ptr<ReloadingEnvelopeCipher>> ReloadingEnvelopeCipher::New(
    Keyring keyring, std::string path, absl::Duration check_interval, const Clock* clock) {
  TB_ASSIGN_OR_RETURN(std::unique_ptr<KeyringEnvelopeCipher> cipher,
                      KeyringEnvelopeCipher::New(std::move(keyring)));
  return std::unique_ptr<ReloadingEnvelopeCipher>(
      new ReloadingEnvelopeCipher(std::shared_ptr<KeyringEnvelopeCipher>(std::move(cipher)),
                                  std::move(path), check_interval, clock));
}

ReloadingEnvelopeCipher::ReloadingEnvelopeCipher(std::shared_ptr<KeyringEnvelopeCipher> cipher,
                                                 std::string path, absl::Duration interval,
                                                 const Clock* clock)
    : path_(std::move(path)), interval_(interval), clock_(clock), cipher_(std::move(cipher)) {
  next_check_ = clock_->Now() + interval_;
  if (!path_.empty()) file_signature_ = FileSignature(path_);
}

bool ReloadingEnvelopeCipher::ReloadIfChanged(bool force) {
  if (path_.empty()) return false;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = clock_->Now();
    if (!force && now < next_check_) return false;
    next_check_ = now + interval_;
    std::string signature = FileSignature(path_);
    if (signature == file_signature_) return false;
    file_signature_ = signature;
  }
  absl::StatusOr<Keyring> keyring = Keyring::LoadFromFile(path_);
  if (!keyring.ok()) {
    Log(LogLevel::kError, "keyring file changed but cannot be loaded; keeping the previous one",
        {{"kek_file", path_}, {"error", std::string(keyring.status().message())}});
    return false;
  }
  std::string primary = keyring->primary_id();
  absl::StatusOr<std::unique_ptr<KeyringEnvelopeCipher>> cipher =
      KeyringEnvelopeCipher::New(*std::move(keyring));
  if (!cipher.ok()) return false;
  {
    absl::MutexLock lock(&mu_);
    cipher_ = std::shared_ptr<KeyringEnvelopeCipher>(*std::move(cipher));
  }
  Log(LogLevel::kInfo, "keyring reloaded", {{"kek_file", path_}, {"primary_key_id", primary}});
  return true;
}

std::shared_ptr<KeyringEnvelopeCipher> ReloadingEnvelopeCipher::Current() {
  ReloadIfChanged();
  return CurrentNoCheck();
}

std::shared_ptr<KeyringEnvelopeCipher> ReloadingEnvelopeCipher::CurrentNoCheck() const {
  absl::MutexLock lock(&mu_);
  return cipher_;
}

absl::StatusOr<std::string> ReloadingEnvelopeCipher::Seal(absl::string_view plaintext,
                                                          absl::string_view context) {
  return Current()->Seal(plaintext, context);
}

absl::StatusOr<SecretString> ReloadingEnvelopeCipher::Open(absl::string_view ciphertext,
                                                           absl::string_view context) {
  absl::StatusOr<SecretString> opened = Current()->Open(ciphertext, context);
  if (absl::IsFailedPrecondition(opened.status()) && ReloadIfChanged(/*force=*/true)) {
    return CurrentNoCheck()->Open(ciphertext, context);
  }
  return opened;
}

absl::StatusOr<std::string> ReloadingEnvelopeCipher::Rewrap(absl::string_view ciphertext,
                                                            absl::string_view context) {
  absl::StatusOr<std::string> rewrapped = Current()->Rewrap(ciphertext, context);
  if (absl::IsFailedPrecondition(rewrapped.status()) && ReloadIfChanged(/*force=*/true)) {
    return CurrentNoCheck()->Rewrap(ciphertext, context);
  }
  return rewrapped;
}

absl::StatusOr<std::string> ReloadingEnvelopeCipher::KeyIdOf(absl::string_view ciphertext) const {
  return CurrentNoCheck()->KeyIdOf(ciphertext);
}

std::string ReloadingEnvelopeCipher::PrimaryKeyId() const {
  return const_cast<ReloadingEnvelopeCipher*>(this)->Current()->PrimaryKeyId();
}

}  // namespace tokenbroker
