#!/usr/bin/env bash
# Regenerates src/gen/ (committed) from ../../proto with the generator versions
# pinned in package-lock.json: ts-proto (protoc plugin) driven by buf's
# built-in compiler (@bufbuild/buf from npm; local plugin, no remote plugins).
# Idempotent: same protos + same lock file => byte-identical output.
set -euo pipefail
cd "$(dirname "$0")"

# Install the pinned tools when missing or not at the locked version.
locked() { node -p "require('./package-lock.json').packages['node_modules/$1'].version"; }
installed() { node -p "try{require('./node_modules/$1/package.json').version}catch{''}"; }
for pkg in ts-proto @bufbuild/buf; do
  if [ "$(installed "$pkg")" != "$(locked "$pkg")" ]; then
    # --ignore-scripts: no `prepare` build (the sources may not compile
    # until they are regenerated); buf's binary comes as an optional dependency.
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    break
  fi
done

# buf would pick up the repository's buf.yaml, whose module excludes
# proto/google (the vendored google.rpc subset we need to decode error
# details), so compile a staged copy that has a bare buf.yaml. proto/envoy
# (the server's ext_authz API) is not part of the SDK and stays out.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
(cd ../../proto && find . -path ./envoy -prune -o -name '*.proto' -exec cp --parents {} "$stage/" \;)
printf 'version: v2\n' >"$stage/buf.yaml"

rm -rf src/gen
node_modules/.bin/buf generate "$stage" --template buf.gen.yaml
echo "generated: $(find src/gen -name '*.ts' | sort | tr '\n' ' ')"
