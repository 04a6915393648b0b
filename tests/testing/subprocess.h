// Starts the project's binaries (ims-emulator, tokenbroker, tokenctl) for
// integration tests, on free loopback ports, and stops them.
#ifndef TOKENBROKER_TESTS_TESTING_SUBPROCESS_H_
#define TOKENBROKER_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tokenbroker::testing {

// build/bin, from $TOKENBROKER_BIN_DIR (set by CTest) or next to the test.
std::string BinDir();

// A fresh private temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// A child process. Stdout and stderr go to `log_path` (appended).
// The destructor sends SIGTERM, waits up to 5 s, then SIGKILL.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::string& log_path,
      const std::vector<std::string>& env = {});
  ~Subprocess();
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the exit; returns the wait status.
  int Stop(int signal = 15);
  bool Running();

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool exited_ = false;
  int wait_status_ = 0;
};

// Waits until `path` exists and holds a port number; returns it.
absl::StatusOr<int> WaitForPortFile(const std::string& path, absl::Duration timeout,
                                    Subprocess* process);

// Runs a command to completion with `stdin_data`; returns exit code and stdout.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "");

}  // namespace tokenbroker::testing

#endif  // TOKENBROKER_TESTS_TESTING_SUBPROCESS_H_
