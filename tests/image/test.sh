#!/usr/bin/env bash
# make test-image: builds the container image with podman (no Docker daemon
# needed) and runs it the way Kubernetes would: non-root, read-only root
# filesystem, a tmpfs on /tmp, the keyring and the IMS CA mounted read-only,
# the SQLite store on a /data volume. On the host: ims-emulator (the IMS the
# container talks to) and tokenctl (the client). Checks health, an
# integration and a token end to end, a restart on the same /data, and a
# clean exit on SIGTERM within the grace period.
#
#   tests/image/test.sh [BIN_DIR]     (default build/bin; run as root)
#
# Needs root (rootful podman). Installs podman, runc, catatonit and debootstrap with apt
# when missing. The base image debian:bookworm-slim is made once with
# debootstrap (no registry access needed) and reused by later runs, as are
# the build layers and the ccache cache mount. Environment:
#   TOKENBROKER_IMAGE   the tag to build (default tokenbroker:test)
#   KEEP_WORK=1         keep the temp dir (logs, data) for debugging
#   BUILD_ONLY=1        build and check the image, do not run it
#   DEBIAN_MIRROR       for debootstrap and the base image (default http://deb.debian.org/debian)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "${1:-$ROOT/build/bin}" && pwd)
IMAGE=${TOKENBROKER_IMAGE:-tokenbroker:test}
BASE_IMAGE=debian:bookworm-slim
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-${DEBIAN_MIRROR%/debian}/debian-security}
# Per-build-dir podman settings: containers.conf (and storage.conf if overlay
# does not work here).
STATE_DIR=$(dirname "$BIN")/image
CONTAINER=tokenbroker-image-test-$$
GRACE=30

T0=$(date +%s.%N)
declare -a TIMINGS=()
PHASE_START=$T0
step() {
  printf '\n\033[1m== %s\033[0m\n' "$*"
}
# Records how long the phase since the previous `lap` took.
lap() {
  local now
  now=$(date +%s.%N)
  TIMINGS+=("$(awk -v a="$PHASE_START" -v b="$now" -v n="$1" 'BEGIN{printf "%-28s %7.1fs", n, b-a}')")
  PHASE_START=$now
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then exec sudo -E "$0" "$BIN"; fi
  fail "needs root (rootful podman): run as root or with passwordless sudo"
fi
if [ -z "${BUILD_ONLY:-}" ]; then
  for binary in tokenbroker tokenctl ims-emulator; do
    [ -x "$BIN/$binary" ] || fail "missing $BIN/$binary: run 'make build' first"
  done
fi

WORK=$(mktemp -d /tmp/tokenbroker-image-XXXXXX)
chmod 711 "$WORK"
IMS_PID=
cleanup() {
  local rc=$?
  if [ -n "${CONTAINER_STARTED:-}" ]; then
    if [ $rc != 0 ]; then
      echo "--- container log (last 40 lines)" >&2
      podman logs "$CONTAINER" 2>&1 | tail -40 >&2 || true
    fi
    podman rm -f -t 0 "$CONTAINER" >/dev/null 2>&1 || true
  fi
  if [ -n "$IMS_PID" ]; then
    kill "$IMS_PID" 2>/dev/null || true
    wait "$IMS_PID" 2>/dev/null || true
  fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  [ $rc = 0 ] || echo "image test FAILED (exit $rc)" >&2
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
step "1. podman"
missing=
for tool in podman runc debootstrap curl; do command -v "$tool" >/dev/null || missing+=" $tool"; done
# podman run --init needs catatonit, which podman only recommends.
[ -x /usr/libexec/podman/catatonit ] || missing+=" catatonit"
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  # shellcheck disable=SC2086  # word splitting wanted
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
mkdir -p "$STATE_DIR"
# This VM's defaults do not work for podman: crun is not installed, and the
# default ulimits exceed the hard limits, so pin runc and the host's limits.
cat >"$STATE_DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$(cat /proc/sys/kernel/pid_max):$(cat /proc/sys/kernel/pid_max)"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$STATE_DIR/containers.conf
# overlay when the kernel lets us mount one (fast, shares layers), else vfs
# (copies every layer, always works) in a store of its own.
# Probed where podman keeps its store, which may be on another filesystem.
mkdir -p /var/lib/containers
probe=$(mktemp -d /var/lib/containers/overlay-probe.XXXXXX)
mkdir -p "$probe"/{lower,upper,work,merged}
if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
  "$probe/merged" 2>/dev/null; then
  umount "$probe/merged"
  unset CONTAINERS_STORAGE_CONF
else
  cat >"$STATE_DIR/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "/run/containers/storage-vfs"
graphroot = "/var/lib/containers/storage-vfs"
EOF
  export CONTAINERS_STORAGE_CONF=$STATE_DIR/storage.conf
fi
rm -rf "$probe"
podman --version
echo "storage driver: $(podman info --format '{{.Store.GraphDriverName}}'), runtime: $(podman info --format '{{.Host.OCIRuntime.Name}}')"
lap "podman setup"

# ---------------------------------------------------------------------------
step "2. Base image $BASE_IMAGE"
if podman image exists "$BASE_IMAGE"; then
  echo "present: reused"
else
  # A minimal Debian 12 made locally, trimmed as the official -slim image is
  # (no docs, man pages or apt lists), so that no registry is needed.
  rootfs=$STATE_DIR/rootfs
  rm -rf "$rootfs"
  echo "debootstrap --variant=minbase bookworm ($DEBIAN_MIRROR)"
  debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  # The official image's sources: point releases and security updates too.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
    "$rootfs"/var/log/apt/*
  tar -C "$rootfs" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  echo "imported $BASE_IMAGE"
fi
lap "base image"

# ---------------------------------------------------------------------------
step "3. Build $IMAGE"
# No --build-arg REVISION: buildah 1.28 reuses a cached LABEL step whose ARG
# value changed, so the label would be stale anyway (docker does not).
podman build --isolation chroot --pull=never --layers -t "$IMAGE" \
  -f "$ROOT/Dockerfile" "$ROOT" >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log" >&2; fail "podman build"; }
grep -E '^\[[0-9]/[0-9]\] (STEP|COMMIT)|Using cache|Hits:|Misses:' "$WORK/build.log" | cut -c1-100 || true
lap "image build"

# ---------------------------------------------------------------------------
step "4. Check the image"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "10001:10001" ] || fail "image user is '$user', want 10001:10001"
entrypoint=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")
[ "$entrypoint" = '["/usr/local/bin/tokenbroker"]' ] || fail "entrypoint is $entrypoint"
uid=$(podman run --rm --init --network=none --entrypoint /usr/bin/id "$IMAGE" -u)
[ "$uid" = 10001 ] || fail "runs as uid $uid, want 10001"
found=$(podman run --rm --network=none --entrypoint /bin/sh "$IMAGE" -c \
  'for t in gcc g++ cc c++ clang cpp ld as cmake make; do command -v $t; done;
   ls -d /usr/include/grpcpp /usr/include/google /usr/include/absl /usr/include/openssl 2>/dev/null;
   true')
[ -z "$found" ] || fail "the runtime image has build tools or headers: $(echo $found)"
podman run --rm --network=none --entrypoint /usr/local/bin/tokenctl "$IMAGE" version
size_bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(awk -v b="$size_bytes" 'BEGIN{printf "%.1f", b/1e6}')
echo "uid 10001, no compiler, no headers; image size ${size_mb} MB"
lap "image checks"
if [ -n "${BUILD_ONLY:-}" ]; then
  printf '  %s\n' "${TIMINGS[@]}"
  exit 0
fi

# ---------------------------------------------------------------------------
step "5. ims-emulator on the host, a keyring, a /data directory"
SECRET=$(openssl rand -hex 16)
printf '%s\n' "$SECRET" >"$WORK/secret"
chmod 600 "$WORK/secret"
cat >"$WORK/clients.json" <<JSON
{"clients": [{"client_id": "image-test-client", "client_secrets": ["$SECRET"],
  "org_id": "IMAGE0123456789@AdobeOrg", "scopes": ["openid", "AdobeID"]}]}
JSON
"$BIN/ims-emulator" --listen=127.0.0.1:0 --port-file="$WORK/ims.port" \
  --cert-out="$WORK/ims-ca.pem" --clients="$WORK/clients.json" >"$WORK/ims.log" 2>&1 &
IMS_PID=$!
for _ in $(seq 1 200); do [ -s "$WORK/ims.port" ] && break; sleep 0.05; done
[ -s "$WORK/ims.port" ] || { cat "$WORK/ims.log" >&2; fail "ims-emulator did not start"; }
IMS_PORT=$(cat "$WORK/ims.port")
echo "ims-emulator at https://127.0.0.1:$IMS_PORT"
"$BIN/tokenbroker" keyring create --kek-file="$WORK/keyring.json" >/dev/null
# As a Kubernetes Secret mounted for the pod's user would be.
chown 10001:10001 "$WORK/keyring.json"
chmod 400 "$WORK/keyring.json"
chmod 644 "$WORK/ims-ca.pem"
mkdir "$WORK/data"
chown 10001:10001 "$WORK/data"
chmod 700 "$WORK/data"
lap "emulator + keyring"

# Starts the container in the background: --listen=127.0.0.1:0 on the host
# network, and the port it got is written to /data/broker.port.
start_container() {
  rm -f "$WORK/data/broker.port"
  podman run -d --name "$CONTAINER" --init --network=host \
    --read-only --read-only-tmpfs=false --tmpfs /tmp \
    -v "$WORK/keyring.json:/etc/tokenbroker/keyring.json:ro" \
    -v "$WORK/ims-ca.pem:/etc/tokenbroker/ims-ca.pem:ro" \
    -v "$WORK/data:/data" \
    "$IMAGE" --listen=127.0.0.1:0 --port-file=/data/broker.port \
    --store=sqlite:/data/tokenbroker.db --kek-file=/etc/tokenbroker/keyring.json \
    --ims-url="https://127.0.0.1:$IMS_PORT" --ims-ca-file=/etc/tokenbroker/ims-ca.pem >/dev/null
  CONTAINER_STARTED=1
}

# Waits until `tokenctl health` (from the host) says SERVING.
wait_serving() {
  local deadline=$((SECONDS + 60))
  while [ ! -s "$WORK/data/broker.port" ]; do
    [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" = true ] ||
      fail "the container exited before serving"
    [ $SECONDS -lt $deadline ] || fail "no port file after 60s"
    sleep 0.05
  done
  SERVER=127.0.0.1:$(cat "$WORK/data/broker.port")
  until health=$("$BIN/tokenctl" --server="$SERVER" --plaintext --timeout=2s health 2>/dev/null); do
    [ $SECONDS -lt $deadline ] || fail "not SERVING after 60s (last: ${health:-no answer})"
    sleep 0.1
  done
  [ "$health" = SERVING ] || fail "health: $health"
}

# ---------------------------------------------------------------------------
step "6. Run the container (non-root, read-only root filesystem)"
start_container
wait_serving
echo "tokenctl --server=$SERVER --plaintext health: $health"
lap "container start to SERVING"

step "7. An integration and a token through the container"
"$BIN/tokenctl" --server="$SERVER" --plaintext integrations create image-test --auth=oauth-s2s \
  --client-id=image-test-client --client-secret-file="$WORK/secret" \
  --org-id=IMAGE0123456789@AdobeOrg --scopes=openid,AdobeID >/dev/null
TOKEN=$("$BIN/tokenctl" --server="$SERVER" --plaintext token get image-test)
# The emulator's tokens are JWTs naming the client; and it counted one exchange.
payload=$(cut -d. -f2 <<<"$TOKEN" | tr '_-' '/+')
while [ $((${#payload} % 4)) != 0 ]; do payload+='='; done
claims=$(base64 -d <<<"$payload" 2>/dev/null) || fail "the token is not a JWT"
grep -q '"client_id":"image-test-client"' <<<"$claims" || fail "not the emulator's token: $claims"
stats=$(curl -sf --cacert "$WORK/ims-ca.pem" "https://127.0.0.1:$IMS_PORT/emulator/stats")
grep -q '"image-test-client":1' <<<"$stats" || fail "emulator stats: $stats"
echo "token from the emulator (client_id image-test-client, 1 exchange); fingerprint $(
  printf '%s' "$TOKEN" | sha256sum | cut -c1-16)"
[ -s "$WORK/data/tokenbroker.db" ] || fail "no /data/tokenbroker.db"
lap "integration + token"

step "8. SIGTERM: podman stop -t $GRACE"
stop_start=$(date +%s.%N)
podman stop -t "$GRACE" "$CONTAINER" >/dev/null
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
stop_s=$(awk -v a="$stop_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
[ "$exit_code" = 0 ] || fail "exit code $exit_code after SIGTERM"
awk -v s="$stop_s" -v g="$GRACE" 'BEGIN{exit !(s < g)}' ||
  fail "stopping took ${stop_s}s: SIGKILLed after the grace"
echo "exited 0 after ${stop_s}s"
podman rm "$CONTAINER" >/dev/null
CONTAINER_STARTED=
lap "SIGTERM to exit"

step "9. Restart on the same /data: the integration persisted"
start_container
wait_serving
"$BIN/tokenctl" --server="$SERVER" --plaintext integrations get image-test >/dev/null ||
  fail "the integration did not survive a restart"
podman stop -t "$GRACE" "$CONTAINER" >/dev/null
echo "integrations/image-test is still there"
lap "restart + persisted"

# ---------------------------------------------------------------------------
step "Summary"
echo "image $IMAGE: ${size_mb} MB, user 10001, read-only root filesystem: OK"
printf '  %s\n' "${TIMINGS[@]}"
awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "  %-28s %7.1fs\n", "total", b-a}'
echo "image test passed"
