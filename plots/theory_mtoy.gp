# Residual-peak toy (claim C10): m over steps for Adam and SGD, with the closed form of
# continuous-time ascent. Usage: gnuplot -c plots/theory_mtoy.gp OUT.pdf THEORY_OUT_DIR
if (ARGC < 2) { print "usage: gnuplot -c theory_mtoy.gp OUT.pdf THEORY_OUT_DIR"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
FIG_W = 5.0; FIG_H = 3.5
if (!exists("PLOTS")) PLOTS = system("dirname ".ARG0)
load PLOTS."/style.gp"
set logscale x
set xlabel 'step t'
set ylabel 'residual norm m'
set yrange [0:*]
set key top left
set grid
set title 'Residual-peak toy: g = log t / (t m^3), m_0 = 10, eta = 0.3'
f = dir.'/mtoy.tsv'
plot f using (column("step") > 0 ? column("step") : NaN):(column("m_adam")) with lines lw 2 title 'Adam', \
     f using (column("step") > 0 ? column("step") : NaN):(column("m_sgd")) with lines lw 2 title 'SGD', \
     f using (column("step") > 0 ? column("step") : NaN):(column("m_closed_form")) with lines dt 2 lw 1.5 lc rgb 'black' \
       title '(m_0^4 + 2 eta log^2 t)^{1/4}'
