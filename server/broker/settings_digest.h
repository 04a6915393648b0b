// The one rule that decides whether a cached token survives a change of
// its integration: it does exactly when the digest of the settings it was
// minted with is unchanged (a rename does not re-mint; a new secret does).
#ifndef TOKENBROKER_SERVER_BROKER_SETTINGS_DIGEST_H_
#define TOKENBROKER_SERVER_BROKER_SETTINGS_DIGEST_H_

#include <cstdint>

#include "server/model/integration.h"

namespace tokenbroker {

// A hash of everything a token depends on: auth method, client and org ids,
// technical account, scopes, metascopes, IMS URL, sandbox, org header flag,
// secrets and key. Not display_name, state or times. Not a MAC: it is
// compared in memory only, never stored or sent.
uint64_t SettingsDigest(const Integration& integration);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_BROKER_SETTINGS_DIGEST_H_
