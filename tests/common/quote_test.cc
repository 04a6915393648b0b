#include "server/common/quote.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

TEST(QuoteInputTest, QuoteInputShortInputIsQuotedWhole) {
  EXPECT_EQ(QuoteInput("display_nam"), "'display_nam'");
  EXPECT_EQ(QuoteInput(""), "''");
}

TEST(QuoteInputTest, QuoteInputLongInputIsCutToAPrefixWithItsSize) {
  std::string input(20 * 1024, 'a');
  std::string quoted = QuoteInput(input);
  EXPECT_EQ(quoted, "'" + std::string(64, 'a') + "\u2026' (20480 bytes)");
}

TEST(QuoteInputTest, QuoteInputEscapesControlAndNonUtf8Bytes) {
  EXPECT_EQ(QuoteInput(std::string("a\nb\xff'")), "'a\\nb\\xff\\''");
}

TEST(QuoteInputTest, QuoteInputIsBoundedWhateverTheInput) {
  std::string worst(100000, '\x01');  // every byte escapes to 4
  EXPECT_LE(QuoteInput(worst).size(), 4 * kMaxQuotedBytes + 32);
}

}  // namespace
}  // namespace tokenbroker
