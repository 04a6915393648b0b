#!/usr/bin/env bash
# Builds the Go SDK's distributable: OUT_DIR/tokenbroker-go-<version>.zip, the module
# (client/go: go.mod, go.sum, tokenbroker/, tokenbrokerv1/, README.md) with the repository's
# LICENSE, under one top folder tokenbroker-go-<version>/. The tests and the developer
# scripts stay out: they need the repository (its server binaries and conformance scenarios). A user unpacks it and points a
# `replace` directive at that folder (README "Install"). <version> is tokenbroker.Version.
#
# Usage: client/go/dist.sh OUT_DIR (absolute or relative; created when missing). Writes
# nothing into the source tree: the module is staged in a temporary directory.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

version="$(sed -n 's/^const Version = "\(.*\)"$/\1/p' "$here/tokenbroker/client.go")"
if [ -z "$version" ]; then
  echo "dist.sh: no Version in tokenbroker/client.go" >&2
  exit 1
fi
name="tokenbroker-go-$version"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
tar -C "$here" -cf - go.mod go.sum README.md tokenbroker tokenbrokerv1 |
  tar -C "$stage/$name" -xf - --exclude='*_test.go'
cp "$repo/LICENSE" "$stage/$name/LICENSE"
rm -f "$out/$name.zip"
(cd "$stage" && python3 -m zipfile -c "$out/$name.zip" "$name/")
echo "dist.sh: $out/$name.zip"
