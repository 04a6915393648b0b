// tokenbroker.v1 messages → the SDK's plain structs.
#ifndef TOKENBROKER_CLIENT_INTERNAL_CONVERT_H_
#define TOKENBROKER_CLIENT_INTERNAL_CONVERT_H_

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "tokenbroker/client/client.h"
#include "tokenbroker/v1/token_service.pb.h"

namespace tokenbroker::client::internal {

absl::Time FromProto(const google::protobuf::Timestamp& timestamp);
void ToProto(absl::Duration duration, google::protobuf::Duration* out);
AccessToken FromProto(const v1::AccessToken& token);
RequestHeaders FromProto(const v1::GetRequestHeadersResponse& response);

}  // namespace tokenbroker::client::internal

#endif  // TOKENBROKER_CLIENT_INTERNAL_CONVERT_H_
