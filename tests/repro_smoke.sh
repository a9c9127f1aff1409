#!/usr/bin/env bash
# The whole `make repro-related` + `make repro-atlas` chain at smoke size (PROFILE=smoke,
# RELATED=1 ATLAS=1: tiny runs through every fragment) with SEEDS=2: every figure the
# fragments declare is a PDF, report.pdf is one, and claims.tsv
# has rows for every claim C1-C17 of the contract, each decided over 2 seeds (the second
# replicate's runs under OUT/seed2/), every TSV loads in numpy (and pandas:
# tests/tsv_load.py). The atlas (paper_repro/atlas.mk): its table has one row per cell and
# model for every activation of `bbsim train --help`, one seed only, a verdict in every
# row but the one run made to diverge (kept, marked, no verdict); the run list names every
# atlas run; a second make does nothing. It tests the plumbing, not the claims.
#   usage: repro_smoke.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$1 bbsim=$2
out=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
command -v gnuplot >/dev/null || { echo "repro_smoke: gnuplot is missing (make deps installs it)" >&2; exit 1; }
# one atlas run made to diverge (SGD at lr 100 with L2 100: a non-finite loss by step 4)
diverge=atlas_1L_sgd_lr0.09_softmax
args=(PROFILE=smoke RELATED=1 ATLAS=1 SEEDS=2 OUT="$out" BBSIM="$bbsim" "TRAIN_FLAGS_$diverge=--lr 100 --wd 100")
make -C "$src/paper_repro" -j2 --no-print-directory "${args[@]}" > "$out.log" 2>&1 \
    || { tail -40 "$out.log" >&2; echo "repro_smoke: make repro (smoke) failed; log above" >&2; rm -f "$out.log"; exit 1; }
rm -f "$out.log"
bad=0
is_pdf() { [ -s "$1" ] && [ "$(head -c 4 "$1")" = "%PDF" ]; }
# every figure the fragments declare
expected=$(make -C "$src/paper_repro" --no-print-directory -s PROFILE=smoke RELATED=1 ATLAS=1 OUT="$out" BBSIM="$bbsim" list-figures)
grep -qx atlas <<< "$expected" || { echo "repro_smoke: list-figures with ATLAS=1 names no atlas figure" >&2; bad=1; }
[ -n "$expected" ] || { echo "repro_smoke: make list-figures named no figure" >&2; exit 1; }
n=0
for f in $expected; do
    n=$((n + 1))
    is_pdf "$out/figures/$f.pdf" || { echo "repro_smoke: $f.pdf is missing, empty or not a PDF" >&2; bad=1; }
done
is_pdf "$out/report.pdf" || { echo "repro_smoke: report.pdf is missing, empty or not a PDF" >&2; bad=1; }
# bbsim explore's pages (paper_repro/explore.mk): a page each, its data filled in
for r in 1L 3L; do
    grep -q '"steps":\[[0-9]' "$out/explore/$r.html" 2>/dev/null \
        || { echo "repro_smoke: explore/$r.html is missing or holds no data" >&2; bad=1; }
done
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
# ---- the atlas: one row per (model, optimizer, lr, activation), every activation bbsim has
acts=$("$bbsim" train --help | sed -n 's/^ *--attn NAME .*(\([A-Za-z0-9_-]*|[A-Za-z0-9_|-]*\)).*/\1/p' | tr '|' ' ')
n_acts=$(wc -w <<< "$acts")
want=$((2 * 3 * 3 * n_acts))   # 2 models x 3 optimizers x 3 lrs x the activations
atlas=$out/atlas/atlas.tsv
if [ ! -s "$atlas" ] || [ "$n_acts" -lt 2 ]; then
    echo "repro_smoke: $atlas is missing or bbsim train --help names $n_acts activations" >&2; bad=1
else
    msg=$(awk -F'\t' -v want="$want" -v acts="$acts" -v diverge="$diverge" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i
                  split("run layers optim lr attn active_dormant active_dormant_removal diverged_at", need, " ")
                  for (k in need) if (!(need[k] in c)) { print "no column " need[k]; bad = 1; exit } next }
        /^#/ { next }
        { rows++; if (seen[$c["run"]]++) print "run " $c["run"] " twice"
          cells[$c["layers"] "/" $c["attn"]]++
          if ($c["run"] == diverge) {
              if (!($c["diverged_at"] > 0) || $c["active_dormant"] != "NaN") print diverge " not marked diverged with no verdict"
              found = 1
          } else if ($c["diverged_at"] != 0 || $c["active_dormant"] !~ /^[01]$/ || $c["active_dormant_removal"] !~ /^[01]$/)
              print "run " $c["run"] ": no 0/1 verdict (" $c["active_dormant"] ", " $c["active_dormant_removal"] ") or diverged_at " $c["diverged_at"] }
        END { if (bad) exit
              if (rows != want) print rows " rows, want " want
              if (!found) print "no row for " diverge
              n = split(acts, a, " ")
              for (i = 1; i <= n; i++) for (l = 1; l <= 3; l += 2)
                  if (cells[l "/" a[i]] != 9) print "activation " a[i] ", " l " layer(s): " cells[l "/" a[i]] + 0 " cells, want 9" }' "$atlas")
    [ -z "$msg" ] || { echo "repro_smoke: $atlas: $msg" >&2; bad=1; }
fi
# one seed: SEEDS=2 does not train the atlas twice
! compgen -G "$out/seed2/runs/atlas_*" > /dev/null || { echo "repro_smoke: the atlas was trained for seed 2" >&2; bad=1; }
# the run list names every atlas run as a job of its own
listed=$(make -C "$src/paper_repro" --no-print-directory -s "${args[@]}" runlist | grep -c '^atlas_' || true)
[ "$listed" = "$want" ] || { echo "repro_smoke: the run list has $listed atlas jobs, want $want" >&2; bad=1; }
# a second make finds everything done: no file rewritten but the plan
touch "$out/.before-second-make"
sleep 1
make -C "$src/paper_repro" -j2 --no-print-directory "${args[@]}" > "$out/second.log" 2>&1 \
    || { tail -20 "$out/second.log" >&2; echo "repro_smoke: the second make failed" >&2; bad=1; }
redone=$(find "$out" -type f -newer "$out/.before-second-make" ! -name plan.tsv ! -name second.log | head -5)
[ -z "$redone" ] || { echo "repro_smoke: the second make rewrote: $redone" >&2; bad=1; }
stray=$(find "$out" -name '*.tmp' | head -3)
[ -z "$stray" ] || { echo "repro_smoke: temporary files left behind: $stray" >&2; bad=1; }
echo "repro_smoke: $n figures, report.pdf, claims.tsv ($(grep -c '^C' "$out/claims.tsv") rows) and the atlas ($want runs, $n_acts activations) checked"
exit $bad
