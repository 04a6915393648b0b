#!/usr/bin/env bash
# Regenerates the committed gRPC/protobuf Java sources in src/main/generated
# from proto/tokenbroker/v1/*.proto, with pinned generators from Maven Central.
#
#   client/java/generate.sh          # idempotent; CI runs it and fails on `git diff`
#
# The generators are fetched with Maven (into ~/.m2, then copied to
# target/tools) the first time; later runs need no network. Their versions
# match the runtime versions pinned in pom.xml:
#   protoc                 com.google.protobuf:protoc:$PROTOC_VERSION
#   protoc-gen-grpc-java   io.grpc:protoc-gen-grpc-java:$GRPC_JAVA_VERSION
# The well-known types (google/protobuf/*.proto) come from the protobuf-java
# jar of the same version. google/rpc/* is NOT generated here: the SDK uses
# com.google.api.grpc:proto-google-common-protos.
set -euo pipefail

PROTOC_VERSION=3.25.8
GRPC_JAVA_VERSION=1.79.0
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools="$here/target/tools"
out="$here/src/main/generated"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) classifier=linux-x86_64 ;;
  Linux-aarch64 | Linux-arm64) classifier=linux-aarch_64 ;;
  Darwin-x86_64) classifier=osx-x86_64 ;;
  Darwin-arm64) classifier=osx-aarch_64 ;;
  *) echo "generate.sh: no prebuilt protoc for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

command -v mvn >/dev/null || { echo "generate.sh: mvn not found (run client/java/test.sh once, or apt-get install maven)" >&2; exit 1; }

protoc="$tools/protoc-$PROTOC_VERSION-$classifier.exe"
plugin="$tools/protoc-gen-grpc-java-$GRPC_JAVA_VERSION-$classifier.exe"
include="$tools/include-$PROTOC_VERSION"

# Maven runs in an empty folder so that it does not read this module's pom;
# its output is shown only when it fails (Maven 3.8's -q still prints colour
# resets).
mvn_tool() {
  local log
  mkdir -p "$tools/mvn"
  if ! log="$(cd "$tools/mvn" && mvn -B -q "$@" 2>&1)"; then
    printf '%s\n' "$log" >&2
    echo "generate.sh: mvn $* failed" >&2
    return 1
  fi
}

if [[ ! -x "$protoc" ]]; then
  mvn_tool "$DEPENDENCY_PLUGIN:copy" -Dartifact="com.google.protobuf:protoc:$PROTOC_VERSION:exe:$classifier" \
    -DoutputDirectory="$tools"
  chmod +x "$protoc"
fi
if [[ ! -x "$plugin" ]]; then
  mvn_tool "$DEPENDENCY_PLUGIN:copy" -Dartifact="io.grpc:protoc-gen-grpc-java:$GRPC_JAVA_VERSION:exe:$classifier" \
    -DoutputDirectory="$tools"
  chmod +x "$plugin"
fi
if [[ ! -f "$include/google/protobuf/timestamp.proto" ]]; then
  mvn_tool "$DEPENDENCY_PLUGIN:unpack" -Dartifact="com.google.protobuf:protobuf-java:$PROTOC_VERSION:jar" \
    -DoutputDirectory="$include" -Dmdep.unpack.includes='google/protobuf/*.proto'
fi

# Sorted, relative file names: the output does not depend on the caller's cwd
# or locale.
cd "$repo/proto"
mapfile -t protos < <(LC_ALL=C ls tokenbroker/v1/*.proto)

rm -rf "$out"
mkdir -p "$out"
"$protoc" -I. -I"$include" \
  --plugin=protoc-gen-grpc-java="$plugin" \
  --java_out="$out" \
  --grpc-java_out="$out" \
  "${protos[@]}"

echo "generate.sh: wrote $(find "$out" -name '*.java' | wc -l) files to ${out#"$repo"/} (protoc $PROTOC_VERSION, grpc-java $GRPC_JAVA_VERSION)"
