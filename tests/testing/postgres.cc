#include "tests/testing/postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace tokenbroker::testing {
namespace {

// The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl.
std::string FindBinDir() {
  std::vector<std::string> candidates;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/initdb", ec) &&
        std::filesystem::exists(bin + "/pg_ctl", ec)) {
      candidates.push_back(bin);
    }
  }
  if (candidates.empty()) return "";
  std::sort(candidates.begin(), candidates.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;  // "9" < "15"
  });
  return candidates.back();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string RandomPassword() {
  static const char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::random_device rd;
  std::string out = "pw";
  for (int i = 0; i < 24; ++i) out.push_back(kAlphabet[rd() % (sizeof(kAlphabet) - 1)]);
  return out;
}

absl::Status Failed(const std::string& what, const CommandResult& r) {
  return absl::InternalError(
      absl::StrCat(what, " failed (exit ", r.exit_code, "): ", r.err, r.out));
}

}  // namespace

std::vector<std::string> PostgresServer::AsServerUser(std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {
      std::filesystem::exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser", "-u",
      "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bin_dir_ = FindBinDir();
  if (server->bin_dir_.empty()) {
    return absl::FailedPreconditionError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install the "
        "`postgresql` package (make deps)");
  }
  server->password_ = RandomPassword();
  const std::string& dir = server->dir_.path();
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no `postgres` user to run PostgreSQL as");
    }
    if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("chown ", dir, " to postgres failed"));
    }
  }
  WriteFile(server->dir_.File("pwfile"), server->password_ + "\n");
  std::filesystem::create_directories(server->dir_.File("socket"));
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    for (const char* name : {"pwfile", "socket"}) {
      if (chown(server->dir_.File(name).c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return absl::InternalError(absl::StrCat("chown ", name, " failed"));
      }
    }
  }
  CommandResult init = RunCommand(server->AsServerUser(
      {server->bin_dir_ + "/initdb", "-D", server->dir_.File("data"), "-U", server->user_,
       "--pwfile=" + server->dir_.File("pwfile"), "--auth-local=trust", "--auth-host=scram-sha-256",
       "-N", "-E", "UTF8", "--locale=C"}));
  if (init.exit_code != 0) return Failed("initdb", init);
  absl::Status started;
  for (int attempt = 0; attempt < 3; ++attempt) {
    server->port_ = FreePort();
    started = server->StartServer();
    if (started.ok()) break;
  }
  if (!started.ok()) return started;
  return server;
}

absl::StatusOr<PostgresServer*> PostgresServer::Shared() {
  static absl::StatusOr<std::unique_ptr<PostgresServer>>* shared =
      new absl::StatusOr<std::unique_ptr<PostgresServer>>(Start());
  static const bool cleanup_registered = [] {
    // Stop the server when the test process exits.
    std::atexit([] {
      if (shared->ok()) shared->value().reset();
    });
    return true;
  }();
  (void)cleanup_registered;
  if (!shared->ok()) return shared->status();
  return shared->value().get();
}

absl::Status PostgresServer::StartServer() {
  CommandResult r = RunCommand(AsServerUser(
      {bin_dir_ + "/pg_ctl", "-D", dir_.File("data"), "-l", dir_.File("server.log"), "-w", "-t",
       "30", "-o",
       absl::StrCat("-c listen_addresses=127.0.0.1 -p ", port_, " -k ", dir_.File("socket")),
       "start"}));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl start failed (exit ", r.exit_code, "): ", r.err,
                                            r.out, "\nserver log:\n", log()));
  }
  running_ = true;
  return absl::OkStatus();
}

PostgresServer::~PostgresServer() {
  if (running_) Kill().IgnoreError();
}

std::string PostgresServer::dsn(const std::string& database) const {
  return absl::StrCat("postgresql://", user_, ":", password_, "@127.0.0.1:", port_, "/", database);
}

absl::Status PostgresServer::CreateDatabase(const std::string& name) {
  return Psql("postgres", absl::StrCat("CREATE DATABASE ", name)).status();
}

absl::StatusOr<std::string> PostgresServer::CreateFreshDatabase() {
  std::string name = absl::StrCat("test_", getpid(), "_", next_database_++);
  absl::Status created = CreateDatabase(name);
  if (!created.ok()) return created;
  return name;
}

absl::StatusOr<std::string> PostgresServer::Psql(const std::string& database,
                                                 const std::string& sql) {
  CommandResult r = RunCommand(
      {bin_dir_ + "/psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", dsn(database), "-c", sql});
  if (r.exit_code != 0) return Failed("psql", r);
  return std::string(absl::StripTrailingAsciiWhitespace(r.out));
}

absl::StatusOr<std::string> PostgresServer::Dump(const std::string& database) {
  CommandResult r = RunCommand({bin_dir_ + "/pg_dump", "-d", dsn(database)});
  if (r.exit_code != 0) return Failed("pg_dump", r);
  return r.out;
}

absl::Status PostgresServer::Stop() {
  if (!running_) return absl::OkStatus();
  CommandResult r = RunCommand(AsServerUser(
      {bin_dir_ + "/pg_ctl", "-D", dir_.File("data"), "-m", "fast", "-w", "-t", "30", "stop"}));
  if (r.exit_code != 0) return Failed("pg_ctl stop", r);
  running_ = false;
  return absl::OkStatus();
}

absl::Status PostgresServer::Kill() {
  if (!running_) return absl::OkStatus();
  CommandResult r = RunCommand(AsServerUser({bin_dir_ + "/pg_ctl", "-D", dir_.File("data"), "-m",
                                             "immediate", "-w", "-t", "30", "stop"}));
  if (r.exit_code != 0) return Failed("pg_ctl stop -m immediate", r);
  running_ = false;
  return absl::OkStatus();
}

absl::Status PostgresServer::Restart() {
  if (running_) {
    absl::Status stopped = Stop();
    if (!stopped.ok()) return stopped;
  }
  return StartServer();
}

absl::Status PostgresServer::EnableTls(const std::string& certificate_pem,
                                       const std::string& private_key_pem) {
  const std::string cert = dir_.File("data/server.crt"), key = dir_.File("data/server.key");
  WriteFile(cert, certificate_pem);
  WriteFile(key, private_key_pem);
  chmod(key.c_str(), 0600);  // the server refuses a key others can read
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr || chown(cert.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
        chown(key.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("chown of the TLS files to postgres failed");
    }
  }
  std::string conf = ReadFile(dir_.File("data/postgresql.conf"));
  WriteFile(dir_.File("data/postgresql.conf"),
            conf + "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
  return Restart();
}

std::string PostgresServer::log() const { return ReadFile(dir_.File("server.log")); }

}  // namespace tokenbroker::testing
