# The claims table as a page: id, claim, measured, threshold, verdict (PASS green, FAIL red).
# Usage: gnuplot -c plots/claims_table.gp OUT.pdf CLAIMS.tsv
if (ARGC < 2) { print "usage: gnuplot -c claims_table.gp OUT.pdf CLAIMS.tsv"; exit status 2 }
OUTPUT = ARG1
f = ARG2
FIG_W = 8.5; FIG_H = 11
if (!exists("PLOTS")) PLOTS = system("dirname ".ARG0)
load PLOTS."/style.gp"
stats f using 0 nooutput
n = STATS_records
npass = 0
stats f using (strcol("verdict") eq "PASS" ? 1 : 0) nooutput
npass = STATS_sum
unset border; unset tics; unset grid; unset key
set xrange [0:1]
rows = n > 45 ? n : 45
set yrange [rows + 1.5:-3]
set lmargin 0; set rmargin 0; set tmargin 0; set bmargin 0
set label 1 sprintf("Claims of docs/figures.md: %d of %d pass", npass, n) at 0.02, -1.8 left font ',12' noenhanced
fs = n > 40 ? ',6' : ',7'
cut(s, k) = strlen(s) > k ? s[1:k-2].'..' : s
plot f using (0.02):($0 + 1):(strcol("id")) with labels left noenhanced font fs, \
     f using (0.07):($0 + 1):(cut(strcol("claim"), 58)) with labels left noenhanced font fs, \
     f using (0.55):($0 + 1):(sprintf("%.4g", column("measured"))) with labels right noenhanced font fs, \
     f using (0.57):($0 + 1):(cut(strcol("threshold"), 40)) with labels left noenhanced font fs, \
     f using (0.98):($0 + 1):(strcol("verdict")):(strcol("verdict") eq "PASS" ? 0x1a7f37 : 0xc62828) \
        with labels right noenhanced tc rgb variable font fs, \
     '+' using (0.02):(0):("id") every ::0::0 with labels left font ',8', \
     '+' using (0.07):(0):("claim") every ::0::0 with labels left font ',8', \
     '+' using (0.55):(0):("measured") every ::0::0 with labels right font ',8', \
     '+' using (0.57):(0):("threshold") every ::0::0 with labels left font ',8', \
     '+' using (0.98):(0):("verdict") every ::0::0 with labels right font ',8'
