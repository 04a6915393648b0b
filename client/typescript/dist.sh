#!/usr/bin/env bash
# dist.sh OUT_DIR: builds the npm tarball of @tokenbroker/client into OUT_DIR
# (absolute or relative; created if missing) as tokenbroker-client-<version>.tgz.
#
# Works on a copy in a temporary directory, so the source tree is never
# written to. Compiles the committed generated code (src/gen) with the
# TypeScript version pinned in package-lock.json, after installing only what
# compiling needs: typescript, @types/node and the runtime dependencies, all
# at their locked versions. The stub generator (buf, ts-proto) is neither
# installed nor run. The packed package.json keeps no scripts and no
# devDependencies: they name files the tarball does not ship.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

# shellcheck source=scripts/node.sh
. "$here/scripts/node.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$here/src" "$work/src"
cp "$here"/{package.json,package-lock.json,tsconfig.base.json,tsconfig.esm.json,tsconfig.cjs.json,README.md} "$work/"
cp "$repo/LICENSE" "$work/LICENSE"
cd "$work"

# The compile-time devDependencies only; npm install then keeps every other
# version the lock file pins and prunes the generator from the lock.
node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const keep = ["typescript", "@types/node"];
  pkg.devDependencies = Object.fromEntries(keep.map((k) => [k, pkg.devDependencies[k]]));
  delete pkg.scripts;
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
'
npm install --ignore-scripts --no-audit --no-fund --loglevel=error
for tool in @bufbuild/buf ts-proto; do
  [ ! -e "node_modules/$tool" ] || { echo "dist.sh: $tool was installed, it must not be" >&2; exit 1; }
done

node_modules/.bin/tsc -b tsconfig.esm.json tsconfig.cjs.json
printf '{"type": "commonjs"}\n' >dist/cjs/package.json

npm pkg delete devDependencies
npm pack --ignore-scripts --silent --pack-destination "$out" >/dev/null
tarball="$out/tokenbroker-client-$(node -p 'require("./package.json").version').tgz"
[ -f "$tarball" ] || { echo "dist.sh: npm pack did not write $tarball" >&2; exit 1; }
echo "dist.sh: $tarball"
