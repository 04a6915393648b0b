#include "server/crypto/envelope_cipher.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace tokenbroker {
namespace {

constexpr char kMagic[] = "TBE";
constexpr size_t kMagicSize = 3;
constexpr uint8_t kVersion = 0x01;
constexpr size_t kDekSize = AesGcmAead::kKeySize;
constexpr size_t kWrappedDekSize = kDekSize + AesGcmAead::kOverhead;  // 60
constexpr char kDekAdPrefix[] = "tokenbroker:dek:v1|";
constexpr char kDataAdPrefix[] = "tokenbroker:data:v1|";

// The parts of an envelope; views into the caller's bytes.
struct Envelope {
  absl::string_view kek_id;
  absl::string_view wrapped_dek;
  absl::string_view payload;
};

absl::Status Malformed(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("envelope: malformed: ", why));
}

absl::StatusOr<Envelope> ParseEnvelope(absl::string_view in) {
  if (in.size() < kMagicSize + 2 || in.substr(0, kMagicSize) != absl::string_view(kMagic)) {
    return Malformed("not a tokenbroker envelope");
  }
  if (static_cast<uint8_t>(in[kMagicSize]) != kVersion) {
    return Malformed("unsupported version");
  }
  in.remove_prefix(kMagicSize + 1);
  const size_t id_len = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (in.size() < id_len + 2) return Malformed("truncated header");
  Envelope envelope;
  envelope.kek_id = in.substr(0, id_len);
  // Every id a keyring can hold has this form; anything else was damaged.
  if (!IsValidKeyId(envelope.kek_id)) return Malformed("bad key id");
  in.remove_prefix(id_len);
  const size_t wrapped_len =
      (static_cast<size_t>(static_cast<uint8_t>(in[0])) << 8) | static_cast<uint8_t>(in[1]);
  in.remove_prefix(2);
  if (wrapped_len != kWrappedDekSize) return Malformed("bad wrapped key length");
  if (in.size() < wrapped_len + AesGcmAead::kOverhead) return Malformed("truncated");
  envelope.wrapped_dek = in.substr(0, wrapped_len);
  envelope.payload = in.substr(wrapped_len);
  return envelope;
}

std::string DekAd(absl::string_view kek_id, absl::string_view context) {
  return absl::StrCat(kDekAdPrefix, kek_id, "|", context);
}

std::string DataAd(absl::string_view context) { return absl::StrCat(kDataAdPrefix, context); }

std::string Serialize(absl::string_view kek_id, absl::string_view wrapped_dek,
                      absl::string_view payload) {
  std::string out;
  out.reserve(kMagicSize + 1 + 1 + kek_id.size() + 2 + wrapped_dek.size() + payload.size());
  out.append(kMagic, kMagicSize);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(kek_id.size()));
  out.append(kek_id.data(), kek_id.size());
  out.push_back(static_cast<char>((wrapped_dek.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(wrapped_dek.size() & 0xff));
  out.append(wrapped_dek.data(), wrapped_dek.size());
  out.append(payload.data(), payload.size());
  return out;
}

// Re-labels a DATA_LOSS from the AEAD with the layer that failed.
absl::Status AuthFailed(const absl::Status& status, absl::string_view what) {
  if (status.code() != absl::StatusCode::kDataLoss) return status;
  return absl::DataLossError(absl::StrCat("envelope: authentication failed (", what, ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyringEnvelopeCipher>> KeyringEnvelopeCipher::New(Keyring keyring) {
  std::map<std::string, std::unique_ptr<AesGcmAead>, std::less<>> keks;
  for (const std::string& id : keyring.ids()) {
    // Keyring ids are always valid; the check guards the envelope format
    // (a 1-byte length, no '|').
    if (!IsValidKeyId(id)) {
      return absl::InvalidArgumentError(absl::StrCat("key id '", id, "' is malformed"));
    }
    auto aead = AesGcmAead::New(*keyring.Find(id));
    if (!aead.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("key-encryption key '", id, "': ", aead.status().message()));
    }
    keks.emplace(id, *std::move(aead));
  }
  if (keks.count(keyring.primary_id()) == 0) {
    return absl::InvalidArgumentError("the keyring has no primary key");
  }
  return std::unique_ptr<KeyringEnvelopeCipher>(
      new KeyringEnvelopeCipher(keyring.primary_id(), std::move(keks)));
}

absl::StatusOr<const Aead*> KeyringEnvelopeCipher::Kek(absl::string_view id) const {
  auto it = keks_.find(id);
  if (it == keks_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key-encryption key '", id, "' is not in the keyring"));
  }
  return it->second.get();
}

absl::StatusOr<std::string> KeyringEnvelopeCipher::Seal(absl::string_view plaintext,
                                                        absl::string_view context) {
  TB_ASSIGN_OR_RETURN(const Aead* kek, Kek(primary_id_));
  TB_ASSIGN_OR_RETURN(SecretString dek, internal::RandomSecret(kDekSize));
  TB_ASSIGN_OR_RETURN(std::unique_ptr<AesGcmAead> data_aead, AesGcmAead::New(dek));
  TB_ASSIGN_OR_RETURN(std::string wrapped_dek,
                      kek->Encrypt(dek.value(), DekAd(primary_id_, context)));
  TB_ASSIGN_OR_RETURN(std::string payload, data_aead->Encrypt(plaintext, DataAd(context)));
  return Serialize(primary_id_, wrapped_dek, payload);
}

absl::StatusOr<SecretString> KeyringEnvelopeCipher::Open(absl::string_view ciphertext,
                                                         absl::string_view context) {
  TB_ASSIGN_OR_RETURN(Envelope envelope, ParseEnvelope(ciphertext));
  TB_ASSIGN_OR_RETURN(const Aead* kek, Kek(envelope.kek_id));
  absl::StatusOr<SecretString> dek =
      kek->Decrypt(envelope.wrapped_dek, DekAd(envelope.kek_id, context));
  if (!dek.ok()) {
    return AuthFailed(dek.status(), absl::StrCat("data key under '", envelope.kek_id, "'"));
  }
  TB_ASSIGN_OR_RETURN(std::unique_ptr<AesGcmAead> data_aead, AesGcmAead::New(*dek));
  absl::StatusOr<SecretString> plaintext = data_aead->Decrypt(envelope.payload, DataAd(context));
  if (!plaintext.ok()) return AuthFailed(plaintext.status(), "payload");
  return plaintext;
}

absl::StatusOr<std::string> KeyringEnvelopeCipher::Rewrap(absl::string_view ciphertext,
                                                          absl::string_view context) {
  TB_ASSIGN_OR_RETURN(Envelope envelope, ParseEnvelope(ciphertext));
  TB_ASSIGN_OR_RETURN(const Aead* old_kek, Kek(envelope.kek_id));
  absl::StatusOr<SecretString> dek =
      old_kek->Decrypt(envelope.wrapped_dek, DekAd(envelope.kek_id, context));
  if (!dek.ok()) {
    return AuthFailed(dek.status(), absl::StrCat("data key under '", envelope.kek_id, "'"));
  }
  // Check the payload too, so that Rewrap never blesses a damaged record:
  // its output always opens.
  TB_ASSIGN_OR_RETURN(std::unique_ptr<AesGcmAead> data_aead, AesGcmAead::New(*dek));
  absl::StatusOr<SecretString> plaintext = data_aead->Decrypt(envelope.payload, DataAd(context));
  if (!plaintext.ok()) return AuthFailed(plaintext.status(), "payload");
  plaintext->Wipe();

  if (envelope.kek_id == primary_id_) return std::string(ciphertext);
  TB_ASSIGN_OR_RETURN(const Aead* kek, Kek(primary_id_));
  TB_ASSIGN_OR_RETURN(std::string wrapped_dek,
                      kek->Encrypt(dek->value(), DekAd(primary_id_, context)));
  return Serialize(primary_id_, wrapped_dek, envelope.payload);
}

absl::StatusOr<std::string> KeyringEnvelopeCipher::KeyIdOf(absl::string_view ciphertext) const {
  TB_ASSIGN_OR_RETURN(Envelope envelope, ParseEnvelope(ciphertext));
  return std::string(envelope.kek_id);
}

}  // namespace tokenbroker
