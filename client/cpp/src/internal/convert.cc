#include "internal/convert.h"

namespace tokenbroker::client::internal {

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

void ToProto(absl::Duration duration, google::protobuf::Duration* out) {
  int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &duration);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
}

AccessToken FromProto(const v1::AccessToken& token) {
  AccessToken out;
  out.token = token.access_token();
  out.integration = token.integration();
  out.issue_time = token.has_issue_time() ? FromProto(token.issue_time()) : absl::InfinitePast();
  out.expire_time = token.has_expire_time() ? FromProto(token.expire_time()) : absl::InfinitePast();
  return out;
}

RequestHeaders FromProto(const v1::GetRequestHeadersResponse& response) {
  RequestHeaders out;
  out.headers.reserve(response.headers_size());
  for (const v1::Header& header : response.headers()) {
    out.headers.push_back(Header{header.name(), header.value()});
  }
  out.expire_time =
      response.has_expire_time() ? FromProto(response.expire_time()) : absl::InfinitePast();
  return out;
}

}  // namespace tokenbroker::client::internal
