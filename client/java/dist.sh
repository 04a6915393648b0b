#!/usr/bin/env bash
# Builds the Java SDK's Maven artifacts into OUT_DIR (absolute; created if missing):
#
#   tokenbroker-client-VERSION.jar          the classes (generated stubs included)
#   tokenbroker-client-VERSION-sources.jar  their sources (maven-source-plugin)
#   tokenbroker-client-VERSION.pom          the POM, with the Apache-2.0 <licenses>
#
#   client/java/dist.sh /abs/out/dir
#
# Builds a copy of pom.xml and src/main in a temporary folder, so nothing is written into the
# source tree. Installs a JDK 17+ and Maven if missing (tools.sh); the tests are not run here
# (test.sh runs them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: dist.sh OUT_DIR (absolute)}"
[[ "$out" = /* ]] || { echo "dist.sh: OUT_DIR must be absolute: $out" >&2; exit 2; }

source "$here/tools.sh"
ensure_java_tools

build="$(mktemp -d -t tokenbroker-java-dist.XXXXXX)"
trap 'rm -rf "$build"' EXIT
mkdir -p "$build/src" "$out"
cp "$here/pom.xml" "$build/"
cp -r "$here/src/main" "$build/src/"

mvn -B -q -f "$build/pom.xml" -DskipTests package 2>&1 | strip_colours
# tokenbroker-client-VERSION, from the sources jar's name.
sources=("$build"/target/tokenbroker-client-*-sources.jar)
name="$(basename "${sources[0]}" -sources.jar)"

grep -q '<name>Apache-2.0</name>' "$build/pom.xml" || {
  echo "dist.sh: pom.xml carries no Apache-2.0 license" >&2
  exit 1
}
cp "$build/target/$name.jar" "$build/target/$name-sources.jar" "$out/"
cp "$build/pom.xml" "$out/$name.pom"
echo "dist.sh: $out/$name.jar, $name-sources.jar, $name.pom"
