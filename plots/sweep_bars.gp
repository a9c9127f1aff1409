# A related-work comparison of a few runs (paper_repro/related.mk: C15 activations, the
# first-token controls): three panels of bars (C_BAR, one per run, labelled by x): the sink
# rate Sink_1^0.3 (%) with each run's chance level 100 H_N/N as a dashed C_REF tick (the
# value printed above the higher of the two), the mean Attn<s> over every head, and the
# eval loss. SWEEP_TSV is the table of sweep_lines.gp
#   x  run  sink_rate  chance  attn_bos  attn_bos_last  loss
# in file order; x is a text label.
# Usage: gnuplot -c plots/sweep_bars.gp OUT.pdf SWEEP_TSV
if (ARGC < 2) { print "usage: gnuplot -c sweep_bars.gp OUT.pdf SWEEP_TSV"; exit status 2 }
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
if (NR < 1) { print "sweep_bars.gp: no rows in ".f; exit status 1 }
array XL[NR]
stats f using (XL[int(column(0)) + 1] = strcol("x"), 0) nooutput
stats f using "loss" nooutput
LMAX = STATS_max
set xrange [0.4 : NR + 0.6]
set xtics () nomirror noenhanced scale 0 rotate by 30 right font F_KEY
do for [i = 1:NR] { set xtics add (XL[i] i) }
set ytics nomirror
set grid noxtics ytics
set style fill solid 0.9 border lc rgb '#333333'
set boxwidth 0.6
PGH = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H
set multiplot layout 1, 3 margins 0.07, 0.98, 0.75 / PGH + CAP_H, 1 - 0.3 / PGH spacing 0.07, 0
fmt(v) = sprintf(abs(v) >= 10 ? "%.1f" : "%.3g", v)
I = "(int(column(0)) + 1)"

set title "sink rate Sink_1^{0.3} (%)"
set yrange [0 : 110]
set key top right font F_KEY
plot f using (@I):(column("sink_rate")) with boxes fc rgb C_BAR notitle, \
     f using (@I):((column("sink_rate") > column("chance") ? column("sink_rate") : column("chance")) + 4):(fmt(column("sink_rate"))) \
         with labels font F_KEY notitle, \
     f using (@I - 0.35):(column("chance")):(0.7):(0) with vectors nohead lc rgb C_REF dt DT_REF lw 2 title "chance 100 H_N/N"

unset key
set title "mean Attn<s> over heads" noenhanced
set yrange [0 : 1.15]
plot f using (@I):(column("attn_bos")) with boxes fc rgb C_BAR, \
     f using (@I):(column("attn_bos") + 0.04):(fmt(column("attn_bos"))) with labels font F_KEY

set title "eval loss (nats)"
set yrange [0 : LMAX * 1.15]
plot f using (@I):(column("loss")) with boxes fc rgb C_BAR, \
     f using (@I):(column("loss") + 0.04 * LMAX):(fmt(column("loss"))) with labels font F_KEY
unset multiplot
