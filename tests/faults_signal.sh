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
