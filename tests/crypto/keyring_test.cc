#include "server/crypto/keyring.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokenbroker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 23, 8, 0, 0), absl::UTCTimeZone());

// Base64 of 32 bytes 0x00..0x1f, and of 16 bytes.
constexpr char kKeyB64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kShortKeyB64[] = "AAECAwQFBgcICQoLDA0ODw==";

std::string OneKeyJson(absl::string_view id = "k-20261123-ab12cd",
                       absl::string_view key = kKeyB64) {
  return absl::StrCat(R"({"version":1,"primary":")", id, R"(","keys":[{"id":")", id,
                      R"(","created":"2026-11-23T10:00:00Z","key":")", key, R"("}]})");
}

Keyring MustGenerate(absl::Time now = kNow) {
  auto keyring = Keyring::Generate(now);
  EXPECT_TRUE(keyring.ok()) << keyring.status();
  return *std::move(keyring);
}

void ExpectSameKeys(const Keyring& a, const Keyring& b) {
  EXPECT_EQ(a.primary_id(), b.primary_id());
  ASSERT_EQ(a.ids(), b.ids());
  for (const std::string& id : a.ids()) {
    ASSERT_NE(b.Find(id), nullptr);
    EXPECT_TRUE(*a.Find(id) == *b.Find(id)) << id;
  }
}

// A fresh directory under the test temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/keyring_test.XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, absl::string_view text, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(IsValidKeyIdTest, AcceptsOnlyTheDocumentedForm) {
  EXPECT_TRUE(IsValidKeyId("k-20261123-ab12cd"));
  EXPECT_TRUE(IsValidKeyId("k-00000000-000000"));
  for (const char* bad : {"", "k-20261123-ab12c", "k-20261123-ab12cde", "k-2026112x-ab12cd",
                          "k-20261123-AB12CD", "k-20261123-ab12cg", "x-20261123-ab12cd",
                          "k_20261123-ab12cd", "k-20261123_ab12cd", "k-20261123|ab12cd"}) {
    EXPECT_FALSE(IsValidKeyId(bad)) << bad;
  }
}

TEST(KeyringTest, GenerateCreatesOnePrimaryKeyNamedForTheUtcDate) {
  Keyring keyring = MustGenerate();
  EXPECT_THAT(keyring.ids(), ElementsAre(keyring.primary_id()));
  EXPECT_TRUE(IsValidKeyId(keyring.primary_id()));
  EXPECT_EQ(keyring.primary_id().substr(0, 11), "k-20261123-");
  ASSERT_NE(keyring.Find(keyring.primary_id()), nullptr);
  EXPECT_EQ(keyring.Find(keyring.primary_id())->size(), 32u);
  EXPECT_EQ(keyring.Find("k-20990101-000000"), nullptr);
  auto metadata = keyring.metadata();
  ASSERT_EQ(metadata.size(), 1u);
  EXPECT_TRUE(metadata[0].primary);
  EXPECT_EQ(metadata[0].create_time, kNow);
}

TEST(KeyringTest, GenerateTwiceGivesDifferentKeys) {
  Keyring a = MustGenerate();
  Keyring b = MustGenerate();
  EXPECT_NE(a.primary_id(), b.primary_id());
  EXPECT_FALSE(*a.Find(a.primary_id()) == *b.Find(b.primary_id()));
}

TEST(KeyringTest, SerializeThenParseRoundTrips) {
  Keyring keyring = MustGenerate();
  ASSERT_TRUE(keyring.AddPrimary(kNow + absl::Hours(48)).ok());
  ASSERT_TRUE(keyring.AddPrimary(kNow + absl::Hours(96)).ok());
  SecretString json = keyring.Serialize();
  auto parsed = Keyring::Parse(json.value());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ExpectSameKeys(keyring, *parsed);
  auto a = keyring.metadata();
  auto b = parsed->metadata();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].create_time, b[i].create_time);
    EXPECT_EQ(a[i].primary, b[i].primary);
  }
  // And the text is stable.
  EXPECT_TRUE(parsed->Serialize() == json);
}

TEST(KeyringTest, ParseReadsTheDocumentedFormat) {
  auto keyring = Keyring::Parse(OneKeyJson());
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->primary_id(), "k-20261123-ab12cd");
  std::string expected;
  ASSERT_TRUE(absl::Base64Unescape(kKeyB64, &expected));
  EXPECT_EQ(keyring->Find("k-20261123-ab12cd")->value(), expected);
  EXPECT_EQ(keyring->metadata()[0].create_time,
            absl::FromCivil(absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone()));
}

TEST(KeyringTest, ParseIgnoresUnknownFieldsAndAcceptsOffsetsInTimestamps) {
  std::string json =
      absl::StrReplaceAll(OneKeyJson(), {{"\"version\":1", "\"version\":1,\"comment\":\"prod\""},
                                         {"2026-11-23T10:00:00Z", "2026-11-23T11:00:00.5+01:00"}});
  auto keyring = Keyring::Parse(json);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
}

struct BadKeyringCase {
  std::string name;
  std::string json;
  std::string message;  // a fragment the error must contain
};

TEST(KeyringTest, ParseRejectsMalformedInputNamingTheProblem) {
  const std::string id = "k-20261123-ab12cd";
  const std::string other = "k-20261124-000001";
  std::string two_keys =
      absl::StrCat(R"({"version":1,"primary":")", id, R"(","keys":[)", R"({"id":")", id,
                   R"(","created":"2026-11-23T10:00:00Z","key":")", kKeyB64, R"("},{"id":")", id,
                   R"(","created":"2026-11-23T10:00:00Z","key":")", kKeyB64, R"("}]})");
  const std::vector<BadKeyringCase> cases = {
      {"not json", "{\"version\":1, \"keys\": [" + std::string(kKeyB64), "not valid JSON"},
      {"empty", "", "not valid JSON"},
      {"array", "[]", "not a JSON object"},
      {"no version", absl::StrReplaceAll(OneKeyJson(), {{"\"version\":1,", ""}}), "\"version\""},
      {"string version",
       absl::StrReplaceAll(OneKeyJson(), {{"\"version\":1", "\"version\":\"1\""}}),
       "\"version\" is missing or not an integer"},
      {"version 2", absl::StrReplaceAll(OneKeyJson(), {{"\"version\":1", "\"version\":2"}}),
       "unsupported version 2"},
      {"no primary", absl::StrReplaceAll(OneKeyJson(), {{"\"primary\":\"" + id + "\",", ""}}),
       "\"primary\" is missing"},
      {"bad primary",
       absl::StrReplaceAll(OneKeyJson(), {{"\"primary\":\"" + id, "\"primary\":\"x"}}),
       "\"primary\" is not a key id"},
      {"no keys", R"({"version":1,"primary":")" + id + R"("})", "\"keys\" is missing"},
      {"empty keys", R"({"version":1,"primary":")" + id + R"(","keys":[]})", "\"keys\" is empty"},
      {"key not object", R"({"version":1,"primary":")" + id + R"(","keys":[7]})",
       "keys[0] is not an object"},
      {"no id", absl::StrReplaceAll(OneKeyJson(), {{"\"id\":\"" + id + "\",", ""}}),
       "keys[0].id is missing"},
      // A key pasted into the id field must not be echoed.
      {"bad id",
       absl::StrReplaceAll(OneKeyJson(), {{"\"id\":\"" + id, "\"id\":\"" + std::string(kKeyB64)}}),
       "keys[0].id is not of the form k-YYYYMMDD-hhhhhh"},
      {"duplicate id", two_keys, "duplicate key id '" + id + "'"},
      {"no created",
       absl::StrReplaceAll(OneKeyJson(), {{"\"created\":\"2026-11-23T10:00:00Z\",", ""}}),
       "key '" + id + "': \"created\" is missing"},
      {"bad created", absl::StrReplaceAll(OneKeyJson(), {{"2026-11-23T10:00:00Z", "yesterday"}}),
       "key '" + id + "': \"created\" is not an RFC 3339 timestamp"},
      {"no key",
       absl::StrReplaceAll(OneKeyJson(), {{",\"key\":\"" + std::string(kKeyB64) + "\"", ""}}),
       "key '" + id + "': \"key\" is missing"},
      {"bad base64", OneKeyJson(id, "not*base64!"),
       "key '" + id + "': \"key\" is not valid base64"},
      {"short key", OneKeyJson(id, kShortKeyB64), "key '" + id + "' is 16 bytes; want 32"},
      {"primary not among keys",
       absl::StrReplaceAll(OneKeyJson(), {{"\"primary\":\"" + id, "\"primary\":\"" + other}}),
       "primary '" + other + "' is not among the keys"},
  };
  for (const BadKeyringCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto keyring = Keyring::Parse(c.json);
    ASSERT_FALSE(keyring.ok());
    EXPECT_EQ(keyring.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(keyring.status().message(), HasSubstr("keyring: "));
    EXPECT_THAT(keyring.status().message(), HasSubstr(c.message));
    EXPECT_THAT(keyring.status().message(), Not(HasSubstr(kKeyB64)));
    EXPECT_THAT(keyring.status().message(), Not(HasSubstr("AAECAwQF")));
  }
}

TEST(KeyringTest, AddPrimaryKeepsOldKeysForDecryptionOnly) {
  Keyring keyring = MustGenerate();
  const std::string old_id = keyring.primary_id();
  const SecretString old_key = *keyring.Find(old_id);
  auto new_id = keyring.AddPrimary(kNow + absl::Hours(24));
  ASSERT_TRUE(new_id.ok()) << new_id.status();
  EXPECT_EQ(keyring.primary_id(), *new_id);
  EXPECT_EQ(new_id->substr(0, 11), "k-20261124-");
  EXPECT_NE(*new_id, old_id);
  EXPECT_EQ(keyring.ids().size(), 2u);
  ASSERT_NE(keyring.Find(old_id), nullptr);
  EXPECT_TRUE(*keyring.Find(old_id) == old_key);
}

TEST(KeyringTest, AddPrimaryTheSameDayPicksADistinctId) {
  Keyring keyring = MustGenerate();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(keyring.AddPrimary(kNow).ok());
  EXPECT_EQ(keyring.ids().size(), 21u);
}

TEST(KeyringTest, RemoveRefusesThePrimaryAndUnknownIds) {
  Keyring keyring = MustGenerate();
  const std::string old_id = keyring.primary_id();
  absl::Status status = keyring.Remove(old_id);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr(old_id));
  EXPECT_THAT(status.message(), HasSubstr("primary"));

  status = keyring.Remove("k-20000101-000000");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("k-20000101-000000"));

  ASSERT_TRUE(keyring.AddPrimary(kNow).ok());
  EXPECT_TRUE(keyring.Remove(old_id).ok());
  EXPECT_EQ(keyring.Find(old_id), nullptr);
  EXPECT_THAT(keyring.ids(), ElementsAre(keyring.primary_id()));
}

TEST(KeyringTest, LoadFromFileReadsAPrivateFile) {
  TempDir dir;
  const std::string path = dir.path() + "/keyring.json";
  WriteFile(path, OneKeyJson(), 0600);
  ::testing::internal::CaptureStderr();
  auto keyring = Keyring::LoadFromFile(path);
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->primary_id(), "k-20261123-ab12cd");
  EXPECT_EQ(log, "");
}

TEST(KeyringTest, LoadFromFileWarnsButLoadsAFileReadableByOthers) {
  TempDir dir;
  const std::string path = dir.path() + "/keyring.json";
  WriteFile(path, OneKeyJson(), 0644);
  ::testing::internal::CaptureStderr();
  auto keyring = Keyring::LoadFromFile(path);
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_THAT(log, HasSubstr("\"level\":\"warning\""));
  EXPECT_THAT(log, HasSubstr("group or others"));
  EXPECT_THAT(log, HasSubstr("0644"));
  EXPECT_THAT(log, HasSubstr(path));
  EXPECT_THAT(log, Not(HasSubstr(kKeyB64)));
}

TEST(KeyringTest, LoadFromFileFollowsSymlinksAsKubernetesSecretVolumesUse) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/..2026_11_23");
  WriteFile(dir.path() + "/..2026_11_23/keyring.json", OneKeyJson(), 0400);
  std::filesystem::create_directory_symlink("..2026_11_23", dir.path() + "/..data");
  std::filesystem::create_symlink("..data/keyring.json", dir.path() + "/keyring.json");
  auto keyring = Keyring::LoadFromFile(dir.path() + "/keyring.json");
  ASSERT_TRUE(keyring.ok()) << keyring.status();
}

TEST(KeyringTest, LoadFromFileErrors) {
  TempDir dir;
  auto missing = Keyring::LoadFromFile(dir.path() + "/nope.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.json"));

  auto directory = Keyring::LoadFromFile(dir.path());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(directory.status().message(), HasSubstr("not a regular file"));

  const std::string bad = dir.path() + "/bad.json";
  WriteFile(bad, OneKeyJson("k-20261123-ab12cd", kShortKeyB64), 0600);
  auto invalid = Keyring::LoadFromFile(bad);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.status().message(), HasSubstr("is 16 bytes"));
  EXPECT_THAT(invalid.status().message(), HasSubstr(bad));

  const std::string big = dir.path() + "/big.json";
  WriteFile(big, std::string((1 << 20) + 1, ' '), 0600);
  auto too_big = Keyring::LoadFromFile(big);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(too_big.status().message(), HasSubstr("larger than"));
}

class KeyringEnvTest : public ::testing::Test {
 protected:
  static constexpr char kVar[] = "TOKENBROKER_KEYRING_TEST";
  void TearDown() override { ::unsetenv(kVar); }
};

TEST_F(KeyringEnvTest, LoadFromEnvReadsJson) {
  ::setenv(kVar, ("  \n" + OneKeyJson() + "\n").c_str(), 1);
  auto keyring = Keyring::LoadFromEnv(kVar);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->primary_id(), "k-20261123-ab12cd");
}

TEST_F(KeyringEnvTest, LoadFromEnvReadsBase64OfJsonEvenWhenWrapped) {
  std::string b64 = absl::Base64Escape(OneKeyJson());
  for (size_t i = 76; i < b64.size(); i += 77) b64.insert(i, "\n");
  ::setenv(kVar, b64.c_str(), 1);
  auto keyring = Keyring::LoadFromEnv(kVar);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->primary_id(), "k-20261123-ab12cd");
}

TEST_F(KeyringEnvTest, LoadFromEnvErrors) {
  ::unsetenv(kVar);
  auto unset = Keyring::LoadFromEnv(kVar);
  EXPECT_EQ(unset.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unset.status().message(), HasSubstr(kVar));

  ::setenv(kVar, "", 1);
  EXPECT_EQ(Keyring::LoadFromEnv(kVar).status().code(), absl::StatusCode::kNotFound);

  ::setenv(kVar, "definitely not base64 !!", 1);
  auto garbage = Keyring::LoadFromEnv(kVar);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr("neither keyring JSON nor base64"));

  ::setenv(kVar, absl::Base64Escape("hello").c_str(), 1);
  EXPECT_EQ(Keyring::LoadFromEnv(kVar).status().code(), absl::StatusCode::kInvalidArgument);

  ::setenv(kVar, absl::Base64Escape(OneKeyJson("k-20261123-ab12cd", kShortKeyB64)).c_str(), 1);
  auto invalid = Keyring::LoadFromEnv(kVar);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.status().message(), HasSubstr("is 16 bytes"));
  EXPECT_THAT(invalid.status().message(), HasSubstr(kVar));
}

TEST(WriteKeyringFileTest, CreatesAPrivateFileThatLoadsBack) {
  TempDir dir;
  const std::string path = dir.path() + "/keyring.json";
  Keyring keyring = MustGenerate();
  ASSERT_TRUE(WriteKeyringFile(path, keyring, /*overwrite=*/false).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto loaded = Keyring::LoadFromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameKeys(keyring, *loaded);
  EXPECT_THAT(dir.Entries(), ElementsAre("keyring.json"));  // no temporary left
}

TEST(WriteKeyringFileTest, RefusesToOverwriteUnlessAsked) {
  TempDir dir;
  const std::string path = dir.path() + "/keyring.json";
  WriteFile(path, "precious", 0600);
  Keyring keyring = MustGenerate();

  absl::Status status = WriteKeyringFile(path, keyring, /*overwrite=*/false);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_EQ(ReadFile(path), "precious");
  EXPECT_THAT(dir.Entries(), ElementsAre("keyring.json"));

  ASSERT_TRUE(WriteKeyringFile(path, keyring, /*overwrite=*/true).ok());
  auto loaded = Keyring::LoadFromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameKeys(keyring, *loaded);
  EXPECT_THAT(dir.Entries(), ElementsAre("keyring.json"));
}

TEST(WriteKeyringFileTest, OverwriteReplacesAWiderModeWith0600) {
  TempDir dir;
  const std::string path = dir.path() + "/keyring.json";
  WriteFile(path, "old", 0644);
  ASSERT_TRUE(WriteKeyringFile(path, MustGenerate(), /*overwrite=*/true).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(WriteKeyringFileTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  absl::Status status =
      WriteKeyringFile(dir.path() + "/no/such/dir/keyring.json", MustGenerate(), false);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("keyring.json"));
}

}  // namespace
}  // namespace tokenbroker
