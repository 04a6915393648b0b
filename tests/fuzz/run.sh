#!/usr/bin/env bash
# Runs the libFuzzer targets of <fuzz dir> (a TOKENBROKER_FUZZ=ON build's fuzz/ folder) over the
# committed corpora in tests/fuzz/corpus/<name>/.
#
#   run.sh ci   FUZZ_DIR           every committed input once (a crash found earlier must stay
#                                  fixed), then FUZZ_CI_SECONDS (default 5) of fuzzing per target
#   run.sh fuzz FUZZ_DIR SECONDS   SECONDS of fuzzing per target
#   run.sh runs FUZZ_DIR N NAME    N executions of one target (the figures in README.md)
#
# New inputs go to FUZZ_DIR/corpus/<name>/, never into the committed corpus: a crash lands in
# FUZZ_DIR/artifacts/ and is printed; commit it under tests/fuzz/corpus/<name>/ with its fix.
# Targets: every *_fuzzer in FUZZ_DIR, or FUZZ_TARGETS="policy keyring ...".
set -euo pipefail
mode=${1:?usage: run.sh ci|fuzz|runs FUZZ_DIR [SECONDS|N NAME]}
fuzz_dir=$(cd "${2:?fuzz dir}" && pwd)
corpus_root=$(cd "$(dirname "$0")/corpus" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$fuzz_dir/artifacts"

targets=${FUZZ_TARGETS:-$(cd "$fuzz_dir" && ls -- *_fuzzer | sed 's/_fuzzer$//')}
[ -n "$targets" ] || { echo "no *_fuzzer in $fuzz_dir: configure with TOKENBROKER_FUZZ=ON"; exit 1; }

# libFuzzer flags every mode uses: one input may take 10 s at most (a hang is a finding too),
# crashes go to artifacts/, and each finding prints its input's file name.
common_flags() {
  echo "-timeout=10 -rss_limit_mb=2048 -artifact_prefix=$fuzz_dir/artifacts/$1- -print_final_stats=1"
}

# Fuzzes target $1 with extra libFuzzer flags $2..., starting from the committed corpus. The
# full log is FUZZ_DIR/<name>.log; the summary lines (and a finding's report) are printed.
fuzz() {
  local name=$1; shift
  local work="$fuzz_dir/corpus/$name" log="$fuzz_dir/$name.log" rc=0
  mkdir -p "$work"
  # shellcheck disable=SC2046
  "$fuzz_dir/${name}_fuzzer" $(common_flags "$name") "$@" "$work" "$corpus_root/$name" \
    >"$log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" |
    sed "s/^/$name: /" || true
  if [ $rc != 0 ]; then
    # The finding's report, else the log's end (captured: `grep | head` under pipefail
    # would also print the tail whenever head stopped reading early).
    local report
    report="$(grep -A40 -E '^(==[0-9]+==ERROR|FUZZ_CHECK|.*runtime error)' "$log" || true)"
    if [ -n "$report" ]; then head -60 <<<"$report"; else tail -40 "$log"; fi
    grep -E 'Test unit written|^artifact_prefix' "$log" || true
  fi
  return $rc
}

replay() {
  local name=$1
  local inputs=("$corpus_root/$name"/*)
  [ -e "${inputs[0]}" ] || { echo "tests/fuzz/corpus/$name/ is empty: commit seeds"; return 1; }
  # Files (not a folder) as arguments: libFuzzer runs each once and exits, failing on a crash.
  "$fuzz_dir/${name}_fuzzer" $(common_flags "$name") "${inputs[@]}" >"$fuzz_dir/$name.replay.log" 2>&1 ||
    { cat "$fuzz_dir/$name.replay.log"; echo "FAILED: replay of tests/fuzz/corpus/$name/"; return 1; }
  echo "$name: ${#inputs[@]} committed inputs replayed"
}

status=0
case $mode in
  ci)
    for name in $targets; do
      replay "$name" || { status=1; continue; }
      fuzz "$name" -max_total_time="${FUZZ_CI_SECONDS:-5}" || { status=1; echo "FAILED: $name"; }
    done ;;
  fuzz)
    seconds=${3:?seconds}
    for name in $targets; do
      echo "== $name: ${seconds} s"
      fuzz "$name" -max_total_time="$seconds" || { status=1; echo "FAILED: $name"; }
    done ;;
  runs)
    n=${3:?executions}; name=${4:?target name}
    echo "== $name: $n executions"
    fuzz "$name" -runs="$n" || { status=1; echo "FAILED: $name"; } ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
[ $status = 0 ] && echo "fuzz: every target passed" || echo "fuzz: FAILED (inputs in $fuzz_dir/artifacts/)"
exit $status
