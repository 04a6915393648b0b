#!/usr/bin/env bash
# Regenerates the Go stubs in tokenbrokerv1/ from ../../proto with pinned generators.
#
# Idempotent: running it twice leaves `git diff` empty. The generated files are committed;
# CI runs this script and fails on any diff, so change the versions below only together with
# the regenerated code. The generators are installed with `go install` into .bin/ (ignored
# by git) when missing or at another version; protoc is Debian's protobuf-compiler (3.21),
# whose version is written into the generated headers.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.6        # google.golang.org/protobuf/cmd/protoc-gen-go
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2    # google.golang.org/grpc/cmd/protoc-gen-go-grpc

here="$(cd "$(dirname "$0")" && pwd)"
proto_root="$(cd "$here/../../proto" && pwd)"
bin="$here/.bin"
module="github.com/tokenbroker/tokenbroker/client/go"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# protoc and the well-known types (google/protobuf/*.proto) from Debian.
if ! command -v protoc >/dev/null || [ ! -f /usr/include/google/protobuf/timestamp.proto ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler libprotobuf-dev
fi

# The Go generators at the pinned versions.
install_tool() {  # name version package
  local have=""
  [ -x "$bin/$1" ] && have="$("$bin/$1" --version 2>/dev/null | awk '{print $NF}')"
  if [ "${have#v}" != "${2#v}" ]; then
    echo "generate.sh: installing $1 $2" >&2
    GOBIN="$bin" go install "$3@$2"
  fi
}
install_tool protoc-gen-go "$PROTOC_GEN_GO_VERSION" google.golang.org/protobuf/cmd/protoc-gen-go
install_tool protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" google.golang.org/grpc/cmd/protoc-gen-go-grpc

# Generate into a scratch directory, then replace tokenbrokerv1/ whole, so that a proto file
# removed upstream also disappears here.
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$proto_root"
PATH="$bin:$PATH" protoc \
  -I . -I /usr/include \
  --go_out="$out" --go_opt=module="$module" \
  --go-grpc_out="$out" --go-grpc_opt=module="$module" \
  tokenbroker/v1/*.proto
rm -rf "$here/tokenbrokerv1"
mv "$out/tokenbrokerv1" "$here/tokenbrokerv1"
echo "generate.sh: tokenbrokerv1/ regenerated (protoc $(protoc --version | awk '{print $2}'), protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION)"
