#!/usr/bin/env bash
# Run every fuzz target in turn (one process at a time, under nice), each for SECONDS
# seconds from its seed corpus fuzz/corpus/<target>/. New inputs go to WORK/<target>/ (the
# committed seeds stay as they are), crashes to WORK/artifacts/, logs to WORK/<target>.log;
# the last line of each log is libFuzzer's "#N DONE" (executions). Usage:
#   fuzz/run.sh [SECONDS [WORK [TARGET...]]]     (defaults 240, build-fuzz/work, all eight)
#   FUZZ_RUNS=10000000 fuzz/run.sh 0 WORK ...    (stop each target after that many executions
#                                                 instead; SECONDS 0 = no time limit)
# One thread per target (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS = 1): the readers are serial,
# and idle OpenMP/OpenBLAS workers spinning in sched_yield took a third of the time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-240}
work=${2:-$here/../build-fuzz/work}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(checkpoint transitions corpus labels marginal config argv tsv)
bin=${FUZZ_BIN:-$here/../build-fuzz/fuzz}
limit=(-max_total_time="$secs")
[ -z "${FUZZ_RUNS:-}" ] || limit=(-runs="$FUZZ_RUNS" ${secs:+-max_total_time="$secs"})
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# nice works only within one autogroup on Linux (a terminal or setsid session is its own):
# lower this session's group as well, so that the fuzzers yield to other work
[ -w /proc/self/autogroup ] && echo 19 > /proc/self/autogroup 2>/dev/null || true
mkdir -p "$work/artifacts"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    echo "fuzz_$t: ${limit[*]}, log $work/$t.log"
    nice -n 19 "$bin/fuzz_$t" "${limit[@]}" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$t-" "$work/$t" "$here/corpus/$t" > "$work/$t.log" 2>&1 &
    pid=$!
    rc=0; wait "$pid" || rc=$?
    pid=
    echo "fuzz_$t: exit $rc, $(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t.log" | tail -1 || echo 'no DONE line (crash? see the log)')"
done
