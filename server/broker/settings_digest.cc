#include "server/broker/settings_digest.h"

#include <openssl/crypto.h>

#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tokenbroker {

uint64_t SettingsDigest(const Integration& i) {
  std::string key =
      absl::StrCat(static_cast<int>(i.auth_method), "\n", i.client_id, "\n", i.org_id, "\n",
                   i.technical_account_id, "\n", absl::StrJoin(i.scopes, ","), "\n",
                   absl::StrJoin(i.metascopes, ","), "\n", i.ims_url, "\n", i.sandbox_name, "\n",
                   i.include_org_header, "\n", i.credentials.private_key_pem.value());
  for (const SecretString& secret : i.credentials.client_secrets) {
    absl::StrAppend(&key, "\n", secret.value());
  }
  uint64_t digest = absl::Hash<std::string>{}(key);
  OPENSSL_cleanse(key.data(), key.size());
  return digest;
}

}  // namespace tokenbroker
