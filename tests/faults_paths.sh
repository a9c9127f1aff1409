#!/usr/bin/env bash
# Fault test: paths and flags that would turn make's shell commands into others are
# refused before anything runs (paper_repro/safe_paths.mk). A space in OUT once made
# `rm -rf OUT/runs/1L` delete a sibling folder; a quote in TASK_FLAGS ran a command.
#   usage: faults_paths.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$1 bbsim=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-paths.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "faults_paths: $*" >&2; exit 1; }
mkdir -p "$tmp/a" "$tmp/a b"
echo keep > "$tmp/a/keep"
# refused: exit status, the message names the variable, nothing was made or removed
refused() { # refused WHAT make-arguments...
    local what=$1 rc=0
    shift
    make --no-print-directory "$@" > "$tmp/log" 2>&1 || rc=$?
    [ $rc -ne 0 ] || fail "$what: make exited 0"
    grep -q "$what='" "$tmp/log" || { cat "$tmp/log" >&2; fail "$what: no message naming it"; }
}
refused OUT -C "$src/paper_repro" PROFILE=smoke OUT="$tmp/a b" BBSIM="$bbsim"
[ -f "$tmp/a/keep" ] || fail "a space in OUT removed $tmp/a"
[ ! -e "$src/paper_repro/b" ] || fail "a space in OUT made paper_repro/b"
refused OUT -C "$src" repro OUT="$tmp/a b"
refused OUT -C "$src/paper_repro" PROFILE=smoke OUT="$tmp/q'x" BBSIM="$bbsim"
refused OUT -C "$src/paper_repro" PROFILE=smoke OUT="$tmp/x;touch $tmp/PWNED" BBSIM="$bbsim"
refused TASK_FLAGS -C "$src" help TASK_FLAGS="--corpus x'; touch $tmp/PWNED; echo '"
refused TASK_FLAGS -C "$src/paper_repro" PROFILE=smoke OUT="$tmp/o" BBSIM="$bbsim" TASK_FLAGS="--corpus \`touch $tmp/PWNED\`"
[ ! -e "$tmp/PWNED" ] || fail "a command in a path or flag ran"
[ ! -e "$tmp/o" ] || fail "a refused make made its OUT"
# accepted: a plain path and task flags with commas and '=' (the list of figures only)
make -C "$src/paper_repro" --no-print-directory -s PROFILE=smoke OUT="$tmp/ok-1.x" BBSIM="$bbsim" \
    TASK_FLAGS="--triggers 1,43,58 --k=3" list-figures > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; fail "a safe OUT was refused"; }
echo "faults_paths: 6 unsafe paths and flags refused, nothing ran or was removed; a safe one accepted"
