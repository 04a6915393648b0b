#!/usr/bin/env bash
# Builds the C++ SDK's source archive: OUT_DIR/tokenbroker-client-cpp-<version>.tar.gz, a
# self-contained CMake project (README.md "Install and use"): client/cpp's CMakeLists.txt,
# cmake/, include/, src/ and bench/, the consumer project of tests/consumer/ as example/, the
# protos it generates its C++ from (proto/tokenbroker/v1, proto/google/rpc), LICENSE and a
# VERSION file. The SDK needs nothing of client/common. Writes nothing into the source tree;
# the archive is reproducible (sorted, owner 0, mtime of the last commit, gzip -n).
#
# Usage: client/cpp/dist.sh OUT_DIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
version="$(sed -n 's/^project(tokenbroker VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")"
[ -n "$version" ] || { echo "dist.sh: no version in $repo/CMakeLists.txt" >&2; exit 1; }
name="tokenbroker-client-cpp-$version"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/proto/tokenbroker/v1" "$root/proto/google/rpc"
cp -R "$here/CMakeLists.txt" "$here/README.md" "$here/cmake" "$here/include" "$here/src" \
  "$here/bench" "$root/"
cp -R "$here/tests/consumer" "$root/example"
cp "$repo"/proto/tokenbroker/v1/*.proto "$root/proto/tokenbroker/v1/"
cp "$repo/proto/google/rpc/status.proto" "$repo/proto/google/rpc/error_details.proto" \
  "$root/proto/google/rpc/"
cp "$repo/LICENSE" "$root/LICENSE"
echo "$version" > "$root/VERSION"

mtime="$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -cf - "$name" \
  | gzip -n -9 > "$out/$name.tar.gz"
echo "$out/$name.tar.gz"
