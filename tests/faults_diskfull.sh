#!/usr/bin/env bash
# Fault test: the disk fills up during training. A small tmpfs (root only: skipped with
# exit 77 otherwise, or when the mount fails) that holds a few dozen checkpoints of a run
# that checkpoints at every step. Training must stop with a clear message and a non-zero
# exit, leave no half-written file (*.tmp), keep the checkpoints it wrote intact (equal to
# an uninterrupted run's), and resume to the end once there is room again.
#   usage: faults_diskfull.sh BBSIM_BINARY
set -euo pipefail
bbsim=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/faults_common.sh"
[ "$(id -u)" = 0 ] || { echo "faults_diskfull: skipped (needs root to mount a tmpfs)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-diskfull.XXXXXX")
mnt=$tmp/small
mkdir -p "$mnt"
trap 'mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$tmp"' EXIT
mount -t tmpfs -o size=512k tmpfs "$mnt" 2>/dev/null || { echo "faults_diskfull: skipped (cannot mount a tmpfs)"; exit 77; }
steps=300
flags=("${BB_FLAGS[@]}" --steps $steps --ckpt 1,$steps,1)
"$bbsim" train "${flags[@]}" --out "$tmp/ref"

rc=0
"$bbsim" train "${flags[@]}" --out "$mnt/run" 2> "$tmp/err" || rc=$?
fail() { echo "faults_diskfull: $*" >&2; cat "$tmp/err" >&2; exit 1; }
[ $rc -ne 0 ] || fail "training on a full disk exited 0"
grep -qi "no space left on device" "$tmp/err" || fail "the message does not say the disk is full"
n=$(ls "$mnt/run/ckpt" | grep -c '^step_' || true)
[ "$n" -ge 2 ] || fail "only $n checkpoints fit: the tmpfs is too small for this test"
[ "$n" -lt $((steps + 1)) ] || fail "every checkpoint fit: the tmpfs is too large for this test"
stray=$(find "$mnt/run" -name '*.tmp' | head -3)
[ -z "$stray" ] || fail "half-written files left: $stray"
for f in "$mnt"/run/ckpt/step_*.bbck; do
    cmp -s "$f" "$tmp/ref/ckpt/${f##*/}" || fail "ckpt/${f##*/} on the full disk differs from the uninterrupted run's"
done
"$bbsim" analyze "$mnt/run" --out "$tmp/analysis" > /dev/null 2>&1 || fail "bbsim analyze cannot read the run left on the full disk"
echo "faults_diskfull: full disk after $n checkpoints: exit $rc, '$(head -1 "$tmp/err" | cut -c1-150)'"

mount -o remount,size=64m "$mnt"   # room again
"$bbsim" train --resume "$mnt/run" --quiet 2> "$tmp/err" || fail "resume after freeing space failed"
why=$(same_run "$tmp/ref" "$mnt/run") || fail "resumed after the full disk, the run differs: $why"
echo "faults_diskfull: resumed with room again: $(ls "$mnt/run/ckpt" | wc -l) checkpoints and metrics.tsv identical"
