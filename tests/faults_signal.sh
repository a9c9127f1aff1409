#!/usr/bin/env bash
# Fault test: SIGINT and SIGTERM during training (a run that checkpoints at every step).
# Each must save a checkpoint and exit with status 130 (bbsim train --help, docs/method.md),
# saying how to continue; `bbsim train --resume` then ends with the same checkpoint bytes
# and metrics rows (but the time column) as an uninterrupted run.
#   usage: faults_signal.sh BBSIM_BINARY
set -euo pipefail
bbsim=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/faults_common.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-signal.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
steps=300
flags=("${BB_FLAGS[@]}" --steps $steps --ckpt 1,$steps,1)
"$bbsim" train "${flags[@]}" --out "$tmp/ref"

for sig in INT TERM; do
    run=$tmp/run_$sig
    "$bbsim" train "${flags[@]}" --out "$run" 2> "$tmp/err" & pid=$!
    # the signal lands mid-run: once step 50 is checkpointed
    while [ ! -f "$run/ckpt/step_000000050.bbck" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.005; done
    kill -s "$sig" "$pid"
    rc=0; wait "$pid" || rc=$?
    pid=
    [ $rc = 130 ] || { echo "faults_signal: SIG$sig: exit $rc, not 130:" >&2; cat "$tmp/err" >&2; exit 1; }
    grep -q "interrupted at step .*checkpoint saved.*--resume $run" "$tmp/err" ||
        { echo "faults_signal: SIG$sig: no 'interrupted ... checkpoint saved ... --resume' message:" >&2; cat "$tmp/err" >&2; exit 1; }
    at=$(grep -v '^#' "$run/metrics.tsv" | tail -1 | cut -f1)
    [ "$at" -lt $steps ] || { echo "faults_signal: SIG$sig arrived after the last step (machine too fast?)" >&2; exit 1; }
    [ -z "$(find "$run" -name '*.tmp')" ] || { echo "faults_signal: SIG$sig left a temporary file" >&2; exit 1; }
    "$bbsim" train --resume "$run" --quiet
    if ! why=$(same_run "$tmp/ref" "$run"); then
        echo "faults_signal: SIG$sig at step $at, resumed: the run differs from the uninterrupted one:" >&2
        echo "$why" >&2
        exit 1
    fi
    echo "faults_signal: SIG$sig at step $at: exit 130, checkpoint saved; resumed to identical bytes"
done

# SIGINT between two scheduled checkpoints, with every step file holding the full state
# (--ckpt-optim all): the interrupt's state goes to ckpt/resume.bbck only (no off-schedule
# step file for the analyses to pick up); the resume starts from it and, once the next
# scheduled step file holds a later full state, removes it: the same files as a run never
# interrupted.
flags=("${BB_FLAGS[@]}" --steps 400 --ckpt 100,0,1 --ckpt-optim all)
"$bbsim" train "${flags[@]}" --out "$tmp/ref_all"
run=$tmp/run_all
"$bbsim" train "${flags[@]}" --out "$run" 2> "$tmp/err" & pid=$!
while [ ! -f "$run/ckpt/step_000000100.bbck" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.005; done
sleep 0.02
kill -s INT "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ $rc = 130 ] || { echo "faults_signal: off-schedule SIGINT: exit $rc, not 130:" >&2; cat "$tmp/err" >&2; exit 1; }
at=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' "$tmp/err")
saved=$(sed -n 's/.*checkpoint saved to \([^;]*\);.*/\1/p' "$tmp/err")
if [ $((at % 100)) != 0 ]; then
    [ "$saved" = "$run/ckpt/resume.bbck" ] ||
        { echo "faults_signal: off-schedule SIGINT at step $at saved to '$saved', not ckpt/resume.bbck" >&2; exit 1; }
    extra=$(cd "$run/ckpt" && ls step_*.bbck | grep -v -E 'step_000000[0-9]00\.bbck' || true)
    [ -z "$extra" ] || { echo "faults_signal: off-schedule SIGINT at step $at left step files $extra" >&2; exit 1; }
fi
"$bbsim" train --resume "$run" --quiet
if ! why=$(same_run "$tmp/ref_all" "$run"); then
    echo "faults_signal: off-schedule SIGINT at step $at (--ckpt-optim all), resumed: the run differs:" >&2
    echo "$why" >&2
    exit 1
fi
echo "faults_signal: SIGINT at step $at between scheduled checkpoints: state in resume.bbck only; resumed to identical files"
