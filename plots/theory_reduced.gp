# Reduced gradient model (claim C11): y_v against log t with the 1/2 log t lines; |s_perp|
# and the excess loss on log-log axes; gradient flow (ODE) vs gradient descent; the
# fixed-context case. Usage: gnuplot -c plots/theory_reduced.gp OUT.pdf THEORY_OUT_DIR
if (ARGC < 2) { print "usage: gnuplot -c theory_reduced.gp OUT.pdf THEORY_OUT_DIR"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
FIG_W = 5.0; FIG_H = 3.5
if (!exists("PLOTS")) PLOTS = system("dirname ".ARG0)
load PLOTS."/style.gp"
fy = dir.'/reduced_y.tsv'
fs = dir.'/reduced_state.tsv'
fg = dir.'/reduced_odegd.tsv'
ff = dir.'/reduced_fixed.tsv'
is(s, v) = (strcol("solver") eq s && column("type") == v)
set multiplot layout 2,2 margins 0.09,0.98,0.1,0.95 spacing 0.1,0.12
set logscale x
set format x '10^{%L}'
set grid
set key top left font ',7' samplen 2

set title 'y_v(t) (ODE) and the 1/2 log t lines' font ',8'
set ylabel 'BOS logit y_v'
plot for [v=0:3] fy using (is("ode", v) ? column("t") : NaN):(column("y")) with lines lw 1.5 lc v+1 title sprintf('type %d', v), \
     for [v=0:3] fy using (is("ode", v) ? column("t") : NaN):(column("half_log_t_line")) with lines dt 2 lc v+1 notitle

set title '|s_perp| and excess loss' font ',8'
set logscale y
set format y '10^{%L}'
set ylabel ''
plot fs using (strcol("solver") eq "ode" ? column("t") : NaN):(column("s_perp_norm")) with lines lw 1.5 title '|s_perp| ODE', \
     fs using (strcol("solver") eq "ode" ? column("t") : NaN):(column("excess_loss")) with lines lw 1.5 title 'excess ODE', \
     fs using (strcol("solver") eq "gd" ? column("t") : NaN):(column("excess_loss")) with points pt 6 ps 0.4 title 'excess GD'

set title 'ODE vs GD: |y_{GD} - y_{ODE}| / y_{ODE}' font ',8'
set xlabel 't'
plot for [v=0:3] fg using (column("type") == v ? column("t") : NaN):(column("rel_diff")) with lines lc v+1 title sprintf('type %d', v)

set title 'fixed context: y stops (no sink)' font ',8'
unset logscale y
set format y '%g'
plot for [v=0:3] ff using (column("type") == v ? column("t") : NaN):(column("y")) with lines lw 1.5 lc v+1 title sprintf('type %d', v)
unset multiplot
