#ifndef TOKENBROKER_SERVER_COMMON_FILE_SIGNATURE_H_
#define TOKENBROKER_SERVER_COMMON_FILE_SIGNATURE_H_

#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace tokenbroker {

// Inode, size and modification time of `path` ("" if it cannot be stat'ed):
// changes whenever the file is rewritten or replaced (e.g. a Kubernetes
// Secret volume swapping its ..data link), for files watched for reloads.
inline std::string FileSignature(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_ino, ":", st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
}

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_COMMON_FILE_SIGNATURE_H_
