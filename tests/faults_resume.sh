#!/usr/bin/env bash
# Fault test: what `bbsim train --resume DIR` finds in DIR besides its checkpoints.
# - a FIFO named metrics.tsv once hung the resume (opened with plain fopen): refused;
# - a metrics.tsv with a missing row, or only its header, was accepted and the run went on
#   with a hole in its loss curve: refused, naming the first missing step;
#   usage: faults_resume.sh BBSIM_BINARY
set -euo pipefail
bbsim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-resume.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
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

echo "faults_resume: a FIFO and 4 damaged metrics.tsv refused with one line each"
