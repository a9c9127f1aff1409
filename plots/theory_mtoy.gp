# Residual-peak toy (claim C10): m over steps for Adam and SGD, with the closed form of
# continuous-time ascent. SGD and the closed form agree to ~1e-6, so the lower panel zooms
# on them (m - m_0) with the closed form drawn dashed on top of a wide SGD line.
# Usage: gnuplot -c plots/theory_mtoy.gp OUT.pdf THEORY_OUT_DIR
if (ARGC < 2) { print "usage: gnuplot -c theory_mtoy.gp OUT.pdf THEORY_OUT_DIR"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
FIG_W = 5.0; FIG_H = 4.2
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
dir = bb_file(dir)
load PLOTS."/style.gp"
f = dir.'/mtoy.tsv'
st(x) = x > 0 ? x : NaN
stats f using (column("m_sgd")) nooutput
m0 = STATS_min
B = 0.11 + CAP_H
set multiplot
set logscale x
set xrange [1:*]
set grid
set lmargin at screen 0.13
set rmargin at screen 0.97

# top: the whole picture
set tmargin at screen 0.92
set bmargin at screen B + 0.36
set format x ''
set ylabel 'residual norm m'
set yrange [0:*]
set key top left reverse Left samplen 3 spacing 1.2
set title "Residual-peak toy: gradient g = log t / (t m^3), m_0 = 10, η = 0.3"
plot f using (st(column("step"))):(column("m_adam")) with lines lw 2 lc rgb C_ADAMW title 'Adam', \
     f using (st(column("step"))):(column("m_sgd")) with lines lw 4 lc rgb C_SGD title 'SGD', \
     f using (st(column("step"))):(column("m_closed_form")) with lines dt DT_REF lw 1.5 lc rgb C_REF \
       title 'closed form (m_0^4 + 2η log^2 t)^{1/4}'

# bottom: SGD and the closed form, zoomed
unset title
set tmargin at screen B + 0.34
set bmargin at screen B
set format x '10^{%L}'
set xlabel 'step t'
set ylabel "m - m_0 (SGD zoom)"
set autoscale y
set yrange [0:*]
set format y '%.3f'
set ytics 0.005
set key top left reverse Left samplen 3
plot f using (st(column("step"))):(column("m_sgd") - m0) with lines lw 4 lc rgb C_SGD title 'SGD', \
     f using (st(column("step"))):(column("m_closed_form") - m0) with lines dt DT_REF lw 1.5 lc rgb C_REF \
       title 'closed form (drawn on top)'
unset multiplot
