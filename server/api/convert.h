// Protobuf <-> domain model, and request validation. Field paths in errors
// are the proto's, so callers see which field of their request was wrong.
#ifndef TOKENBROKER_SERVER_API_CONVERT_H_
#define TOKENBROKER_SERVER_API_CONVERT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/broker/token_broker.h"
#include "server/model/integration.h"
#include "tokenbroker/v1/integration.pb.h"
#include "tokenbroker/v1/token_service.pb.h"

namespace tokenbroker {

struct ValidationOptions {
  // http:// IMS URLs are accepted only with --allow-insecure-ims-http.
  bool allow_insecure_ims_http = false;
};

// `integrations/{id}` -> id. INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> ParseIntegrationName(absl::string_view name, absl::string_view field);
absl::Status ValidateIntegrationId(absl::string_view id, absl::string_view field);
std::string IntegrationName(absl::string_view id);

// Validates a complete integration (after create or update merge): every
// field, the Console ids (both or neither, `[A-Za-z0-9-]`, at most 32) and
// the rotation period (0, or 1h..3650 days and then only for OAuth S2S with
// Console ids).
absl::Status ValidateIntegration(const Integration& integration, const ValidationOptions& options,
                                 absl::string_view prefix);

// Rotation periods other than 0 (never) lie in [1h, 3650 days].
inline constexpr absl::Duration kMinSecretRotationPeriod = absl::Hours(1);
inline constexpr absl::Duration kMaxSecretRotationPeriod = absl::Hours(24 * 3650);

// Sets `after->client_secret_info`, one per client secret: a secret that
// `before` held keeps its info (its age), a new one is stored at `now`.
void StampClientSecretInfo(const Integration& before, absl::Time now, Integration* after);

// Copies the proto's fields into a new Integration (credentials included).
Integration FromProto(const v1::Integration& proto);
// Applies `mask` paths from `proto` onto `target`. INVALID_ARGUMENT for an
// unknown or immutable path.
absl::Status ApplyUpdate(const v1::Integration& proto, const google::protobuf::FieldMask& mask,
                         Integration* target);
// The response form: no secrets, fingerprints instead.
v1::Integration ToProto(const Integration& integration);

void ToProto(const TokenSnapshot& snapshot, v1::AccessToken* out);
void ToProto(absl::Time time, google::protobuf::Timestamp* out);
// min_remaining_validity -> nullopt (unset) or a duration in [0, 12h].
absl::StatusOr<std::optional<absl::Duration>> ParseMinValidity(
    const google::protobuf::Duration* duration, bool has);
// The rule ParseMinValidity applies, for other transports (the HTTP
// endpoint's `min_validity`): INVALID_ARGUMENT naming `field` unless
// `validity` lies in [0, kMaxMinValidity].
inline constexpr absl::Duration kMaxMinValidity = absl::Hours(12);
absl::Status CheckMinValidity(absl::Duration validity, absl::string_view field);

// The headers Adobe APIs want with the token, in a stable order.
std::vector<std::pair<std::string, std::string>> AdobeHeaders(const TokenSnapshot& snapshot);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_CONVERT_H_
