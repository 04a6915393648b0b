#ifndef TOKENBROKER_SERVER_CRYPTO_RELOADING_ENVELOPE_CIPHER_H_
#define TOKENBROKER_SERVER_CRYPTO_RELOADING_ENVELOPE_CIPHER_H_

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/crypto/envelope.h"
#include "server/crypto/envelope_cipher.h"
#include "server/crypto/keyring.h"

namespace tokenbroker {

// A KeyringEnvelopeCipher that follows its keyring file, so that KEK
// rotation needs no restart: after `tokenbroker keyring add`, new seals use
// the new primary within `check_interval`; an Open that meets a key id it
// does not know re-reads the file at once and retries (`tokenbroker rekey`
// may have re-wrapped rows with a key added since start-up). A file that no
// longer parses is ignored with a log line: the last good keyring stays.
//
// Thread-safe. Seal/Open may stat() the file (at most once per interval).
class ReloadingEnvelopeCipher final : public EnvelopeCipher {
 public:
  // `path` empty: never reloads (keyring from the environment).
  static absl::StatusOr<std::unique_ptr<ReloadingEnvelopeCipher>> New(
      Keyring keyring, std::string path, absl::Duration check_interval = absl::Seconds(2),
      const Clock* clock = SystemClock::Get());

  absl::StatusOr<std::string> Seal(absl::string_view plaintext, absl::string_view context) override;
  absl::StatusOr<SecretString> Open(absl::string_view ciphertext,
                                    absl::string_view context) override;
  absl::StatusOr<std::string> Rewrap(absl::string_view ciphertext,
                                     absl::string_view context) override;
  absl::StatusOr<std::string> KeyIdOf(absl::string_view ciphertext) const override;
  std::string PrimaryKeyId() const override;

  // Re-reads the file now if it changed. Returns true if the keyring changed.
  bool ReloadIfChanged(bool force = false);

 private:
  ReloadingEnvelopeCipher(std::shared_ptr<KeyringEnvelopeCipher> cipher, std::string path,
                          absl::Duration interval, const Clock* clock);
  std::shared_ptr<KeyringEnvelopeCipher> Current();
  std::shared_ptr<KeyringEnvelopeCipher> CurrentNoCheck() const;

  const std::string path_;
  const absl::Duration interval_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<KeyringEnvelopeCipher> cipher_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_);
  std::string file_signature_ ABSL_GUARDED_BY(mu_);  // mtime+size+inode
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_CRYPTO_RELOADING_ENVELOPE_CIPHER_H_
