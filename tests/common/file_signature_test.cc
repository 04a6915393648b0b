#include "server/common/file_signature.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace tokenbroker {
namespace {

using ::tokenbroker::testing::TempDir;
using ::tokenbroker::testing::WriteFile;

TEST(FileSignatureTest, MissingFileHasAnEmptySignature) {
  TempDir dir;
  EXPECT_EQ(FileSignature(dir.File("absent")), "");
}

TEST(FileSignatureTest, UnchangedFileKeepsItsSignature) {
  TempDir dir;
  WriteFile(dir.File("policy.json"), "{}");
  std::string first = FileSignature(dir.File("policy.json"));
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(FileSignature(dir.File("policy.json")), first);
}

TEST(FileSignatureTest, RewrittenFileOfAnotherSizeChangesTheSignature) {
  TempDir dir;
  WriteFile(dir.File("policy.json"), "{}");
  std::string before = FileSignature(dir.File("policy.json"));
  WriteFile(dir.File("policy.json"), "{\"version\": 1}");
  EXPECT_NE(FileSignature(dir.File("policy.json")), before);
}

TEST(FileSignatureTest, FileReplacedByRenameWithTheSameContentChangesTheSignature) {
  // What a Kubernetes Secret volume does: a new inode swapped in.
  TempDir dir;
  WriteFile(dir.File("tls.pem"), "same bytes");
  std::string before = FileSignature(dir.File("tls.pem"));
  WriteFile(dir.File("tls.pem.new"), "same bytes");
  ASSERT_EQ(std::rename(dir.File("tls.pem.new").c_str(), dir.File("tls.pem").c_str()), 0);
  EXPECT_NE(FileSignature(dir.File("tls.pem")), before);
}

TEST(FileSignatureTest, FileDeletedHasAnEmptySignatureAgain) {
  TempDir dir;
  WriteFile(dir.File("key"), "k");
  ASSERT_FALSE(FileSignature(dir.File("key")).empty());
  ASSERT_EQ(std::remove(dir.File("key").c_str()), 0);
  EXPECT_EQ(FileSignature(dir.File("key")), "");
}

}  // namespace
}  // namespace tokenbroker
