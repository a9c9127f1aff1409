# Shared by the fault tests (sourced): a tiny training configuration that checkpoints at
# every step (so an interrupted-and-resumed run has the same files as an uninterrupted one),
# and the comparison of two run directories.
BB_FLAGS=(--table synthetic --vocab 16 --dim 16 --seq 16 --batch 8 --eval-every 10 --eval-batch 16 --threads 1 --quiet)

# The rows of metrics.tsv without the '#' provenance lines and the ms_per_step column
# (wall-clock time, the only column that is not a function of the configuration).
metrics_rows() {
    grep -v '^#' "$1" | awk -F'\t' -v OFS='\t' '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ms_per_step") skip = i }
        { out = ""; for (i = 1; i <= NF; i++) if (i != skip) out = out (out == "" ? "" : OFS) $i; print out }'
}

# same_run REF RUN: every checkpoint byte for byte, the same list of checkpoint files, the
# same metrics rows, no temporary file left. Prints what differs; returns 1 if anything does.
same_run() {
    local ref=$1 run=$2 bad=0 f
    if ! diff <(cd "$ref/ckpt" && ls) <(cd "$run/ckpt" && ls) > /dev/null; then
        echo "checkpoint lists differ: $(diff <(cd "$ref/ckpt" && ls) <(cd "$run/ckpt" && ls) | head -4 | tr '\n' ' ')"
        bad=1
    fi
    for f in "$ref"/ckpt/*.bbck; do
        [ -f "$run/ckpt/${f##*/}" ] || continue
        cmp -s "$f" "$run/ckpt/${f##*/}" || { echo "ckpt/${f##*/} differs"; bad=1; }
    done
    if ! diff <(metrics_rows "$ref/metrics.tsv") <(metrics_rows "$run/metrics.tsv") > /dev/null; then
        echo "metrics.tsv rows differ: $(diff <(metrics_rows "$ref/metrics.tsv") <(metrics_rows "$run/metrics.tsv") | head -3 | tr '\n' ' ')"
        bad=1
    fi
    local stray
    stray=$(find "$run" -name '*.tmp' | head -3)
    [ -z "$stray" ] || { echo "temporary files left: $stray"; bad=1; }
    return $bad
}

now_ms() { date +%s%3N; }
