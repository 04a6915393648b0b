// The change notification payload (server/store/change_payload.h).
#include "server/store/change_payload.h"

#include "gmock/gmock.h"

namespace tokenbroker::internal {
namespace {

using Kind = StoreChange::Kind;

TEST(ChangePayloadTest, TokenChangeRoundTripsWithExpiryAndOrigin) {
  StoreChange change{Kind::kToken, "acme"};
  change.token_expire_time = absl::FromUnixSeconds(1'800'000'000);
  std::string payload = EncodeChangePayload(change, "0123abcd");
  EXPECT_EQ(payload, R"({"expire_time_ns":1800000000000000000,"id":"acme","kind":"token",)"
                     R"("origin":"0123abcd","v":1})");
  std::optional<ReceivedChange> got = DecodeChangePayload(payload);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->origin, "0123abcd");
  EXPECT_EQ(got->change.kind, Kind::kToken);
  EXPECT_EQ(got->change.id, "acme");
  EXPECT_EQ(got->change.token_expire_time, change.token_expire_time);
  EXPECT_FALSE(got->change.deleted);
}

TEST(ChangePayloadTest, UnknownAndInfiniteExpiriesRoundTrip) {
  for (absl::Time t : {absl::InfinitePast(), absl::InfiniteFuture()}) {
    StoreChange change{Kind::kToken, "acme"};
    change.token_expire_time = t;
    std::optional<ReceivedChange> got = DecodeChangePayload(EncodeChangePayload(change, "o"));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->change.token_expire_time, t);
  }
}

TEST(ChangePayloadTest, DeleteCarriesDeleted) {
  StoreChange change{Kind::kIntegration, "acme"};
  change.deleted = true;
  std::optional<ReceivedChange> got = DecodeChangePayload(EncodeChangePayload(change, "o"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->change.kind, Kind::kIntegration);
  EXPECT_TRUE(got->change.deleted);
  EXPECT_EQ(got->change.token_expire_time, absl::InfinitePast());
}

TEST(ChangePayloadTest, ReadsThePreviousFormatWithoutOriginOrExpiry) {
  std::optional<ReceivedChange> token = DecodeChangePayload("t:acme");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->change.kind, Kind::kToken);
  EXPECT_EQ(token->change.id, "acme");
  EXPECT_EQ(token->change.token_expire_time, absl::InfinitePast());
  EXPECT_TRUE(token->origin.empty());
  std::optional<ReceivedChange> integration = DecodeChangePayload("i:acme");
  ASSERT_TRUE(integration.has_value());
  EXPECT_EQ(integration->change.kind, Kind::kIntegration);
}

TEST(ChangePayloadTest, IgnoresUnknownFieldsAndRejectsWhatItCannotRead) {
  std::optional<ReceivedChange> newer =
      DecodeChangePayload(R"({"v":2,"kind":"token","id":"acme","origin":"o","shard":7})");
  ASSERT_TRUE(newer.has_value());
  EXPECT_EQ(newer->change.id, "acme");
  for (const char* bad :
       {"", "x:acme", "t:", "{}", "[1]", R"({"kind":"token"})", R"({"kind":"resync","id":"acme"})",
        R"({"kind":"token","id":7})", "{not json"}) {
    EXPECT_FALSE(DecodeChangePayload(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace tokenbroker::internal
