# Trained simplified model (claim C12): the BOS logit a (pi-weighted mean over non-trigger
# types), |Wo b|, Attn<s> and the excess risks, AdamW vs SGD, all against step on a log
# axis. Colour is the optimizer in every panel (AdamW blue, SGD vermillion); line style is
# the second distinction (|Wo b| vs its mean-free part; bigram vs backcopy).
# Usage: gnuplot -c plots/theory_simple.gp OUT.pdf THEORY_OUT_DIR
if (ARGC < 2) { print "usage: gnuplot -c theory_simple.gp OUT.pdf THEORY_OUT_DIR"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
FIG_W = 6.5; FIG_H = 4.6
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
dir = bb_file(dir)
load PLOTS."/style.gp"
f = dir.'/simple_dynamics.tsv'
sel(o) = (strcol("optim") eq o && column("step") > 0) ? column("step") : NaN
stats f using (column("step")) nooutput
s_end = STATS_max
set multiplot layout 2,2 margins 0.09,0.98,0.09 + CAP_H,0.95 spacing 0.09,0.11
set logscale x
set xrange [1:s_end]
set format x '10^{%L}'
set grid
set key font F_KEY samplen 2.5 spacing 1.1 reverse Left

set title 'BOS logit a (mean over non-trigger types)'
set ylabel 'a'
set key top left
plot f using (sel("adamw")):(column("a_mean")) with linespoints lw 1.5 pt 7 ps 0.3 lc rgb C_ADAMW title 'AdamW', \
     f using (sel("sgd")):(column("a_mean")) with linespoints lw 1.5 pt 7 ps 0.3 lc rgb C_SGD title 'SGD'

set title 'BOS value |Wo b|'
set ylabel '|Wo b|'
set key top center
set yrange [0:*]
set offsets 0, 0, graph 0.35, 0     # head room for the key
plot f using (sel("adamw")):(column("wo_b_norm")) with lines lw 1.5 lc rgb C_ADAMW title 'AdamW', \
     f using (sel("adamw")):(column("wo_b_perp_norm")) with lines lw 1.5 dt 2 lc rgb C_ADAMW title 'AdamW, mean-free part', \
     f using (sel("sgd")):(column("wo_b_norm")) with lines lw 1.5 lc rgb C_SGD title 'SGD', \
     f using (sel("sgd")):(column("wo_b_perp_norm")) with lines lw 1.5 dt 2 lc rgb C_SGD title 'SGD, mean-free part'

set title 'Attn<s> over non-trigger positions'
set xlabel 'step'
set offsets 0, 0, 0, 0
set ylabel 'Attn<s>' noenhanced
set yrange [0:1.05]
set key left center
plot f using (sel("adamw")):(column("attn_bos")) with lines lw 1.5 lc rgb C_ADAMW title 'AdamW', \
     f using (sel("sgd")):(column("attn_bos")) with lines lw 1.5 lc rgb C_SGD title 'SGD', \
     0.9 with lines dt DT_REF lw 1 lc rgb C_REF title 'threshold 0.9'

set title 'excess risk over the Bayes floor'
set ylabel 'excess risk (nats)'
set autoscale y
set logscale y
set format y '10^{%L}'
set key bottom left
plot f using (sel("adamw")):(column("bigram_risk") - column("bigram_floor")) with lines lw 1.5 lc rgb C_ADAMW title 'AdamW, bigram', \
     f using (sel("adamw")):(column("backcopy_risk") - column("backcopy_floor")) with lines lw 1.5 dt 2 lc rgb C_ADAMW title 'AdamW, backcopy', \
     f using (sel("sgd")):(column("bigram_risk") - column("bigram_floor")) with lines lw 1.5 lc rgb C_SGD title 'SGD, bigram', \
     f using (sel("sgd")):(column("backcopy_risk") - column("backcopy_floor")) with lines lw 1.5 dt 2 lc rgb C_SGD title 'SGD, backcopy'
unset multiplot
