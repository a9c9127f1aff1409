#!/usr/bin/env bash
# Fault test: make repro (PROFILE=smoke) with no gnuplot (GNUPLOT=/nonexistent, which
# the top-level `make repro GNUPLOT=...` passes down). The data (runs, TSVs, claims.tsv)
# must still be written, no PDF made, and the run must fail, naming gnuplot and how to
# install it.
#   usage: faults_gnuplot.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$1 bbsim=$2
out=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-nognuplot.XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "faults_gnuplot: $*" >&2; tail -20 "$out/make.log" >&2; exit 1; }

rc=0
make -C "$src/paper_repro" -j2 --no-print-directory PROFILE=smoke OUT="$out/repro" BBSIM="$bbsim" \
    GNUPLOT=/nonexistent > "$out/make.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "make repro without gnuplot exited 0"
grep -q "gnuplot ('/nonexistent') not found" "$out/make.log" || fail "no message naming gnuplot"
grep -q "apt-get install gnuplot-nox" "$out/make.log" || fail "the message does not say how to install gnuplot"
[ -s "$out/repro/claims.tsv" ] || fail "claims.tsv was not written"
grep -q '^C1	' "$out/repro/claims.tsv" || fail "claims.tsv has no row for C1"
ls "$out"/repro/runs/*/metrics.tsv > /dev/null 2>&1 || fail "no run wrote metrics.tsv"
ls "$out"/repro/runs/*/analysis/*.tsv > /dev/null 2>&1 || fail "no analysis TSV was written"
pdfs=$(find "$out/repro" -name '*.pdf' | head -3)
[ -z "$pdfs" ] || fail "PDFs made without gnuplot: $pdfs"
stray=$(find "$out/repro" -name '*.tmp' | head -3)
[ -z "$stray" ] || fail "temporary files left behind: $stray"
echo "faults_gnuplot: no gnuplot: exit $rc, data and claims.tsv ($(grep -c '^C' "$out/repro/claims.tsv") rows) written, no PDF"
