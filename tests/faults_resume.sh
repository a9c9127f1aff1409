#!/usr/bin/env bash
# Fault test: what `bbsim train --resume DIR` finds in DIR besides its checkpoints.
# - a FIFO named metrics.tsv once hung the resume (opened with plain fopen): refused;
# - a metrics.tsv with a missing row, or only its header, was accepted and the run went on
#   with a hole in its loss curve: refused, naming the first missing step;
# - two run folders whose ckpt/ is one folder (a symbolic link) could train at once (each
#   held its own DIR/.lock): the second is refused, the checkpoint folder is locked too.
#   usage: faults_resume.sh BBSIM_BINARY
set -euo pipefail
bbsim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-resume.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$tmp"' EXIT
fail() { echo "faults_resume: $*" >&2; exit 1; }
cd "$tmp"
T=(--layers 1 --dim 16 --seq 16 --batch 4 --eval-batch 8 --eval-every 10 --ckpt 10,50,1 --threads 1 --quiet)
"$bbsim" train "${T[@]}" --steps 20 --out ref
"$bbsim" train --resume ref --steps 30 --quiet   # a resume that works (rows 1..20 present)

# resume RUN WHAT: must be refused (exit 2) within seconds, with a message matching PATTERN
refused() {
    local run=$1 what=$2 pattern=$3 rc=0
    timeout -s KILL 5 "$bbsim" train --resume "$run" --steps 40 --quiet 2> err || rc=$?
    [ $rc != 137 ] || fail "$what: --resume hung (killed after 5 s)"
    [ $rc = 2 ] || { cat err >&2; fail "$what: exit $rc, not 2"; }
    grep -q -- "$pattern" err || { cat err >&2; fail "$what: no message matching '$pattern'"; }
    [ "$(wc -l < err)" = 1 ] || { cat err >&2; fail "$what: not a one-line message"; }
}
copy() { rm -rf "$2" && cp -a "$1" "$2" && rm -f "$2/.lock"; }

# metrics.tsv a FIFO
copy ref fifo
rm fifo/metrics.tsv
mkfifo fifo/metrics.tsv
refused fifo "metrics.tsv a FIFO" "fifo/metrics.tsv is a FIFO"
[ -p fifo/metrics.tsv ] || fail "metrics.tsv a FIFO: replaced"

# a middle row missing: the step named
copy ref gap
grep -v -P '^7\t' ref/metrics.tsv > gap/metrics.tsv
refused gap "metrics.tsv without step 7" "no row for step 7"
cmp -s <(grep -v -P '^7\t' ref/metrics.tsv) gap/metrics.tsv || fail "metrics.tsv without step 7: changed"
# only the header (and provenance) left: step 1 missing
copy ref head
grep -v -P '^[0-9]' ref/metrics.tsv > head/metrics.tsv
refused head "metrics.tsv with the header only" "no row for step 1"
# no metrics.tsv at all
copy ref none
rm none/metrics.tsv
refused none "no metrics.tsv" "no row for step 1"
[ ! -e none/metrics.tsv ] || fail "no metrics.tsv: one was made"
# rows out of order
copy ref swap
awk -F'\t' '$1 == 4 { held = $0; next } { print } $1 == 5 { print held }' ref/metrics.tsv > swap/metrics.tsv
refused swap "metrics.tsv with rows 5 and 4 swapped" "no row for step 4"

# Two run folders, one checkpoint folder: run A trains (in the background, long enough to
# be running), B is a copy of A whose ckpt/ is a symbolic link to A's. B's --resume must
# be refused while A holds the folder, and work once A has stopped.
"$bbsim" train "${T[@]}" --steps 20 --out A
copy A B
rm -rf B/ckpt
ln -s ../A/ckpt B/ckpt
"$bbsim" train --resume A --steps 10000000 --quiet 2> errA & pid=$!
# A is running once it has written a step beyond 20
while ! grep -q -P '^2[1-9]\t' A/metrics.tsv 2> /dev/null && kill -0 "$pid" 2> /dev/null; do sleep 0.01; done
kill -0 "$pid" 2> /dev/null || { cat errA >&2; fail "run A stopped early"; }
rc=0
timeout -s KILL 10 "$bbsim" train --resume B --steps 10000000 --quiet 2> err || rc=$?
[ $rc = 2 ] && grep -q "in use by another bbsim train" err \
    || { kill -TERM "$pid"; cat err >&2; fail "two trainers through one ckpt/ folder: the second exited $rc"; }
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ $rc = 130 ] || { cat errA >&2; fail "run A: exit $rc after SIGTERM, not 130"; }
# the lock goes with the process: B, the same run, now continues from A's checkpoints
# (with A's metrics.tsv: its rows must reach A's last checkpoint)
cp A/metrics.tsv B/metrics.tsv
"$bbsim" train --resume B --steps "$(($(grep -v '^#' A/metrics.tsv | tail -1 | cut -f1) + 10))" --quiet 2> err \
    || { cat err >&2; fail "B after A stopped: --resume fails"; }
echo "faults_resume: a FIFO, 4 damaged metrics.tsv and a shared ckpt/ folder refused with one line each"
