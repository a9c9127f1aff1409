# Trained simplified model (claim C12): the BOS logit a (pi-weighted mean over non-trigger
# types) on a log-step axis, |Wo b|, Attn<s> and the excess risks, AdamW vs SGD.
# Usage: gnuplot -c plots/theory_simple.gp OUT.pdf THEORY_OUT_DIR
if (ARGC < 2) { print "usage: gnuplot -c theory_simple.gp OUT.pdf THEORY_OUT_DIR"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
FIG_W = 5.0; FIG_H = 3.5
if (!exists("PLOTS")) PLOTS = system("dirname ".ARG0)
load PLOTS."/style.gp"
f = dir.'/simple_dynamics.tsv'
sel(o) = (strcol("optim") eq o && column("step") > 0) ? column("step") : NaN
set multiplot layout 2,2 margins 0.09,0.98,0.1,0.95 spacing 0.1,0.12
set logscale x
set format x '10^{%L}'
set grid
set key top left font ',7' samplen 2

set title 'BOS logit a (mean over non-trigger types)' font ',8'
plot f using (sel("adamw")):(column("a_mean")) with linespoints pt 7 ps 0.3 title 'AdamW', \
     f using (sel("sgd")):(column("a_mean")) with linespoints pt 7 ps 0.3 title 'SGD'

set title 'BOS value |Wo b|' font ',8'
plot f using (sel("adamw")):(column("wo_b_norm")) with lines lw 1.5 title 'AdamW', \
     f using (sel("adamw")):(column("wo_b_perp_norm")) with lines dt 2 title 'AdamW, mean-free part', \
     f using (sel("sgd")):(column("wo_b_norm")) with lines lw 1.5 title 'SGD'

set title 'Attn<s> over non-trigger positions' font ',8'
set xlabel 'step'
set yrange [0:1.05]
plot f using (sel("adamw")):(column("attn_bos")) with lines lw 1.5 title 'AdamW', \
     f using (sel("sgd")):(column("attn_bos")) with lines lw 1.5 title 'SGD'

set title 'excess risk (nats)' font ',8'
set autoscale y
set logscale y
set format y '10^{%L}'
set key bottom left
plot f using (sel("adamw")):(column("bigram_risk") - column("bigram_floor")) with lines lw 1.5 title 'AdamW bigram', \
     f using (sel("adamw")):(column("backcopy_risk") - column("backcopy_floor")) with lines lw 1.5 title 'AdamW backcopy', \
     f using (sel("sgd")):(column("bigram_risk") - column("bigram_floor")) with lines dt 2 title 'SGD bigram', \
     f using (sel("sgd")):(column("backcopy_risk") - column("backcopy_floor")) with lines dt 2 title 'SGD backcopy'
unset multiplot
