#!/usr/bin/env bash
# Fault test: `bbsim analyze` replacing an existing output folder replaces the whole set or
# nothing. It once renamed file by file into the folder, so a full disk (ENOSPC) at the
# third rename, or SIGTERM there, left files of two checkpoints side by side. Now the set
# is written into a folder beside it and swapped in: at every rename (and at the swap) an
# ENOSPC or a SIGTERM (exit 130) leaves the old set intact and no temporary file or folder.
# Also: a folder holding a file analyze did not write is refused, not replaced; a link to
# the folder stays a link; the other mode's files (dynamics.tsv) are kept; SIGTERM while
# `bbsim export` writes leaves no .tmp. Skipped (77) without strace.
#   usage: faults_analyze.sh BBSIM_BINARY
set -euo pipefail
bbsim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
command -v strace > /dev/null && strace -f -o /dev/null true 2> /dev/null \
    || { echo "faults_analyze: no working strace (apt-get install strace): skipped"; exit 77; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" # no LeakSanitizer under ptrace
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-analyze.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "faults_analyze: $*" >&2; exit 1; }
cd "$tmp"
T=(--layers 1 --dim 16 --seq 16 --batch 4 --eval-batch 8 --eval-every 10 --ckpt 10,50,1 --threads 1 --quiet)
"$bbsim" train "${T[@]}" --steps 50 --out run
"$bbsim" analyze run --ckpt 10 --out old --quiet        # the set of checkpoint 10
"$bbsim" analyze run --ckpt all --out old --quiet       # and dynamics.tsv beside it
list() { (cd "$1" && ls); }
# set_of DIR STEP: every file of one checkpoint's analysis says that checkpoint
set_of() {
    local f
    for f in "$1"/*.tsv; do
        [ "${f##*/}" = dynamics.tsv ] && continue
        grep -q "^# checkpoint $2\$" "$f" || return 1
    done
}
set_of old 10 || fail "the first analysis is not that of checkpoint 10"
# no temporary file or folder anywhere beside or inside
clean() { [ -z "$(find . -name '*.tmp' -o -name '*.tmp.*' -o -name '*.old.*')" ]; }
intact() { # intact WHAT: w is old, byte for byte
    diff -r old w > /dev/null || { diff -r old w | head -5 >&2; fail "$1: the old set changed (two checkpoints mixed?)"; }
    clean || fail "$1: left $(find . -name '*.tmp*' -o -name '*.old.*' | head -3 | tr '\n' ' ')"
}
# how many renames a re-analysis makes (one per file, then the swap)
rm -rf w && cp -a old w
strace -f -o trace -e trace=rename,renameat,renameat2 "$bbsim" analyze run --ckpt 50 --out w --quiet
n=$(grep -c -E '^[0-9]+ +rename(at2?)?\(' trace)
[ "$n" -ge 5 ] || fail "only $n renames traced"
set_of w 50 && [ -f w/dynamics.tsv ] && cmp -s old/dynamics.tsv w/dynamics.tsv \
    || fail "a re-analysis: not the set of checkpoint 50 with the old dynamics.tsv"
[ "$(list old)" = "$(list w)" ] || fail "a re-analysis: other files than before"
for when in 1 3 $((n - 2)) $((n - 1)); do
    for fault in error=ENOSPC signal=SIGTERM; do
        rm -rf w && cp -a old w
        rc=0
        strace -f -o /dev/null -e inject=rename:$fault:when=$when "$bbsim" analyze run --ckpt 50 --out w --quiet 2> err || rc=$?
        if [ $fault = signal=SIGTERM ]; then
            [ $rc = 130 ] && grep -q "interrupted" err || { cat err >&2; fail "SIGTERM at rename $when: exit $rc, not 130"; }
        else
            [ $rc = 1 ] && grep -q "No space left" err || { cat err >&2; fail "ENOSPC at rename $when: exit $rc"; }
        fi
        intact "$fault at rename $when"
    done
done
# the swap itself fails, or cannot exchange (then two renames, the first one failing)
for fault in renameat2:error=ENOSPC "renameat2:error=EINVAL -e inject=rename:error=EXDEV:when=$n" \
             "renameat2:error=EINVAL -e inject=rename:error=EXDEV:when=$((n + 1))"; do
    rm -rf w && cp -a old w
    rc=0
    strace -f -o /dev/null -e inject=$fault "$bbsim" analyze run --ckpt 50 --out w --quiet 2> err || rc=$?
    [ $rc = 1 ] || { cat err >&2; fail "$fault at the swap: exit $rc"; }
    intact "$fault at the swap"
done
# no atomic exchange on this file system: the fallback of two renames gives the new set
rm -rf w && cp -a old w
strace -f -o /dev/null -e inject=renameat2:error=EINVAL "$bbsim" analyze run --ckpt 50 --out w --quiet
set_of w 50 && cmp -s old/dynamics.tsv w/dynamics.tsv && clean || fail "no RENAME_EXCHANGE: not the new set"
# --ckpt all keeps one checkpoint's set, and an ENOSPC at its rename keeps the old dynamics
rm -rf w && cp -a old w
"$bbsim" train --resume run --steps 60 --quiet
rc=0
strace -f -o /dev/null -e inject=rename:error=ENOSPC:when=1 "$bbsim" analyze run --ckpt all --out w --quiet 2> err || rc=$?
[ $rc = 1 ] || { cat err >&2; fail "--ckpt all, ENOSPC: exit $rc"; }
intact "--ckpt all, ENOSPC"
"$bbsim" analyze run --ckpt all --out w --quiet
set_of w 10 && grep -q -P '^60\t' w/dynamics.tsv && clean || fail "--ckpt all: one checkpoint's set lost, or no new row"

# a folder with a file analyze did not write: refused, nothing changed
rm -rf w && cp -a old w && echo "my notes" > w/notes.txt
cp -a w w.before
rc=0
"$bbsim" analyze run --ckpt 50 --out w --quiet 2> err || rc=$?
[ $rc = 2 ] && grep -q "notes.txt, which bbsim analyze did not write" err || { cat err >&2; fail "a foreign file: exit $rc"; }
diff -r w w.before > /dev/null && clean || fail "a foreign file: the folder changed"
rm -rf w.before
# a link to the folder: the folder it names gets the new set, the link stays
rm -rf w && cp -a old w && ln -s w wlink
"$bbsim" analyze run --ckpt 50 --out wlink --quiet
[ -L wlink ] && set_of w 50 && clean || fail "--out a link to a folder: link replaced, or old set"
# a new folder: made whole; an interrupted one: not made
"$bbsim" analyze run --ckpt 50 --out fresh --quiet
set_of fresh 50 || fail "a new folder: not the set"
rc=0
strace -f -o /dev/null -e inject=rename:signal=SIGTERM:when=2 "$bbsim" analyze run --ckpt 50 --out never --quiet 2> err || rc=$?
[ $rc = 130 ] && [ ! -e never ] && clean || { cat err >&2; fail "SIGTERM into a new folder: exit $rc, or something left"; }

# SIGTERM while bbsim export writes: no .tmp left, nothing written, exit 130
for fmt in safetensors npz; do
    rc=0
    strace -f -o /dev/null -e inject=fsync:signal=SIGTERM:when=1 "$bbsim" export run --format $fmt --quiet 2> err || rc=$?
    [ $rc = 130 ] || { cat err >&2; fail "export $fmt, SIGTERM: exit $rc, not 130"; }
    [ -z "$(find run/export -name '*.tmp')" ] || fail "export $fmt, SIGTERM: a .tmp left"
    [ ! -e run/export/step_60.$fmt ] || fail "export $fmt, SIGTERM: the file was written"
done
echo "faults_analyze: ENOSPC and SIGTERM at $((2 * 4 + 4)) points of a re-analysis: the old set or the new, never a mix; export leaves no .tmp"
