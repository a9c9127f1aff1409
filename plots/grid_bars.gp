# The BOS packing grid (paper_repro/related.mk, C16): each first-token run (trained with
# BOS always first, on packed windows, without BOS) evaluated on plain sequences with BOS
# first (C_BOS bars) and without BOS (C_OTHER bars). Three panels of excess risk
# (risk - oracle risk, nats): over all positions, bigram (non-trigger) positions and
# backcopy (trigger) positions. GRID_TSV has one row per (training, evaluation), the two
# evaluations of a training in consecutive rows:
#   train  run  eval  risk  oracle_risk  excess  excess_trigger  excess_nontrigger
# with eval "BOS" or "no_BOS".
# Usage: gnuplot -c plots/grid_bars.gp OUT.pdf GRID_TSV
if (ARGC < 2) { print "usage: gnuplot -c grid_bars.gp OUT.pdf GRID_TSV"; exit status 2 }
OUTPUT = ARG1
f = ARG2
FIG_W = 8.0
FIG_H = 3.0
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
f = bb_file(f)
load PLOTS."/style.gp"

stats f using 0 nooutput
NR = STATS_records
if (NR < 2 || NR % 2) { print "grid_bars.gp: ".f." needs two rows (BOS, no_BOS) per training"; exit status 1 }
NT = NR / 2
array TL[NT]
stats f using (int(column(0)) % 2 == 0 ? TL[int(column(0)) / 2 + 1] = strcol("train") : 0, 0) nooutput
array COLS[3] = ["excess", "excess_nontrigger", "excess_trigger"]
array TITLES[3] = ["all positions", "bigram (non-trigger) positions", "backcopy (trigger) positions"]
array YM[3]
do for [p = 1:3] { stats f using (column(COLS[p])) nooutput; YM[p] = STATS_max > 0 ? STATS_max : 1 }
set xrange [0.4 : NT + 0.6]
set xtics () nomirror noenhanced scale 0 font F_KEY
do for [i = 1:NT] { set xtics add (TL[i] i) }
set xlabel "trained with" font F_KEY
set ytics nomirror
set grid noxtics ytics
set style fill solid 0.9 border lc rgb '#333333'
set boxwidth 0.36
PGH = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H
set multiplot layout 1, 3 margins 0.07, 0.98, 0.85 / PGH + CAP_H, 1 - 0.55 / PGH spacing 0.07, 0
fmt(v) = sprintf(abs(v) >= 10 ? "%.1f" : "%.2g", v)
# x of a row: its training's slot, BOS on the left, no_BOS on the right
X = "(int(column(0)) / 2 + 1 + (strcol(\"eval\") eq \"BOS\" ? -0.19 : 0.19))"
IS_BOS = "(strcol(\"eval\") eq \"BOS\")"

do for [p = 1:3] {
    COL = COLS[p]
    set title TITLES[p] noenhanced
    YMAX = YM[p]
    set yrange [0 : YMAX * 1.3]
    if (p == 1) { set ylabel "excess risk (nats)"; set key at screen 0.5, screen 1 - 0.08 / PGH center top horizontal font F_KEY } else { unset ylabel; unset key }
    plot f using (@X):(@IS_BOS ? column(COL) : 1/0) with boxes fc rgb C_BOS title "evaluated with BOS", \
         f using (@X):(@IS_BOS ? 1/0 : column(COL)) with boxes fc rgb C_OTHER title "without BOS", \
         f using (@X):(column(COL) + 0.03 * YMAX):(fmt(column(COL))) with labels rotate by 90 left font F_KEY notitle
}
unset multiplot
