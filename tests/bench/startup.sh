#!/usr/bin/env bash
# make bench-startup: start-up time and memory of tokenbroker over an
# encrypted SQLite store holding many integrations. A benchmark, not a timed
# test: it prints figures and how they compare with the targets of "credentials
# encrypted at rest" (serving within 5 s with 100,000 integrations; under
# 4 KiB of memory per integration beyond its token) and exits 0 unless
# something broke (BENCH_STRICT=1: exit 3 when a target is missed).
#
#   tests/bench/startup.sh [BIN_DIR]      (default build/bin)
#   BENCH_INTEGRATIONS  integrations in the store (100000)
#   BENCH_TOUCH         K, integrations whose tokens are asked for per step (10000)
#   BENCH_TOUCH_ALL     1: afterwards ask for every remaining integration too (1)
#   BENCH_STARTS        start-ups measured per configuration; medians are reported (3)
#   BENCH_FILL_THREADS  writer threads of bench-fill-store (2)
#   BENCH_CONCURRENCY   calls in flight of bench-touch (32)
#   BENCH_KEEP          1: keep the work directory (database, logs) for inspection
#
# What it does, all on loopback, every process it starts killed on exit:
#  1. a keyring (tokenbroker keyring create), an ims-emulator with no clients
#     (any exchange the broker attempted would show in its counters), and two
#     stores filled through SqliteCredentialStore by bench-fill-store: an empty
#     one (schema only) and one with N integrations, each with a persisted
#     token (~1 KB, expiring in 24 h) so that no IMS exchange is ever needed;
#  2. start-up to serving: the wall time from exec of tokenbroker to the first
#     grpc.health.v1 Check answered SERVING (bench-health-probe, polling every
#     10 ms on a fresh connection), and VmRSS/VmHWM right then; for the empty
#     store, the full store with its file evicted from the page cache (cold),
#     and the full store with the file cached (warm);
#  3. memory per integration: on the last warm broker, GetAccessToken for one
#     integration K times (warms gRPC's own buffers), then for K distinct ones,
#     then K more, then (BENCH_TOUCH_ALL) all the rest; RSS after each step;
#  4. the emulator's exchange counters (expected: 0 exchanges, 0 rejected).
set -euo pipefail
BIN=$(cd "${1:-build/bin}" && pwd)
N=${BENCH_INTEGRATIONS:-100000}
K=${BENCH_TOUCH:-10000}
TOUCH_ALL=${BENCH_TOUCH_ALL:-1}
STARTS=${BENCH_STARTS:-3}
FILL_THREADS=${BENCH_FILL_THREADS:-2}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
TARGET_SERVING_S=5
TARGET_BYTES=4096
if ((N < 2)); then echo "BENCH_INTEGRATIONS must be at least 2" >&2; exit 2; fi
if ((2 * K > N)); then K=$((N / 2)); fi
for b in tokenbroker ims-emulator bench-fill-store bench-health-probe bench-touch; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: build it first" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/tokenbroker-startup-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
wait_for_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "timed out waiting for $1" >&2; exit 1; }
# result KEY FILE: the value of KEY= on the RESULT line of FILE.
result() { sed -n 's/^RESULT .*\b'"$1"'=\([^ ]*\).*/\1/p' "$2" | tail -1; }
# status_kib PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM, RssAnon).
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }

echo "tokenbroker start-up benchmark: $N integrations, K=$K, $(nproc) cores, work dir $WORK"
"$BIN/tokenbroker" keyring create --kek-file="$WORK/keyring.json" >/dev/null
echo '{"clients": []}' >"$WORK/clients.json"
"$BIN/ims-emulator" --listen=127.0.0.1:0 --port-file="$WORK/ims.port" --cert-out="$WORK/ca.pem" \
  --clients="$WORK/clients.json" >"$WORK/ims.log" 2>&1 & PIDS+=($!)
wait_for_file "$WORK/ims.port"
IMS="https://127.0.0.1:$(cat "$WORK/ims.port")"

# --- 1. fill ----------------------------------------------------------------
timeout 60 "$BIN/bench-fill-store" --db="$WORK/empty.db" --kek-file="$WORK/keyring.json" \
  --count=0 >"$WORK/fill-empty.out"
echo "filling $N integrations with tokens ($FILL_THREADS threads)..."
timeout 1200 "$BIN/bench-fill-store" --db="$WORK/full.db" --kek-file="$WORK/keyring.json" \
  --count="$N" --with-tokens --threads="$FILL_THREADS" | tee "$WORK/fill.out"
FILL_S=$(result seconds "$WORK/fill.out")
FILL_RATE=$(result rate "$WORK/fill.out")
DB_BYTES=$(result db_bytes "$WORK/fill.out")
STORED_TOKEN_BYTES=$(result token_bytes "$WORK/fill.out")

# --- 2. start-up to serving -------------------------------------------------
BROKER_PID=""
# start_broker DB LABEL: starts tokenbroker, waits for SERVING; sets
# SERVING_MS, RSS_KIB, HWM_KIB, ANON_KIB, BROKER_PID.
start_broker() {
  local db=$1 label=$2
  rm -f "$WORK/broker.port"
  local t0=${EPOCHREALTIME/[.,]/}
  echo "$t0" >"$WORK/t0-$label"
  "$BIN/tokenbroker" --store="sqlite:$db" --kek-file="$WORK/keyring.json" \
    --listen=127.0.0.1:0 --port-file="$WORK/broker.port" --ims-url="$IMS" \
    --ims-ca-file="$WORK/ca.pem" --shutdown-grace=1s --log-level=info \
    >"$WORK/broker-$label.log" 2>&1 & BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  if ! "$BIN/bench-health-probe" --port-file="$WORK/broker.port" --since-us="$t0" \
      --pid="$BROKER_PID" --interval=10ms --timeout=60s >"$WORK/probe-$label.out"; then
    echo "tokenbroker ($label) did not become SERVING; its log:" >&2
    tail -20 "$WORK/broker-$label.log" >&2
    exit 1
  fi
  RSS_KIB=$(status_kib "$BROKER_PID" VmRSS)
  HWM_KIB=$(status_kib "$BROKER_PID" VmHWM)
  ANON_KIB=$(status_kib "$BROKER_PID" RssAnon)
  SERVING_MS=$(result serving_ms "$WORK/probe-$label.out")
}
stop_broker() {
  kill -TERM "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
}
# Evicts the database from the page cache (this file only: posix_fadvise
# DONTNEED through dd; the file is fsynced, so its pages are clean).
evict() { for f in "$@"; do if [ -e "$f" ]; then dd if="$f" iflag=nocache count=0 status=none; fi; done; }
cached_kib() { fincore -b -n -o RES "$1" 2>/dev/null | awk '{ printf "%d", $1 / 1024 }' || echo "?"; }

declare -A T RSS HWM ANON
run_starts() {  # DB CONFIG COLD(0/1) KEEP_LAST_RUNNING(0/1)
  local db=$1 config=$2 cold=$3 keep=$4 i
  local times=() rss=() hwm=() anon=()
  for i in $(seq 1 "$STARTS"); do
    if [ "$cold" = 1 ]; then evict "$db" "$db-wal" "$db-shm"; fi
    local cached; cached=$(cached_kib "$db")
    start_broker "$db" "$config-$i"
    times+=("$SERVING_MS"); rss+=("$RSS_KIB"); hwm+=("$HWM_KIB"); anon+=("$ANON_KIB")
    printf '  %-12s run %d: SERVING after %8.1f ms   VmRSS %6s MiB  VmHWM %6s MiB  RssAnon %6s MiB  (db cached before start: %s KiB)\n' \
      "$config" "$i" "$SERVING_MS" "$(mib "$RSS_KIB")" "$(mib "$HWM_KIB")" "$(mib "$ANON_KIB")" "$cached"
    if [ "$keep" = 1 ] && [ "$i" = "$STARTS" ]; then break; fi
    stop_broker
  done
  T[$config]=$(median "${times[@]}"); T[$config-max]=$(max "${times[@]}")
  RSS[$config]=$(median "${rss[@]}"); HWM[$config]=$(median "${hwm[@]}")
  ANON[$config]=$(median "${anon[@]}")
}
echo "start-up to SERVING ($STARTS runs each):"
run_starts "$WORK/empty.db" empty 0 0
run_starts "$WORK/full.db" full-cold 1 0
run_starts "$WORK/full.db" full-warm 0 1   # the last one stays up for step 3
# Where the start-up time goes, per configuration (medians of every run),
# from the broker's log timestamps (ms resolution) and the probe's figures.
python3 - "$WORK" "$STARTS" >"$WORK/phases.txt" <<'PY' || true
import datetime, json, statistics, sys
work, starts = sys.argv[1], int(sys.argv[2])
def phases(label):
    t0 = int(open(f"{work}/t0-{label}").read())
    t = {"exec": datetime.datetime.utcfromtimestamp(t0 / 1e6)}
    for line in open(f"{work}/broker-{label}.log"):
        try:
            r = json.loads(line)
            ts = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        except (ValueError, KeyError):
            continue
        if r.get("msg") == "keyring loaded": t.setdefault("keyring", ts)
        if r.get("msg") == "tokenbroker serving": t.setdefault("serving", ts)
    probe = dict(kv.split("=") for kv in open(f"{work}/probe-{label}.out").read().split("RESULT ")[1].split())
    ms = lambda a, b: (t[b] - t[a]).total_seconds() * 1000
    return (ms("exec", "keyring"), ms("keyring", "serving"),
            float(probe["serving_ms"]) - ms("exec", "serving"), float(probe["serving_ms"]))
print("where start-up goes (medians; log timestamps have 1 ms resolution)")
print(f"  {'':14s} {'exec->keyring loaded':>21s} {'->serving logged':>17s} {'->SERVING probed':>17s} {'total':>8s}")
print(f"  {'':14s} {'(load, init, flags,':>21s} {'(SQLite open,':>17s} {'(port file poll,':>17s}")
print(f"  {'':14s} {'keyring file)':>21s} {'KeyIdsInUse scan,':>17s} {'health check)':>17s}")
print(f"  {'':14s} {'':>21s} {'sample, gRPC)':>17s}")
for config in ("empty", "full-cold", "full-warm"):
    try:
        runs = [phases(f"{config}-{i}") for i in range(1, starts + 1)]
    except (OSError, KeyError, IndexError):
        continue
    med = [statistics.median(r[k] for r in runs) for k in range(4)]
    print(f"  {config:14s} {med[0]:18.0f} ms {med[1]:14.0f} ms {med[2]:14.0f} ms {med[3]:5.0f} ms")
PY

# --- 3. memory per integration ----------------------------------------------
touch_step() {  # LABEL FIRST COUNT CALLS
  timeout 600 "$BIN/bench-touch" --port-file="$WORK/broker.port" --first="$2" --count="$3" \
    --calls="$4" --concurrency="$CONCURRENCY" --timeout=500s >"$WORK/touch-$1.out" || {
    cat "$WORK/touch-$1.out" >&2; echo "bench-touch ($1) failed" >&2; exit 1; }
  sed -n '1p' "$WORK/touch-$1.out" | sed 's/^/  /'
  MEM_RSS[$1]=$(status_kib "$BROKER_PID" VmRSS)
  MEM_HWM[$1]=$(status_kib "$BROKER_PID" VmHWM)
}
declare -A MEM_RSS MEM_HWM
MEM_RSS[serving]=$RSS_KIB
MEM_HWM[serving]=$HWM_KIB
echo "asking the warm broker for tokens:"
touch_step warmup 0 1 "$K"
touch_step first-k 0 "$K" "$K"
touch_step second-k "$K" "$K" "$K"
TOUCHED=$((2 * K))
if [ "$TOUCH_ALL" = 1 ] && ((N > 2 * K)); then
  touch_step all $((2 * K)) $((N - 2 * K)) $((N - 2 * K))
  TOUCHED=$N
fi
touch_step again 0 "$TOUCHED" "$TOUCHED"   # all cached now: no growth expected
SERVED_TOKEN_BYTES=$(result token_bytes "$WORK/touch-first-k.out")
ISSUED_BEFORE=0
for s in first-k second-k all; do
  if [ -f "$WORK/touch-$s.out" ]; then
    ISSUED_BEFORE=$((ISSUED_BEFORE + $(result issued_before_start "$WORK/touch-$s.out")))
  fi
done
STATS=$(curl -s --max-time 5 --cacert "$WORK/ca.pem" "$IMS/emulator/stats")
stop_broker

# --- 4. summary --------------------------------------------------------------
python3 - <<PY
import json
N, K, touched = $N, $K, $TOUCHED
t = {"empty": ${T[empty]}, "full-cold": ${T[full-cold]}, "full-warm": ${T[full-warm]}}
tmax = {"empty": ${T[empty-max]}, "full-cold": ${T[full-cold-max]}, "full-warm": ${T[full-warm-max]}}
rss = {"empty": ${RSS[empty]}, "full-cold": ${RSS[full-cold]}, "full-warm": ${RSS[full-warm]}}
hwm = {"empty": ${HWM[empty]}, "full-cold": ${HWM[full-cold]}, "full-warm": ${HWM[full-warm]}}
anon = {"empty": ${ANON[empty]}, "full-cold": ${ANON[full-cold]}, "full-warm": ${ANON[full-warm]}}
mem = {"serving": ${MEM_RSS[serving]}, "warmup": ${MEM_RSS[warmup]}, "first-k": ${MEM_RSS[first-k]},
       "second-k": ${MEM_RSS[second-k]}, "all": ${MEM_RSS[all]:-0}, "again": ${MEM_RSS[again]}}
memhwm = {"serving": ${MEM_HWM[serving]}, "warmup": ${MEM_HWM[warmup]}, "first-k": ${MEM_HWM[first-k]},
          "second-k": ${MEM_HWM[second-k]}, "all": ${MEM_HWM[all]:-0}, "again": ${MEM_HWM[again]}}
token = float("${SERVED_TOKEN_BYTES:-0}" or 0)
stats = json.loads('''$STATS''' or "{}")
mib = lambda k: k / 1024
print()
print("=" * 96)
print(f"tokenbroker start-up benchmark: {N:,} integrations (encrypted SQLite), $(nproc) cores")
print("=" * 96)
print(f"fill (bench-fill-store, {N:,} x Create + PutToken, $FILL_THREADS threads): "
      f"${FILL_S} s, ${FILL_RATE} integrations/s; database {int('$DB_BYTES') / 1048576:.1f} MiB "
      f"({int('$DB_BYTES') / max(N, 1):.0f} B/integration); stored token {float('$STORED_TOKEN_BYTES'):.0f} B")
print()
print(f"{'start-up (exec -> health SERVING)':36s} {'median':>10s} {'max':>10s} {'VmRSS':>10s} {'VmHWM':>10s} {'RssAnon':>10s}")
for c, name in (("empty", "empty store (0 integrations)"),
                ("full-cold", f"{N:,} integrations, cold cache"),
                ("full-warm", f"{N:,} integrations, warm cache")):
    print(f"{name:36s} {t[c] / 1000:9.3f}s {tmax[c] / 1000:9.3f}s {mib(rss[c]):6.1f} MiB {mib(hwm[c]):6.1f} MiB {mib(anon[c]):6.1f} MiB")
print()
print(f"{'memory of the warm broker':44s} {'VmRSS':>10s} {'VmHWM':>10s}")
rows = [("serving (right after start-up)", "serving"),
        (f"after {K:,} calls to 1 integration (warm-up)", "warmup"),
        (f"after {K:,} distinct integrations", "first-k"),
        (f"after {2 * K:,} distinct integrations", "second-k")]
if mem["all"]:
    rows.append((f"after all {N:,} integrations", "all"))
rows.append((f"after {touched:,} more calls (all cached)", "again"))
for name, key in rows:
    print(f"{name:44s} {mib(mem[key]):6.1f} MiB {mib(memhwm[key]):6.1f} MiB")
print()
per = lambda kib, n: kib * 1024 / n
stored = per(rss["full-warm"] - rss["empty"], N) if N else 0
hot_brief = per(mem["first-k"] - mem["serving"], K)
hot_net = per(mem["first-k"] - mem["warmup"], K)
hot_marginal = per(mem["second-k"] - mem["first-k"], K)
hot_all = per(mem["all"] - mem["warmup"], N) if mem["all"] else None
print("memory per integration (bytes; RSS is counted in 4 KiB pages, so small differences are noise)")
print(f"  stored, never asked for: (RSS full - RSS empty) / N          {stored:9.1f}   "
      f"(= {mib(rss['full-warm'] - rss['empty']):.1f} MiB in all; SQLite's page cache alone may take 2000 KiB)")
print(f"  token cached: (RSS after K - RSS serving) / K                {hot_brief:9.1f}   beyond its {token:.0f}-byte token: {hot_brief - token:9.1f}")
print(f"  token cached, net of gRPC warm-up: (after K - warm-up) / K   {hot_net:9.1f}   beyond its token: {hot_net - token:9.1f}")
print(f"  token cached, marginal: (after 2K - after K) / K             {hot_marginal:9.1f}   beyond its token: {hot_marginal - token:9.1f}")
if hot_all is not None:
    print(f"  every integration cached: (after all - warm-up) / N          {hot_all:9.1f}   beyond its token: {hot_all - token:9.1f}")
print(f"  all cached again ({touched:,} calls): RSS grew by {mem['again'] - mem[rows[-2][1]]} KiB")
print()
exchanges = stats.get("total_exchanges", "?")
print(f"IMS exchanges during the whole run: {exchanges} (rejected: {stats.get('rejected', '?')}); "
      f"tokens served that were issued before the calls: $ISSUED_BEFORE of {touched:,}")
print()
worst_start = max(tmax["full-cold"], tmax["full-warm"]) / 1000
# Judged on the per-integration slopes (K onwards, and all N), which leave out
# one-time costs (gRPC's buffers, SQLite's page cache, first hash-map tables)
# that the first-K figures spread over only K integrations.
worst_mem = max(hot_marginal, hot_all or 0) - token
ok_start = worst_start <= $TARGET_SERVING_S
ok_mem = worst_mem < $TARGET_BYTES
print(f"target: serving within $TARGET_SERVING_S s with {N:,} integrations: worst start {worst_start:.3f} s -> {'MET' if ok_start else 'MISSED'}")
print(f"target: < $TARGET_BYTES B per integration beyond its token: {worst_mem:.0f} B (worst of marginal and every-integration) -> {'MET' if ok_mem else 'MISSED'}")
ok_exchanges = exchanges == 0
if not ok_exchanges:
    print("UNEXPECTED: the broker exchanged with IMS although every integration had a valid persisted token")
open("$WORK/targets", "w").write("ok" if ok_start and ok_mem and ok_exchanges else "missed")
PY
cat "$WORK/phases.txt"
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$(cat "$WORK/targets")" != ok ]; then exit 3; fi
