#!/usr/bin/env bash
# Every TSV bbsim writes loads in numpy and pandas as a user would load it (tests/tsv_load.py):
# a tiny train + analyze (last, --ckpt N, --ckpt all) + intervene + sensitivity + collect + theory +
# claims on a corpus holding '"', '#', space, '\', a tab and a non-ASCII byte. Also: the
# token labels are escaped the same way in the TSVs and in `bbsim task`; "# threads" is the
# thread count in use; analyze --ckpt N writes RUN/analysis_stepN/ and leaves RUN/analysis/.
# Exit 77 (CTest SKIP_RETURN_CODE) without /usr/bin/python3 or its numpy.
#   usage: tsv_load.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$1 bbsim=$2
py=${BBSIM_PYTHON:-/usr/bin/python3} # the system python: its numpy (the pyenv python3 on PATH may have none)
[ -x "$py" ] || { echo "tsv_load: $py is missing: skipped"; exit 77; }
"$py" -c 'import numpy' 2>/dev/null || { echo "tsv_load: $py has no numpy (apt-get install python3-numpy): skipped"; exit 77; }
out=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-tsv.XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "tsv_load: $*" >&2; exit 1; }
run() { "$bbsim" "$@" > "$out/last.log" 2>&1 || { cat "$out/last.log" >&2; fail "bbsim $* failed"; }; }

printf 'say "hi" #tag a\\b c\n\tthe "end" # of it\\ here\xe9 # "q" \\\\ x\n' > "$out/corpus.txt"
task=(--corpus "$out/corpus.txt" --seq 16 --eval-batch 8)
run train "${task[@]}" --dim 16 --heads 2 --layers 2 --steps 20 --batch 4 --ckpt-every 10 --out "$out/run" --quiet --threads 1
run analyze "$out/run" --threads 1 --quiet --seqs 3 --tokens 1,2
cp -r "$out/run/analysis" "$out/analysis.before"
run analyze "$out/run" --ckpt 10 --threads 2 --quiet
run analyze "$out/run" --ckpt all --threads 1 --quiet --out "$out/run/dynamics"
run intervene "$out/run" --no-attn 0.0 --set drop_mlp --no-mlp 1 --threads 1 --quiet
run intervene "$out/run" --eval-bos 0 --threads 1 --quiet --out "$out/run/eval_bos0"
run sensitivity "$out/run" --seqs 2 --replace 1 --threads 1 --quiet
run train "${task[@]}" --dim 16 --heads 2 --layers 2 --steps 10 --batch 4 --ckpt-every 10 --lr 1e-2 --out "$out/run2" --quiet --threads 1
run collect "$out/run" "$out/run2" --threads 1 --out "$out/sweep.tsv"
run theory all --simple-steps 20 --simple-batch 4 --simple-seq 8 --simple-eval-batch 8 --t-end 1e3 --gd-steps 100 \
    --samples 20 --toy-steps 50 --cmp-from 10 --types 2 --classes 4 --context 2 --threads 1 --out "$out/theory" --quiet
run claims "$out" --sections theory --quiet

# analyze --ckpt N: its own folder; the last checkpoint's analysis/ untouched
[ -f "$out/run/analysis_step10/risks.tsv" ] || fail "analyze --ckpt 10 wrote no $out/run/analysis_step10/risks.tsv"
grep -qx '# checkpoint 10' "$out/run/analysis_step10/risks.tsv" || fail "analysis_step10/risks.tsv is not checkpoint 10"
diff -r "$out/analysis.before" "$out/run/analysis" > /dev/null || fail "analyze --ckpt 10 changed RUN/analysis/"
rm -rf "$out/analysis.before"

# "# threads": the count in use (--threads 1 and 2, whatever OMP_NUM_THREADS says), once
for f in run/metrics.tsv run/analysis/risks.tsv run/intervene/interventions.tsv run/sensitivity/summary.tsv; do
    grep -qx '# threads 1' "$out/$f" || fail "$f: no '# threads 1' line (--threads 1): $(grep '# threads' "$out/$f")"
done
grep -qx '# threads 2' "$out/run/analysis_step10/risks.tsv" || fail "analysis_step10/risks.tsv: no '# threads 2' (--threads 2)"
for f in $(find "$out" -name '*.tsv'); do
    [ "$(grep -c '^# threads ' "$f")" = 1 ] || fail "$f: not one '# threads N' line: $(grep '^# threads ' "$f" | tr '\n' ' ')"
done
# the runtime settings of the training process are not the run's: no "# config threads 0"
if grep -l '^# config \(threads\|out\|resume\|quiet\) ' $(find "$out/run" -name '*.tsv'); then
    fail "analysis TSVs (above) record the training process's runtime settings as configuration"
fi

# the labels: bbsim task's trigger list and dlogit.tsv agree; the space is \s everywhere
"$bbsim" task "${task[@]}" > "$out/task.txt"
grep -q '^labels      escaped as in every TSV' "$out/task.txt" || fail "bbsim task does not explain the label escape"
pairs=$(sed -n 's/^triggers *[0-9]*: \(.*\) (most frequent by pi)$/\1/p' "$out/task.txt" | tr -d ' ' | tr ',' '\n')
[ -n "$pairs" ] || fail "no trigger list in bbsim task's output: $(cat "$out/task.txt")"
while IFS='=' read -r id label; do
    got=$(awk -F'\t' -v id="$id" '!/^#/ && $3 == id { print $7; exit }' "$out/run/analysis/dlogit.tsv")
    [ "$got" = "$label" ] || fail "token $id: bbsim task shows '$label', dlogit.tsv has '$got'"
done <<< "$pairs"
grep -q '	\\s$' "$out/run/analysis/dlogit.tsv" || fail "dlogit.tsv has no space token written \\s"
grep -q '	\\x22$' "$out/run/analysis/dlogit.tsv" || fail "dlogit.tsv has no '\"' token written \\x22"

# the layout: the column names on line 1, then the provenance
for f in $(find "$out" -name '*.tsv'); do
    head -1 "$f" | grep -q '^#' && fail "$f: line 1 is a comment: $(head -1 "$f")"
    sed -n 2p "$f" | grep -q '^# bbsim ' || fail "$f: line 2 is not '# bbsim VERSION': $(sed -n 2p "$f")"
done

n=$(find "$out" -name '*.tsv' | wc -l)
[ "$n" -ge 40 ] || fail "only $n TSV files: some command wrote less than expected"
"$py" "$src/tests/tsv_load.py" "$out"
