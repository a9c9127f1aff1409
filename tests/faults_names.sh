#!/usr/bin/env bash
# Fault test: run folders whose names are shell or gnuplot syntax. `bbsim figures` hands
# file names to gnuplot, whose scripts (plots/*.gp) call awk and test through a shell and
# read files with `plot`/`stats` (a name starting with < is a command there; an output
# starting with | too). A run named `a;touch PWNED;b` once ran touch, `sp ace` failed with
# "awk: cannot open sp". Each name below is a copy of one tiny run: figures must draw every
# figure, and no command may run.
#   usage: faults_names.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$(cd "$1" && pwd) bbsim=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
command -v gnuplot > /dev/null || { echo "faults_names: no gnuplot: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-names.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "faults_names: $*" >&2; exit 1; }
cd "$tmp"
"$bbsim" train --layers 1 --dim 16 --seq 16 --batch 4 --eval-batch 8 --eval-every 10 --steps 20 \
    --ckpt 10,50,1 --threads 1 --quiet --out base
names=('a;touch PWNED;b' "q'\$(touch PWNED)'x" 'sp ace' '<touch PWNED;x' '|touch PWNED;x' 'x`touch PWNED`"y' 'd$HOME')
for name in "${names[@]}"; do
    cp -r base "$name"
    rc=0
    "$bbsim" figures "$name" --threads 1 --quiet > log 2>&1 || rc=$?
    [ ! -e PWNED ] || fail "figures on a run named '$name' ran a command"
    [ $rc = 0 ] || { cat log >&2; fail "figures on a run named '$name' failed (exit $rc)"; }
    for pdf in attention values layers dynamics_l0h0 resid; do
        [ -s "$name/figures/$pdf.pdf" ] || fail "figures on '$name' drew no $pdf.pdf"
    done
done
# the scripts' own arguments: a plots folder whose name is a command, a bad MAXPOS or LAYERS
cp -r "$src/plots" "pl'\$(touch PWNED)"
"$bbsim" figures base --plots "pl'\$(touch PWNED)" --no-dynamics --threads 1 --quiet > log 2>&1 \
    || { cat log >&2; fail "figures with --plots \"pl'\$(touch PWNED)\" failed"; }
rc=0
gnuplot -c "pl'\$(touch PWNED)/value_bars.gp" o.pdf base/figures/data active "0';touch PWNED;'" > log 2>&1 || rc=$?
[ $rc = 2 ] || { cat log >&2; fail "value_bars.gp with a command as LAYERS: exit $rc, not 2"; }
rc=0
gnuplot -c "pl'\$(touch PWNED)/value_bars.gp" o.pdf base/figures/data active 0 "';touch PWNED;'" > log 2>&1 || rc=$?
[ $rc = 2 ] || { cat log >&2; fail "value_bars.gp with a command as MAXPOS: exit $rc, not 2"; }
[ ! -e PWNED ] || fail "a plots folder, LAYERS or MAXPOS ran a command"
echo "faults_names: figures drew every figure of ${#names[@]} runs named as commands; nothing ran"
