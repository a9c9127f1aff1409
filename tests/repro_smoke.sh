#!/usr/bin/env bash
# The whole `make repro-related` chain at smoke size (PROFILE=smoke, RELATED=1: tiny runs
# through every fragment) with SEEDS=2: every figure the fragments declare is a PDF, report.pdf is one, and claims.tsv
# has rows for every claim C1-C17 of the contract, each decided over 2 seeds (the second
# replicate's runs under OUT/seed2/), every TSV loads in numpy (and pandas:
# tests/tsv_load.py). It tests the plumbing, not the claims.
#   usage: repro_smoke.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$1 bbsim=$2
out=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
command -v gnuplot >/dev/null || { echo "repro_smoke: gnuplot is missing (make deps installs it)" >&2; exit 1; }
make -C "$src/paper_repro" -j2 --no-print-directory PROFILE=smoke RELATED=1 SEEDS=2 OUT="$out" BBSIM="$bbsim" > "$out.log" 2>&1 \
    || { tail -40 "$out.log" >&2; echo "repro_smoke: make repro (smoke) failed; log above" >&2; rm -f "$out.log"; exit 1; }
rm -f "$out.log"
bad=0
is_pdf() { [ -s "$1" ] && [ "$(head -c 4 "$1")" = "%PDF" ]; }
# every figure the fragments declare
expected=$(make -C "$src/paper_repro" --no-print-directory -s PROFILE=smoke RELATED=1 OUT="$out" BBSIM="$bbsim" list-figures)
[ -n "$expected" ] || { echo "repro_smoke: make list-figures named no figure" >&2; exit 1; }
n=0
for f in $expected; do
    n=$((n + 1))
    is_pdf "$out/figures/$f.pdf" || { echo "repro_smoke: $f.pdf is missing, empty or not a PDF" >&2; bad=1; }
done
is_pdf "$out/report.pdf" || { echo "repro_smoke: report.pdf is missing, empty or not a PDF" >&2; bad=1; }
for id in $(seq 1 17); do
    grep -q "^C$id	" "$out/claims.tsv" || { echo "repro_smoke: claims.tsv has no row for C$id" >&2; bad=1; }
done
# every decided row over 2 seeds, with two values; the second seed trained its own runs
bad_rows=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } /^#/ { next }
    $c["verdict"] != "NOT RUN" && ($c["seeds"] != 2 || split($c["values"], v, ",") != 2) { print $1 }' "$out/claims.tsv")
[ -z "$bad_rows" ] || { echo "repro_smoke: rows not decided over 2 seeds: $bad_rows" >&2; bad=1; }
{ grep -qx 'init-seed 43' "$out/seed2/runs/1L/config.txt" && grep -qx 'data-seed 43' "$out/seed2/runs/1L/config.txt"; } \
    || { echo "repro_smoke: seed2/runs/1L was not trained with seed 43" >&2; bad=1; }
# every TSV of the chain (bbsim's and the fragments' own) loads as a user loads it
py=${BBSIM_PYTHON:-/usr/bin/python3}
if [ -x "$py" ] && "$py" -c 'import numpy' 2>/dev/null; then
    "$py" "$src/tests/tsv_load.py" "$out" || bad=1
else
    echo "repro_smoke: $py has no numpy: the TSVs were not loaded (apt-get install python3-numpy)"
fi
stray=$(find "$out" -name '*.tmp' | head -3)
[ -z "$stray" ] || { echo "repro_smoke: temporary files left behind: $stray" >&2; bad=1; }
echo "repro_smoke: $n figures, report.pdf and claims.tsv ($(grep -c '^C' "$out/claims.tsv") rows) checked"
exit $bad
