#include "server/common/process_hardening.h"

#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "server/common/log.h"

namespace tokenbroker {
namespace {

absl::Status Failed(const char* call) {
  return absl::InternalError(std::string(call) + " failed: " + std::strerror(errno));
}

}  // namespace

absl::Status HardenProcess(bool allow_core_dumps) {
  if (!allow_core_dumps) {
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) return Failed("setrlimit(RLIMIT_CORE, 0)");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Failed("prctl(PR_SET_DUMPABLE, 0)");
  }
  // mallopt returns 1 on success. Another allocator (a sanitizer's, a
  // preloaded jemalloc) ignores it and returns 0: serving goes on, said once.
  if (mallopt(M_PERTURB, kHeapPerturbByte) != 1) {
    Log(LogLevel::kWarning,
        "heap scrubbing unavailable: the allocator is not glibc's (mallopt(M_PERTURB) refused); "
        "freed library buffers may keep copies of secrets");
  }
  return absl::OkStatus();
}

}  // namespace tokenbroker
