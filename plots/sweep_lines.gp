# One related-work sweep (paper_repro/related.mk, docs/related.md): three panels against
# the swept setting x: the sink rate Sink_1^0.3 (%) with the chance level 100 H_N/N (dashed
# C_REF), the mean Attn<s> over every head (C_ATTN, solid) and over the last layer's heads
# (dashed), and the eval loss (C_LOSS). SWEEP_TSV has the columns
#   x  run  sink_rate  chance  attn_bos  attn_bos_last  loss
# one row per run, sorted by x. MODE: lin, log (log2 axis) or cat (equally spaced points
# labelled by x: a sweep with 0 in it, e.g. weight decay).
# Usage: gnuplot -c plots/sweep_lines.gp OUT.pdf SWEEP_TSV XLABEL [MODE]
if (ARGC < 3) { print "usage: gnuplot -c sweep_lines.gp OUT.pdf SWEEP_TSV XLABEL [lin|log|cat]"; exit status 2 }
OUTPUT = ARG1
f = ARG2
XLABEL = ARG3
MODE = ARGC >= 4 ? ARG4 : "lin"
if (MODE ne "lin" && MODE ne "log" && MODE ne "cat") { print "sweep_lines.gp: MODE must be lin, log or cat, not ".MODE; exit status 2 }
FIG_W = 7.5
FIG_H = 2.8
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
f = bb_file(f)
load PLOTS."/style.gp"

stats f using 0 nooutput
NR = STATS_records
if (NR < 1) { print "sweep_lines.gp: no rows in ".f; exit status 1 }
array XL[NR]
stats f using (XL[int(column(0)) + 1] = strcol("x"), 0) nooutput
X(i) = MODE eq "cat" ? i + 1 : column("x")
if (MODE eq "cat") {
    set xrange [0.5 : NR + 0.5]
    set xtics () nomirror
    do for [i = 1:NR] { set xtics add (XL[i] i) }
} else {
    set xrange [*:*]
    set xtics nomirror
    if (MODE eq "log") { set logscale x 2; set offsets graph 0.05, graph 0.05, 0, 0 } else { set offsets graph 0.08, graph 0.08, 0, 0 }
}
set xlabel XLABEL noenhanced
set ytics nomirror
set grid xtics ytics
PGH = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H
set multiplot layout 1, 3 margins 0.07, 0.98, 0.55 / PGH + CAP_H, 1 - 0.3 / PGH spacing 0.07, 0

set title "sink rate Sink_1^{0.3} (%)"
set key top left
set yrange [0 : 100]
plot f using (X(int(column(0)))):(column("sink_rate")) with linespoints lc rgb C_ATTN pt 7 ps 0.6 title "Sink_1^{0.3}", \
     f using (X(int(column(0)))):(column("chance")) with lines lc rgb C_REF dt DT_REF title "chance 100 H_N/N"

set title "Attn<s> (share on key 0, non-trigger)" noenhanced
set yrange [0 : 1.05]
plot f using (X(int(column(0)))):(column("attn_bos")) with linespoints lc rgb C_ATTN pt 7 ps 0.6 title "every head", \
     f using (X(int(column(0)))):(column("attn_bos_last")) with linespoints lc rgb C_ATTN dt 2 pt 6 ps 0.6 title "last layer"

set title "eval loss (nats)"
set yrange [*:*]
unset key
plot f using (X(int(column(0)))):(column("loss")) with linespoints lc rgb C_LOSS pt 7 ps 0.6
unset multiplot
