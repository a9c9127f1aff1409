#!/usr/bin/env bash
# Fault test: SIGKILL at 20 random moments (seeded: the same delays every time) of a
# training run that checkpoints at every step, each followed by `bbsim train --resume`;
# at the end every checkpoint (ckpt/step_*.bbck, ckpt/resume.bbck) and every metrics.tsv
# row (but the time column) must equal those of an uninterrupted run.
#   usage: faults_kill.sh BBSIM_BINARY [SEED]
set -euo pipefail
bbsim=$1 seed=${2:-14}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/faults_common.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-kill.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
steps=300
flags=("${BB_FLAGS[@]}" --steps $steps --ckpt 1,$steps,1)

t0=$(now_ms)
"$bbsim" train "${flags[@]}" --out "$tmp/ref"
T=$(( $(now_ms) - t0 ))   # ms for the whole uninterrupted run
echo "faults_kill: uninterrupted run of $steps steps: $T ms"

RANDOM=$seed
kills=0 finished=0
"$bbsim" train "${flags[@]}" --out "$tmp/run" 2> "$tmp/err" & pid=$!
# the first kill lands once the step-0 checkpoint exists (before that there is no run to resume)
while [ ! -f "$tmp/run/ckpt/resume.bbck" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
for i in $(seq 1 20); do
    delay=$(( RANDOM % (T / 20 + 1) ))   # ms; 20 of them cover about half the run
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$pid" 2>/dev/null || true
    rc=0; wait "$pid" 2>/dev/null || rc=$?
    pid=
    if [ $rc = 0 ]; then finished=1; break; fi   # it had finished before the kill
    [ $rc = 137 ] || { echo "faults_kill: bbsim failed (exit $rc) before kill $i:" >&2; cat "$tmp/err" >&2; exit 1; }
    kills=$((kills + 1))
    "$bbsim" train --resume "$tmp/run" --quiet 2> "$tmp/err" & pid=$!
done
if [ $finished = 0 ]; then
    wait "$pid" || { echo "faults_kill: the last resume failed:" >&2; cat "$tmp/err" >&2; exit 1; }
    pid=
fi
last=$(grep -v '^#' "$tmp/run/metrics.tsv" | tail -1 | cut -f1)
[ "$last" = "$steps" ] || { echo "faults_kill: the run ended at step $last, not $steps" >&2; exit 1; }
if ! why=$(same_run "$tmp/ref" "$tmp/run"); then
    echo "faults_kill: after $kills kills (seed $seed) the run differs from the uninterrupted one:" >&2
    echo "$why" >&2
    exit 1
fi
[ $kills -ge 10 ] || { echo "faults_kill: only $kills kills landed before the run finished (too fast a machine?)" >&2; exit 1; }
echo "faults_kill: $kills SIGKILLs + resumes (seed $seed): $(ls "$tmp/run/ckpt" | wc -l) checkpoints and metrics.tsv identical"
