// Secrets in the memory of the real server process: a client secret is gone
// from every readable mapping once its integration is deleted, and the
// process can neither dump core nor be read by another process of its user.
//
// The broker runs as an unprivileged user (65534) so that the kernel's view
// of PR_SET_DUMPABLE is observable from outside: /proc/PID/fd belongs to the
// process's user while it is dumpable and to root once it is not. The test
// itself runs as root (CAP_SYS_PTRACE), which reads /proc/PID/mem either way.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/stack.h"
#include "tests/testing/wait.h"

namespace tokenbroker::testing {
namespace {

using ::testing::HasSubstr;

constexpr uid_t kUnprivileged = 65534;  // nobody/nogroup on Debian
constexpr char kClientId[] = "memory-client";
constexpr char kTechnicalAccount[] = "TECH1@techacct.adobe.com";

// A marker nobody else would hold, made of form-safe characters so that the
// form body sent to IMS carries it verbatim.
std::string UniqueMarker() {
  return absl::StrCat("MEMSCAN-", getpid(), "-", absl::ToUnixNanos(absl::Now()), "-c0ffee");
}

struct Hit {
  uint64_t address = 0;
  std::string mapping;
  std::string before;  // the bytes before it, escaped: what the buffer was
};

// A readable mapping larger than this is a sanitizer's shadow memory (ASan
// reserves terabytes of it): it holds the sanitizer's metadata about which
// bytes are addressable, never the program's bytes, and reading it whole
// would take hours. No mapping of an uninstrumented server comes near this.
constexpr uint64_t kShadowMappingBytes = uint64_t{64} << 30;
constexpr size_t kChunkBytes = size_t{64} << 20;

// Every occurrence of `needle` in the readable mappings of `pid`, read
// through /proc/PID/mem in chunks (overlapping by the needle's length).
// Mappings the kernel refuses to read ([vvar], guard pages) are skipped;
// `*scanned` counts the bytes actually read.
std::vector<Hit> ScanProcessMemory(pid_t pid, const std::string& needle, uint64_t* scanned) {
  std::vector<Hit> hits;
  *scanned = 0;
  std::ifstream maps(absl::StrCat("/proc/", pid, "/maps"));
  int mem = open(absl::StrCat("/proc/", pid, "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) {
    ADD_FAILURE() << "open /proc/" << pid << "/mem: " << std::strerror(errno);
    return hits;
  }
  std::string line;
  std::string buffer(kChunkBytes + needle.size(), '\0');
  while (std::getline(maps, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 5 || fields[1][0] != 'r') continue;
    std::string mapping = fields.size() > 5 ? fields[5] : "[anonymous]";
    std::vector<std::string> range = absl::StrSplit(fields[0], '-');
    uint64_t begin = 0, end = 0;
    if (!absl::SimpleHexAtoi(range[0], &begin) || !absl::SimpleHexAtoi(range[1], &end)) continue;
    if (end - begin > kShadowMappingBytes) continue;
    for (uint64_t from = begin; from < end; from += kChunkBytes) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(end - from, buffer.size()));
      ssize_t n = pread(mem, buffer.data(), want, static_cast<off_t>(from));
      if (n <= 0) break;
      *scanned += static_cast<uint64_t>(std::min<ssize_t>(n, kChunkBytes));
      absl::string_view data(buffer.data(), static_cast<size_t>(n));
      for (size_t at = data.find(needle); at != absl::string_view::npos && at < kChunkBytes;
           at = data.find(needle, at + 1)) {
        size_t before = at < 96 ? 0 : at - 96;
        hits.push_back({from + at, mapping, absl::CEscape(data.substr(before, at - before))});
      }
    }
  }
  close(mem);
  return hits;
}

std::string Describe(const std::vector<Hit>& hits) {
  std::string out;
  for (const Hit& hit : hits) {
    absl::StrAppend(&out, "\n  0x", absl::Hex(hit.address), " ", hit.mapping, " after \"",
                    hit.before, "\"");
  }
  return out;
}

// The value of `key` in /proc/PID/limits ("Max core file size  0  0  bytes").
std::string LimitLine(pid_t pid, const std::string& key) {
  std::ifstream limits(absl::StrCat("/proc/", pid, "/limits"));
  std::string line;
  while (std::getline(limits, line)) {
    if (absl::StartsWith(line, key)) return line;
  }
  return "";
}

// The real uid of `pid` from /proc/PID/status ("Uid: real effective ...").
std::string StatusUids(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "Uid:")) return line;
  }
  return "";
}

// Server-side TCP connections of the listener on `port` (any state but
// LISTEN), from the process's view of /proc/net/tcp.
int ServerConnections(pid_t pid, int port) {
  std::ifstream tcp(absl::StrCat("/proc/", pid, "/net/tcp"));
  std::string line;
  std::getline(tcp, line);  // the header
  int count = 0;
  std::string local_suffix = absl::StrCat(":", absl::Hex(port, absl::kZeroPad4));
  while (std::getline(tcp, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 4) continue;
    std::string local = absl::AsciiStrToUpper(fields[1]);
    if (absl::EndsWith(local, absl::AsciiStrToUpper(local_suffix)) && fields[3] != "0A") ++count;
  }
  return count;
}

class MemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "reading another process's memory needs root";
    marker_ = UniqueMarker();
    keys_ = GenerateTestKeyPair();
    nlohmann::json client = {{"client_id", kClientId},
                             {"client_secrets", {marker_}},
                             {"org_id", "ORG1@AdobeOrg"},
                             {"scopes", {"openid", "AdobeID"}},
                             {"technical_account_id", kTechnicalAccount},
                             {"metascopes", {"ent_dataservices_sdk"}},
                             {"certificate_pem", keys_.certificate_pem}};
    auto ims = ImsEmulatorProcess::Start({client});
    ASSERT_TRUE(ims.ok()) << ims.status();
    ims_ = std::move(*ims);
    // Everything the unprivileged broker reads or writes lives in a folder
    // it owns, the binary included (the build tree may be under /root).
    namespace fs = std::filesystem;
    fs::copy_file(BinDir() + "/tokenbroker", dir_.File("tokenbroker"));
    fs::copy_file(ims_->ca_file(), dir_.File("ca.pem"));
    CommandResult keyring = RunCommand(
        {BinDir() + "/tokenbroker", "keyring", "create", "--kek-file=" + dir_.File("kek.json")});
    ASSERT_EQ(keyring.exit_code, 0) << keyring.err;
    fs::create_directory(dir_.File("data"));
    for (const char* name : {"", "tokenbroker", "ca.pem", "kek.json", "data"}) {
      std::string path = *name ? dir_.File(name) : dir_.path();
      ASSERT_EQ(chown(path.c_str(), kUnprivileged, kUnprivileged), 0) << path;
    }
  }

  void StartBroker(const std::vector<std::string>& extra_flags = {}) {
    // Started with an unlimited core limit, so that a limit of 0 is the
    // server's own doing.
    std::vector<std::string> argv = {"/usr/bin/prlimit",
                                     "--core=unlimited",
                                     "/usr/bin/setpriv",
                                     absl::StrCat("--reuid=", kUnprivileged),
                                     absl::StrCat("--regid=", kUnprivileged),
                                     "--clear-groups",
                                     dir_.File("tokenbroker"),
                                     "--listen=127.0.0.1:0",
                                     "--port-file=" + dir_.File("port"),
                                     "--store=sqlite:" + dir_.File("data/tokenbroker.db"),
                                     "--kek-file=" + dir_.File("kek.json"),
                                     "--ims-url=" + ims_->url(),
                                     "--ims-ca-file=" + dir_.File("ca.pem")};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    auto process = Subprocess::Start(argv, dir_.File("broker.log"));
    ASSERT_TRUE(process.ok()) << process.status();
    broker_ = std::move(*process);
    auto port = WaitForPortFile(dir_.File("port"), absl::Seconds(20), broker_.get());
    ASSERT_TRUE(port.ok()) << port.status() << "\n" << ReadFile(dir_.File("broker.log"));
    port_ = *port;
  }

  // A channel of its own for each call, as tokenctl opens one connection per
  // command: gRPC keeps the unused tail of a connection's read buffer for the
  // next read, so the bytes of a request stay in live memory for as long as
  // its connection is open (see README "Secrets in memory").
  std::shared_ptr<grpc::Channel> NewChannel() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                     grpc::InsecureChannelCredentials(), args);
  }

  grpc::Status GetToken(const std::string& id) {
    grpc::ClientContext ctx;
    v1::GetAccessTokenRequest request;
    request.set_name("integrations/" + id);
    v1::GetAccessTokenResponse response;
    return v1::TokenService::NewStub(NewChannel())->GetAccessToken(&ctx, request, &response);
  }

  // /proc/PID/fd (like every per-process entry that is not world-readable)
  // is owned by the process's user only while it is dumpable.
  uid_t ProcOwner() {
    struct stat st {};
    EXPECT_EQ(stat(absl::StrCat("/proc/", broker_->pid(), "/fd").c_str(), &st), 0);
    return st.st_uid;
  }

  void CreateMintDeleteAndScan(const v1::CreateIntegrationRequest& request,
                               const std::vector<std::string>& markers);

  std::string marker_;
  TestKeyPair keys_;
  TempDir dir_;
  std::unique_ptr<ImsEmulatorProcess> ims_;
  std::unique_ptr<Subprocess> broker_;
  int port_ = 0;
};

// Creates the integration of `request`, mints a token with it, deletes it and
// scans the server's memory for each of `markers`: present while the
// integration lives (the broker must be able to refresh, and the scanner is
// not blind), absent once it is deleted.
void MemoryTest::CreateMintDeleteAndScan(const v1::CreateIntegrationRequest& request,
                                         const std::vector<std::string>& markers) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const std::string& id = request.integration_id();
  {
    grpc::ClientContext ctx;
    auto integrations = v1::IntegrationService::NewStub(NewChannel());
    v1::CreateIntegrationResponse created;
    grpc::Status status = integrations->CreateIntegration(&ctx, request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  grpc::Status minted = GetToken(id);
  ASSERT_TRUE(minted.ok()) << minted.error_message();
  ASSERT_EQ(ims_->Exchanges(kClientId), 1);

  uint64_t scanned = 0;
  for (const std::string& marker : markers) {
    EXPECT_FALSE(ScanProcessMemory(broker_->pid(), marker, &scanned).empty())
        << "the live integration's secret " << marker << " was not found in " << scanned
        << " bytes";
  }
  {
    grpc::ClientContext ctx;
    auto integrations = v1::IntegrationService::NewStub(NewChannel());
    v1::DeleteIntegrationRequest remove;
    remove.set_name("integrations/" + id);
    v1::DeleteIntegrationResponse response;
    grpc::Status status = integrations->DeleteIntegration(&ctx, remove, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // The broker has dropped what it cached once a call no longer finds it.
  ASSERT_TRUE(WaitUntil([&] { return GetToken(id).error_code() == grpc::NOT_FOUND; },
                        absl::Seconds(10), "GetAccessToken answering NOT_FOUND"));
  // Every connection is closed on the server's side: its buffers are freed.
  ASSERT_TRUE(WaitUntil([&] { return ServerConnections(broker_->pid(), port_) == 0; },
                        absl::Seconds(10), "the server closing every client connection"));

  for (const std::string& marker : markers) {
    std::vector<Hit> hits = ScanProcessMemory(broker_->pid(), marker, &scanned);
    EXPECT_GT(scanned, 1u << 20);
    EXPECT_TRUE(hits.empty()) << "the deleted integration's secret " << marker << " is still in "
                              << hits.size() << " place(s) of " << scanned
                              << " bytes of server memory:" << Describe(hits);
    EXPECT_THAT(ReadFile(dir_.File("broker.log")), ::testing::Not(HasSubstr(marker)));
  }
}

TEST_F(MemoryTest, ClientSecretIsGoneFromServerMemoryAfterItsIntegrationIsDeleted) {
  CreateMintDeleteAndScan(OAuthIntegration("memory", kClientId, marker_, ims_->url()), {marker_});
}

TEST_F(MemoryTest, JwtSecretAndPrivateKeyAreGoneFromServerMemoryAfterDeletion) {
  v1::CreateIntegrationRequest request;
  request.set_integration_id("memory-jwt");
  v1::Integration* in = request.mutable_integration();
  in->set_auth_method(v1::AUTH_METHOD_JWT);
  in->set_client_id(kClientId);
  in->set_org_id("ORG1@AdobeOrg");
  in->set_technical_account_id(kTechnicalAccount);
  in->add_metascopes("ent_dataservices_sdk");
  in->set_ims_url(ims_->url());
  in->mutable_credentials()->add_client_secrets(marker_);
  in->mutable_credentials()->set_private_key_pem(keys_.private_key_pem);
  // A line of the key's base64 body: what a stray copy of the PEM would hold.
  std::vector<std::string> lines = absl::StrSplit(keys_.private_key_pem, '\n');
  ASSERT_GT(lines.size(), 3u);
  CreateMintDeleteAndScan(request, {marker_, lines[2]});
}

TEST_F(MemoryTest, ServerIsNotDumpableAndHasNoCoreLimit) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  EXPECT_THAT(StatusUids(broker_->pid()), HasSubstr(absl::StrCat(kUnprivileged)));
  EXPECT_EQ(ProcOwner(), 0u) << "/proc/PID of a dumpable process belongs to its user";
  std::string core = LimitLine(broker_->pid(), "Max core file size");
  EXPECT_THAT(core, ::testing::MatchesRegex("Max core file size +0 +0 +bytes *"));
}

TEST_F(MemoryTest, AllowCoreDumpsLeavesTheProcessDumpable) {
  // The opposite case shows that the owner of /proc/PID tells the two apart.
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--allow-core-dumps"}));
  EXPECT_EQ(ProcOwner(), kUnprivileged);
  EXPECT_THAT(LimitLine(broker_->pid(), "Max core file size"), HasSubstr("unlimited"));
}

}  // namespace
}  // namespace tokenbroker::testing
