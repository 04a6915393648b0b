// Keeps the server's secrets out of core dumps, out of other processes of the
// same user, and out of freed heap memory.
//
// Design note: the project's own copies of secrets live in SecretString,
// which wipes them (secret.h). Libraries we do not own also copy them: gRPC's
// read buffers hold the serialized CreateIntegration request, libcurl copies
// the form body into its request buffer, protobuf and OpenSSL allocate their
// own strings. Those are freed, never wiped, so glibc's M_PERTURB fills every
// chunk that goes back to the allocator's bins with a fixed byte (measured
// cost: README "Secrets in memory"). What it cannot reach: chunks of up to
// 1 KiB that glibc's per-thread cache keeps (7 per size) are not perturbed,
// which is why our own small copies must still be SecretString, and a buffer
// a library keeps alive (the unread tail of a gRPC connection's read buffer)
// holds its bytes until it is reused or the connection closes. Root can read
// the process's memory: this narrows what a core dump, a same-user process or
// a reused buffer can disclose; it is not a sandbox.
#ifndef TOKENBROKER_SERVER_COMMON_PROCESS_HARDENING_H_
#define TOKENBROKER_SERVER_COMMON_PROCESS_HARDENING_H_

#include "absl/status/status.h"

namespace tokenbroker {

// The byte M_PERTURB writes into freed heap chunks (and its complement into
// new ones): not 0, so that a read of freed memory is not mistaken for a
// zeroed structure.
inline constexpr int kHeapPerturbByte = 0xa5;

// Sets RLIMIT_CORE to 0 (soft and hard) and clears PR_SET_DUMPABLE (no core
// dump; no ptrace or /proc/PID/mem access by other processes of the same
// user; /proc/PID files owned by root), unless `allow_core_dumps`
// (--allow-core-dumps, for debugging); turns on M_PERTURB in every case
// (logging a warning, not failing, when the allocator is not glibc's, as
// under AddressSanitizer).
// Call in main after the flags are parsed (they read no file) and before
// anything else: no thread started, no secret read. Returns INTERNAL naming
// the call that failed; the process must not go on to serve secrets then.
absl::Status HardenProcess(bool allow_core_dumps);

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_PROCESS_HARDENING_H_
