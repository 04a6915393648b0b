#!/usr/bin/env bash
# Installs the Python SDK from OUT_DIR (made by dist.sh) the way its README says,
# each artifact into its own fresh virtual environment in a temporary directory,
# and runs a small consumer program there against a real tokenbroker and
# ims-emulator ($TOKENBROKER_BIN_DIR, default <repo>/build/bin) on loopback ports:
#
#   pip install OUT_DIR/tokenbroker-<version>-py3-none-any.whl
#   pip install OUT_DIR/tokenbroker-<version>.tar.gz
#
# The consumer runs outside the source tree, so it can only import the installed
# package. Fails when anything is off; the servers are stopped by a trap.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
out="$(cd "$1" && pwd)"
shopt -s nullglob
wheels=("$out"/tokenbroker-[0-9]*.whl)
sdists=("$out"/tokenbroker-[0-9]*.tar.gz)
shopt -u nullglob
if [ ${#wheels[@]} -ne 1 ] || [ ${#sdists[@]} -ne 1 ]; then
  echo "dist_test.sh: want one tokenbroker wheel and one sdist in $out: run dist.sh" >&2
  exit 1
fi

tmp="$(mktemp -d)"
# shellcheck source=../conformance/stack.sh
. "$repo/client/conformance/stack.sh"
trap 'stack_stop; rm -rf "$tmp"' EXIT
stack_start "$tmp/stack" dist-client dist-secret
broker_port="$BROKER_PORT"

# The consumer: registers an integration, then gets its token and headers.
mkdir -p "$tmp/consumer"
cat >"$tmp/consumer/consumer.py" <<'PY'
import sys

import tokenbroker

integration_id = sys.argv[1]
# A broker on loopback without TLS: plaintext must be asked for.
with tokenbroker.Client(plaintext=True) as client:  # target: $TOKENBROKER_SERVER
    client.create_integration(
        integration_id,
        tokenbroker.Integration(
            auth_method=tokenbroker.AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
            client_id="dist-client",
            org_id="ORG@AdobeOrg",
            scopes=["openid", "AdobeID"],
            credentials=tokenbroker.Credentials(client_secrets=["dist-secret"]),
        ),
    )
    token = client.get_access_token(integration_id)
    headers = client.get_request_headers(integration_id)
    assert token.access_token and headers["Authorization"] == token.authorization
    assert token.remaining() > 3600, token.remaining()
    print(f"tokenbroker {tokenbroker.__version__} from {tokenbroker.__file__}: "
          f"a token of {len(token.access_token)} characters, valid {token.remaining():.0f} s")
PY

for kind in wheel sdist; do
  if [ "$kind" = wheel ]; then artifact="${wheels[0]}"; else artifact="${sdists[0]}"; fi
  venv="$tmp/venv-$kind"
  make_venv "$venv"
  echo "dist_test.sh: pip install $(basename "$artifact")" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$artifact"
  (cd "$tmp/consumer" && TOKENBROKER_SERVER="127.0.0.1:$broker_port" \
    "$venv/bin/python" -I consumer.py "from-$kind")
  # The installed package, not a source tree, answered.
  case "$("$venv/bin/python" -I -c 'import tokenbroker; print(tokenbroker.__file__)')" in
    "$venv"/*) ;;
    *) echo "dist_test.sh: tokenbroker was not imported from $venv" >&2; exit 1 ;;
  esac
done
echo "dist_test.sh: OK (wheel and sdist)"
