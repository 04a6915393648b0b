#!/usr/bin/env bash
# Runs the Java SDK's tests (JUnit 5 through Maven Surefire) against the real
# binaries in $TOKENBROKER_BIN_DIR (default: <repo>/build/bin).
#
#   client/java/test.sh
#
# Installs what is missing first: a JDK 17+, Maven and openssl (tools.sh) and
# the binaries (make build).
# The first run downloads the Maven dependencies into ~/.m2 (a few minutes);
# later runs are offline-quick. Exits non-zero when a test fails; ends with
# the Surefire totals, since `mvn -q` prints them only on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export TOKENBROKER_BIN_DIR="${TOKENBROKER_BIN_DIR:-$repo/build/bin}"
# Absolute: Maven runs the tests from client/java.
[[ "$TOKENBROKER_BIN_DIR" = /* ]] || TOKENBROKER_BIN_DIR="$PWD/$TOKENBROKER_BIN_DIR"

source "$here/tools.sh"
ensure_java_tools openssl

for bin in tokenbroker ims-emulator; do
  if [[ ! -x "$TOKENBROKER_BIN_DIR/$bin" ]]; then
    echo "test.sh: $TOKENBROKER_BIN_DIR/$bin missing: running make build"
    make -C "$repo" build
    break
  fi
done

cd "$here"
# Stale reports of renamed tests must not count.
rm -rf target/surefire-reports

status=0
mvn -B -q test 2>&1 | strip_colours || status=$?

# The totals, summed over Surefire's XML reports.
tests=0 failures=0 errors=0 skipped=0
shopt -s nullglob
for report in target/surefire-reports/TEST-*.xml; do
  header="$(grep -m1 '<testsuite ' "$report")"
  attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$header"; }
  tests=$((tests + $(attr tests))) failures=$((failures + $(attr failures)))
  errors=$((errors + $(attr errors))) skipped=$((skipped + $(attr skipped)))
done
echo "Tests run: $tests, Failures: $failures, Errors: $errors, Skipped: $skipped"
echo "java: $((tests - failures - errors - skipped)) passed, $((failures + errors)) failed, $skipped skipped"
if ((status == 0 && tests == 0)); then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
