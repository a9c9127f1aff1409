# Reduced gradient model (claim C11): y_v against log t with the 1/2 log t lines; |s_perp|
# and the excess loss on log-log axes; gradient flow (ODE) vs gradient descent; the
# fixed-context case. Every panel shares the t range of the ODE, [1, t_end].
# Usage: gnuplot -c plots/theory_reduced.gp OUT.pdf THEORY_OUT_DIR
if (ARGC < 2) { print "usage: gnuplot -c theory_reduced.gp OUT.pdf THEORY_OUT_DIR"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
FIG_W = 6.5; FIG_H = 4.6
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
dir = bb_file(dir)
load PLOTS."/style.gp"
fy = dir.'/reduced_y.tsv'
fs = dir.'/reduced_state.tsv'
fg = dir.'/reduced_odegd.tsv'
ff = dir.'/reduced_fixed.tsv'
is(s, v) = (strcol("solver") eq s && column("type") == v)
stats fy using (column("t")) nooutput
t_end = STATS_max
stats fg using (column("t")) nooutput
t_gd = STATS_max
ntypes = 4
stats fy using (column("type")) nooutput
ntypes = int(STATS_max) + 1
set multiplot layout 2,2 margins 0.09,0.98,0.09 + CAP_H,0.95 spacing 0.09,0.11
set logscale x
set xrange [1:t_end]
set format x '10^{%L}'
set xtics 100
set grid
set key font F_KEY samplen 2.5 spacing 1.1

set title 'y_v(t) (ODE) and the lines ½ log t + c_v'
set ylabel 'BOS logit y_v'
set key bottom right reverse Left
plot for [v=0:ntypes-1] fy using (is("ode", v) ? column("t") : NaN):(column("y")) with lines lw 1.5 lc rgb C_TYPE(v) title sprintf('type %d', v), \
     for [v=0:ntypes-1] fy using (is("ode", v) ? column("t") : NaN):(column("half_log_t_line")) with lines dt DT_REF lw 1 lc rgb C_TYPE(v) notitle, \
     NaN with lines dt DT_REF lw 1 lc rgb C_REF title '½ log t + c_v (dashed)'

set title '|s_⊥| and excess loss'
set logscale y
set format y '10^{%L}'
set ylabel '|s_⊥|, excess loss'
set key bottom left reverse Left
plot fs using (strcol("solver") eq "ode" ? column("t") : NaN):(column("s_perp_norm")) with lines lw 1.5 lc rgb C_VAL title '|s_⊥|, ODE', \
     fs using (strcol("solver") eq "ode" ? column("t") : NaN):(column("excess_loss")) with lines lw 1.5 lc rgb C_LOSS title 'excess loss, ODE', \
     fs using (strcol("solver") eq "gd" ? column("t") : NaN):(column("excess_loss")) with points pt 6 ps 0.4 lc rgb C_MARK title 'excess loss, GD'

set title sprintf('ODE vs GD (GD runs to t = 10^{%d})', int(floor(log10(t_gd) + 0.5)))
set xlabel 't'
set ylabel '|y_{GD} - y_{ODE}| / y_{ODE}'
set key top right reverse Left
plot for [v=0:ntypes-1] fg using (column("type") == v ? column("t") : NaN):(column("rel_diff")) with lines lw 1.5 lc rgb C_TYPE(v) title sprintf('type %d', v)

set title 'fixed context: y stops (no sink)'
unset logscale y
set format y '%g'
set ylabel 'BOS logit y_v'
set key bottom right reverse Left
plot for [v=0:ntypes-1] ff using (column("type") == v ? column("t") : NaN):(column("y")) with lines lw 1.5 lc rgb C_TYPE(v) title sprintf('type %d', v)
unset multiplot
