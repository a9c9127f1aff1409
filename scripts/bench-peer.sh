#!/bin/bash
# make bench-peer: bbsim against the independent PyTorch peer (bb_torch.py), side by side
# in one run and one environment: ROUNDS rounds of `bbsim bench` over CONFIGS, each
# followed by the peer at the same shapes in its fastest setup on this machine (torch 1
# thread, OpenBLAS on every core, jemalloc). Prints the medians over the rounds and the
# ratio, with the CPU and the sgemm ceiling bbsim measured in the same rounds, and
# writes the table to OUT as TSV.
#
# bbsim's ms/step is bench's train-ms: the median step of `bbsim train` in a fresh process
# (batch sampling included), what a user gets; the peer's counts forward, backward and
# optimizer only (its own step_ms), which favours the peer.
#
# Variables: BBSIM (build/bbsim), PEER (path of bb_torch.py; default ../shared/peer/
# beside the repository), CONFIGS (quick,small), ROUNDS (3), SECONDS_EACH (3), OUT
# (out/bench-peer.tsv), BUSY (0; 1: one core kept busy for the whole measurement by a
# `bbsim train --threads 1` beside it, as on a laptop that is never idle). OPENBLAS_CORETYPE is passed to both as it is set: run
# `env -u OPENBLAS_CORETYPE make bench-peer` to let OpenBLAS pick its kernels for both.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BBSIM=${BBSIM:-$ROOT/build/bbsim}
PEER=${PEER:-$ROOT/../shared/peer/bb_torch.py}
CONFIGS=${CONFIGS:-quick,small}
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-3}
OUT=${OUT:-$ROOT/out/bench-peer.tsv}
BUSY=${BUSY:-0}
PY=/usr/bin/python3 # Debian's, where python3-torch lives (a pyenv shim may come first on PATH)
NPROC=$(nproc)

die() { echo "bench-peer: $*" >&2; exit 1; }

[ -x "$BBSIM" ] || die "$BBSIM not built (run: make build)"
[ -f "$PEER" ] || die "the PyTorch peer is not at $PEER; set PEER=/path/to/bb_torch.py"
if ! "$PY" -c 'import torch, numpy' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ]; then
    pkgs="python3-torch python3-numpy libjemalloc2"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench-peer: installing $pkgs"
        apt-get install -y $pkgs >/dev/null || { apt-get update >/dev/null && apt-get install -y $pkgs >/dev/null; } ||
            die "apt-get install $pkgs failed"
    else
        die "the peer needs Debian's PyTorch; run: sudo apt-get install -y $pkgs"
    fi
fi

tmp=$(mktemp -d)
busy_pid=
trap 'rm -rf "$tmp"; [ -z "$busy_pid" ] || kill "$busy_pid" 2>/dev/null || true' EXIT
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
load="quiet"
if [ "$BUSY" = 1 ]; then
    # the busy core: a long 3-layer training on one thread, killed at the end
    "$BBSIM" train --preset paper --layers 3 --dim 128 --seq 16 --batch 32 --steps 100000000 --threads 1 --quiet \
        --ckpt 100000000,100000000,1 --out "$tmp/busy" >/dev/null 2>&1 &
    busy_pid=$!
    load="one core busy (bbsim train --threads 1 beside it)"
fi
echo "# bench-peer on $cpu, $NPROC cores, $load, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)}; $ROUNDS rounds"
shapes=$("$BBSIM" bench --configs "$CONFIGS" --list | tr '\t' ' ') || die "bbsim bench --configs $CONFIGS failed"
[ -n "$shapes" ] || die "no configuration chosen by CONFIGS=$CONFIGS"
for r in $(seq 1 "$ROUNDS"); do
    echo "# round $r/$ROUNDS: bbsim bench"
    "$BBSIM" bench --configs "$CONFIGS" --min-time "$SECONDS_EACH" --out "$tmp/bbsim.$r.tsv" >/dev/null
    while read -r name L d N B; do
        echo "# round $r/$ROUNDS: peer $name"
        "$PY" "$PEER" --layers "$L" --dim "$d" --seq "$N" --batch "$B" --steps 1000000 --warmup 10 \
            --max-minutes "$(awk -v s="$SECONDS_EACH" 'BEGIN {print s / 60}')" --threads 1 \
            --blas-threads "$NPROC" --jemalloc --log-every 0 --print-every 0 >"$tmp/peer.$name.$r.log" 2>&1 ||
            { cat "$tmp/peer.$name.$r.log" >&2; die "the peer failed at $name"; }
        ms=$(sed -n 's/^summary .*median_step_ms=\([0-9.]*\).*/\1/p' "$tmp/peer.$name.$r.log")
        [ -n "$ms" ] || die "no summary line from the peer at $name (log above)"
        printf '%s\t%s\n' "$name" "$ms" >>"$tmp/peer.tsv"
    done <<<"$shapes"
done

# column FILE CONFIG NAME: the value of column NAME (by its header) in CONFIG's row of bench's TSV
column() { awk -F'\t' -v n="$2" -v c="$3" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next} $1 == n && k {print $k}' "$1"; }
median() { sort -g | awk '{a[NR] = $1} END {print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ceiling=$(for r in $(seq 1 "$ROUNDS"); do sed -n 's/^# sgemm_large_gflops //p' "$tmp/bbsim.$r.tsv"; done | median)
mkdir -p "$(dirname "$OUT")"
{
    echo "# bench-peer $(date -u +%Y-%m-%dT%H:%M:%SZ) on $cpu, $NPROC cores, $load"
    echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)}; medians of $ROUNDS rounds; sgemm ceiling $ceiling GFLOP/s"
    echo "# bbsim: $("$BBSIM" --version); peer: $PEER (torch 1 thread, OpenBLAS $NPROC threads, jemalloc)"
    printf 'config\tL\td\tN\tB\tbbsim_ms\tpeer_ms\tspeedup\tbbsim_x_bound\n'
    while read -r name L d N B; do
        b=$(for r in $(seq 1 "$ROUNDS"); do column "$tmp/bbsim.$r.tsv" "$name" train_ms_per_step; done | median)
        x=$(for r in $(seq 1 "$ROUNDS"); do column "$tmp/bbsim.$r.tsv" "$name" x_bound_train; done | median)
        p=$(awk -F'\t' -v n="$name" '$1 == n {print $2}' "$tmp/peer.tsv" | median)
        printf '%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\n' "$name" "$L" "$d" "$N" "$B" "$b" "$p" \
            "$(awk -v b="$b" -v p="$p" 'BEGIN {print p / b}')" "$x"
    done <<<"$shapes"
} >"$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
awk -F'\t' '/^#/ {print; next} {printf "%-18s %3s %4s %4s %4s %9s %9s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$OUT"
echo "# speedup = peer ms / bbsim ms (same run); bbsim_x_bound = bbsim ms over the FLOP bound at the sgemm ceiling"
echo "# written to $OUT"
