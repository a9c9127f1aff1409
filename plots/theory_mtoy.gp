# Residual-peak toy (claim C10): m over steps for Adam and SGD, with the closed form of
# continuous-time ascent. Usage: gnuplot -c plots/theory_mtoy.gp THEORY_OUT_DIR OUT.pdf
if (ARGC < 2) { print "usage: gnuplot -c theory_mtoy.gp DIR OUT.pdf"; exit status 2 }
dir = ARG1
out = ARG2
set terminal pdfcairo size 5in,3.5in font 'Sans,9'
set output out.'.tmp'
set datafile separator "\t"
set datafile columnheaders
set datafile commentschars "#"
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
set output
system(sprintf("mv -f '%s.tmp' '%s'", out, out))
