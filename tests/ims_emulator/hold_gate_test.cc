// The emulator's hold (hold_gate.h) on its own, without HTTP: which request
// a hold picks, and when a held request is let go. emulator_test.cc holds
// requests of the real binary over HTTPS.
#include "tests/ims_emulator/hold_gate.h"

#include <optional>
#include <thread>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/wait.h"

namespace tokenbroker::emulator {
namespace {

using ::testing::HasSubstr;
using ::tokenbroker::testing::WaitUntil;

HoldSpec Spec(HoldEndpoint endpoint, const std::string& client, int nth, bool after = false) {
  HoldSpec spec;
  spec.endpoint = endpoint;
  spec.client_id = client;
  spec.nth = nth;
  spec.after = after;
  return spec;
}

TEST(ParseHoldSpecTest, ParsesEveryFieldAndDefaultsNthAndAfter) {
  auto full = ParseHoldSpec(R"({"endpoint":"delete","client":"c1","nth":3,"after":true})");
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ((*full)->endpoint, HoldEndpoint::kDelete);
  EXPECT_EQ((*full)->client_id, "c1");
  EXPECT_EQ((*full)->nth, 3);
  EXPECT_TRUE((*full)->after);

  auto defaults = ParseHoldSpec(R"({"endpoint":"token","client":"c1"})");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ((*defaults)->nth, 1);
  EXPECT_FALSE((*defaults)->after);
}

TEST(ParseHoldSpecTest, EmptyObjectIsNoHold) {
  auto none = ParseHoldSpec("{}");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
}

TEST(ParseHoldSpecTest, RejectsBadFieldsNamingThem) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  for (const Case& c :
       {Case{"[]", "JSON object"}, Case{R"({"endpoint":"refresh","client":"c"})", "\"endpoint\""},
        Case{R"({"endpoint":"add","client":""})", "\"client\""},
        Case{R"({"endpoint":"add"})", "\"client\""}, Case{R"({"client":"c"})", "\"endpoint\""},
        Case{R"({"endpoint":"add","client":"c","nth":0})", "\"nth\""},
        Case{R"({"endpoint":"add","client":"c","after":1})", "\"after\""},
        Case{R"({"endpoint":"add","client":"c","when":1})", "\"when\""}}) {
    auto spec = ParseHoldSpec(c.text);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(spec.status().message(), HasSubstr(c.fragment)) << c.text;
  }
}

TEST(HoldGateTest, ArrivePicksOnlyTheNthRequestOfTheClientAtTheEndpoint) {
  HoldGate gate(absl::Seconds(60));
  EXPECT_FALSE(gate.Arrive(HoldEndpoint::kToken, "c1"));  // no hold set
  gate.Set(Spec(HoldEndpoint::kToken, "c1", 2, /*after=*/true));
  EXPECT_FALSE(gate.Arrive(HoldEndpoint::kToken, "c2"));  // another client
  EXPECT_FALSE(gate.Arrive(HoldEndpoint::kList, "c1"));   // another endpoint
  EXPECT_FALSE(gate.Arrive(HoldEndpoint::kToken, "c1"));  // the first
  std::optional<HoldGate::Ticket> second = gate.Arrive(HoldEndpoint::kToken, "c1");
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->after);
  EXPECT_FALSE(gate.Arrive(HoldEndpoint::kToken, "c1"));  // the third
  EXPECT_EQ(gate.Status()["seen"], 3);
}

TEST(HoldGateTest, SetRestartsTheCount) {
  HoldGate gate(absl::Seconds(60));
  gate.Set(Spec(HoldEndpoint::kAdd, "c1", 1));
  ASSERT_TRUE(gate.Arrive(HoldEndpoint::kAdd, "c1"));
  gate.Set(Spec(HoldEndpoint::kAdd, "c1", 1));
  EXPECT_TRUE(gate.Arrive(HoldEndpoint::kAdd, "c1"));
  gate.Set(std::nullopt);
  EXPECT_FALSE(gate.Arrive(HoldEndpoint::kAdd, "c1"));
  EXPECT_TRUE(gate.Status()["hold"].is_null());
}

TEST(HoldGateTest, BlockWaitsUntilTheHoldIsReleased) {
  HoldGate gate(absl::Seconds(60));
  gate.Set(Spec(HoldEndpoint::kDelete, "c1", 1));
  std::optional<HoldGate::Ticket> ticket = gate.Arrive(HoldEndpoint::kDelete, "c1");
  ASSERT_TRUE(ticket);
  std::thread request([&] { gate.Block(*ticket); });
  ASSERT_TRUE(WaitUntil([&] { return gate.held_now() == 1; }, absl::Seconds(10), "held"));
  gate.Set(std::nullopt);
  request.join();
  EXPECT_EQ(gate.held_now(), 0);
  EXPECT_EQ(gate.Status()["held_total"], 1);
}

TEST(HoldGateTest, ANewHoldReleasesTheRequestsOfTheOldOne) {
  HoldGate gate(absl::Seconds(60));
  gate.Set(Spec(HoldEndpoint::kList, "c1", 1));
  std::optional<HoldGate::Ticket> ticket = gate.Arrive(HoldEndpoint::kList, "c1");
  ASSERT_TRUE(ticket);
  std::thread request([&] { gate.Block(*ticket); });
  ASSERT_TRUE(WaitUntil([&] { return gate.held_now() == 1; }, absl::Seconds(10), "held"));
  gate.Set(Spec(HoldEndpoint::kList, "c1", 5));
  request.join();
  EXPECT_EQ(gate.held_now(), 0);
}

TEST(HoldGateTest, BlockEndsAtTheTimeout) {
  HoldGate gate(absl::Milliseconds(20));
  gate.Set(Spec(HoldEndpoint::kToken, "c1", 1));
  std::optional<HoldGate::Ticket> ticket = gate.Arrive(HoldEndpoint::kToken, "c1");
  ASSERT_TRUE(ticket);
  gate.Block(*ticket);  // returns without a release
  EXPECT_EQ(gate.held_now(), 0);
}

TEST(HoldGateTest, BlockOfAReleasedHoldReturnsAtOnce) {
  HoldGate gate(absl::Seconds(60));
  gate.Set(Spec(HoldEndpoint::kToken, "c1", 1));
  std::optional<HoldGate::Ticket> ticket = gate.Arrive(HoldEndpoint::kToken, "c1");
  ASSERT_TRUE(ticket);
  gate.Set(std::nullopt);
  gate.Block(*ticket);  // would wait 60 s if it did not see the release
  EXPECT_EQ(gate.Status()["held_total"], 1);
}

}  // namespace
}  // namespace tokenbroker::emulator
