#!/usr/bin/env bash
# Fault test: what `bbsim train --out DIR` finds in DIR. A run killed (SIGKILL, injected by
# strace at the Nth rename: config.txt, step 0, resume.bbck, step 10) before its first full
# checkpoint (ckpt/resume.bbck) once could neither resume ("holds weights only") nor start
# again ("already holds a run"): now --resume says to start it over and the same command
# does, saying so, and ends with the bytes of an uninterrupted run. SIGTERM at the same
# moments stops after a whole step-0 checkpoint that --resume continues (the handler is
# installed before anything is written). A config.txt or metrics.tsv that bbsim did not
# write is refused, not overwritten. Skipped (77) without strace.
#   usage: faults_rundir.sh BBSIM_BINARY
set -euo pipefail
bbsim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
command -v strace > /dev/null && strace -f -o /dev/null true 2> /dev/null \
    || { echo "faults_rundir: no working strace (apt-get install strace): skipped"; exit 77; }
# LeakSanitizer cannot run under ptrace (an ASan build under strace would exit 1)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-rundir.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "faults_rundir: $*" >&2; exit 1; }
cd "$tmp"
T=(--layers 1 --dim 16 --seq 16 --batch 4 --eval-batch 8 --eval-every 10 --ckpt 10,50,1 --threads 1 --quiet --steps 20)
"$bbsim" train "${T[@]}" --out ref
same() { cmp -s ref/ckpt/step_000000020.bbck "$1/ckpt/step_000000020.bbck" || fail "$2: step 20 differs from the uninterrupted run"; }
for when in 1 2 3 4; do
    rc=0
    sh -c '"$@"; exit $?' sh strace -f -o /dev/null -e inject=rename:signal=SIGKILL:when=$when "$bbsim" train "${T[@]}" --out k$when 2> err || rc=$?
    [ $rc = 137 ] || { cat err >&2; fail "SIGKILL at rename $when: exit $rc, not 137"; }
    rc=0
    "$bbsim" train --resume k$when --quiet 2> err || rc=$?
    if [ $rc != 0 ]; then # not resumable: it must say to start over, and the same command must
        grep -q "start it" err || { cat err >&2; fail "SIGKILL at rename $when: --resume fails without saying what to do"; }
        "$bbsim" train "${T[@]}" --out k$when 2> err || { cat err >&2; fail "SIGKILL at rename $when: the same command fails again"; }
    fi
    [ $when != 3 ] || grep -q "starting it over" err || { cat err >&2; fail "SIGKILL at rename 3: no word of starting over"; }
    same k$when "SIGKILL at rename $when"
done
for when in 2 3; do
    rc=0
    strace -f -o /dev/null -e inject=rename:signal=SIGTERM:when=$when "$bbsim" train "${T[@]}" --out t$when 2> err || rc=$?
    [ $rc = 130 ] || { cat err >&2; fail "SIGTERM at rename $when: exit $rc, not 130"; }
    grep -q "interrupted at step 0" err || { cat err >&2; fail "SIGTERM at rename $when: no message"; }
    "$bbsim" train --resume t$when --quiet 2> err || { cat err >&2; fail "SIGTERM at rename $when: --resume fails"; }
    same t$when "SIGTERM at rename $when"
done
# files that are not a run's
mkdir u1 u2
echo "my notes" > u1/config.txt
printf 'a\tb\n1\t2\n' > u2/metrics.tsv
for d in u1 u2; do
    rc=0
    "$bbsim" train "${T[@]}" --out $d 2> err || rc=$?
    [ $rc = 2 ] && grep -q "did not write" err || { cat err >&2; fail "--out $d (unrelated files): exit $rc"; }
done
[ "$(cat u1/config.txt)" = "my notes" ] && [ "$(head -1 u2/metrics.tsv)" = "$(printf 'a\tb')" ] || fail "unrelated files overwritten"
[ ! -e u1/ckpt ] && [ ! -e u2/ckpt ] || fail "a refused --out got a ckpt/ folder"
# a run too large for the memory it may take: refused before anything is made, naming the
# number and the limit (ASan reserves terabytes of address space: no ulimit -v there)
if ! ldd "$bbsim" 2> /dev/null | grep -q libasan; then
    rc=0
    ( ulimit -v 2000000; exec "$bbsim" train --dim 16 --seq 4096 --batch 4096 --quiet --out big ) 2> err || rc=$?
    [ $rc = 1 ] && grep -q "needs [0-9]* MiB of memory" err && grep -q "ulimit -v 2000000 KiB" err \
        || { cat err >&2; fail "a run beyond ulimit -v: exit $rc, no message with the number and the limit"; }
    [ ! -e big ] || fail "a run beyond ulimit -v made its directory"
    ( ulimit -v 2000000; exec "$bbsim" train "${T[@]}" --out small ) 2> err || { cat err >&2; fail "a tiny run under ulimit -v failed"; }
fi
echo "faults_rundir: SIGKILL at 4 renames and SIGTERM at 2: resumed or started over to the uninterrupted bytes; unrelated files kept"
