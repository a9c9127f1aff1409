# Shared style of every figure; each script in plots/ loads it first.
#
# Convention: gnuplot -c plots/NAME.gp OUT.pdf INPUT...   (ARG1 is always the output).
# The Makefile passes OUT.pdf.tmp and renames on success (gnuplot leaves a broken file on
# error). Inside report.pdf the report driver sets REPORT = 1 (terminal and output are the
# report's, one page per figure) and CAPTION (printed at the foot of the page).
# A script sets OUTPUT = ARG1 (load clears ARG1..9) and may set FIG_W / FIG_H (inches)
# before loading this file.
if (!exists("FIG_W")) FIG_W = 6.5
if (!exists("FIG_H")) FIG_H = 4.2
if (!exists("REPORT")) {
    set terminal pdfcairo enhanced color size FIG_W, FIG_H font 'Sans,9' linewidth 1
    set output OUTPUT
}
set encoding utf8
set datafile separator "\t"
set datafile commentschars "#"
set datafile columnheaders
set datafile missing "NaN"
set grid lc rgb '#dddddd'
set key noopaque samplen 2 font ',8'
set tics font ',8'
set title font ',9'
# One colour per series kind, the same in every figure.
set linetype 1 lc rgb '#1f77b4' lw 1.5 pt 7 ps 0.4
set linetype 2 lc rgb '#d62728' lw 1.5 pt 5 ps 0.4
set linetype 3 lc rgb '#2ca02c' lw 1.5 pt 9 ps 0.4
set linetype 4 lc rgb '#9467bd' lw 1.5 pt 11 ps 0.4
set linetype 5 lc rgb '#ff7f0e' lw 1.5 pt 13 ps 0.4
set linetype 6 lc rgb '#8c564b' lw 1.5 pt 3 ps 0.4
set linetype 7 lc rgb '#17becf' lw 1.5 pt 1 ps 0.4
set linetype 8 lc rgb '#7f7f7f' lw 1.5 pt 2 ps 0.4
set palette defined (0 '#ffffff', 0.25 '#c6dbef', 0.6 '#4292c6', 1 '#08306b')
if (exists("CAPTION") && strlen(CAPTION) > 0) {
    set label 999 CAPTION at screen 0.5, screen 0.012 center font ',8' front noenhanced
}
