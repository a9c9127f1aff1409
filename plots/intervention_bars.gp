# Interventions (claim C3): excess risk over the Bayes floor (column excess) on the bigram
# (nontrigger) and backcopy (trigger) positions, one group of two bars per intervention:
# full first, then the others in file order. The dashed lines are the excess risk of a
# uniform random guess of each domain, uniform_risk - oracle_risk.
# Over seeds (docs/figures.md#seeds) the bars and their numbers are the first seed's, and a
# small dot on each bar marks every seed's value (the first seed's too), spread across the
# bar in seed order; the numbers sit above the highest dot.
# Usage: gnuplot -c plots/intervention_bars.gp OUT.pdf INTERVENTIONS_TSV
#   INTERVENTIONS_TSV: interventions.tsv of bbsim intervene (columns intervention, domain,
#   oracle_risk, excess, uniform_risk, ...), or a replicate list of make repro
#   (plots/replicates.gp: one interventions.tsv per seed).
if (ARGC < 2) { print "usage: gnuplot -c intervention_bars.gp OUT.pdf INTERVENTIONS_TSV|REPLICATES_TSV"; exit status 2 }
OUTPUT = ARG1
INPUT = ARG2
FIG_W = 5.5; FIG_H = 3.8
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
INPUT = bb_file(INPUT)
load PLOTS."/style.gp"
call PLOTS."/replicates.gp" INPUT
f = REP_FILE[1]

# the interventions, full first, then in file order
LIST = " full "
stats f using (n = strcol("intervention"), (strstrt(LIST, " ".n." ") == 0 ? (LIST = LIST.n." ", 1) : 0)) nooutput
NG = words(LIST)
gi(n) = strstrt(LIST, " ".n." ") > 0 ? words(LIST[1:strstrt(LIST, " ".n." ")]) : NaN
# the random-guess level of each domain
stats f using (strcol("domain") eq "nontrigger" ? column("uniform_risk") - column("oracle_risk") : NaN) nooutput
chance_big = STATS_mean
stats f using (strcol("domain") eq "trigger" ? column("uniform_risk") - column("oracle_risk") : NaN) nooutput
chance_bc = STATS_mean
# the top of each bar's numbers: the highest of its seeds' values (TOP_BIG, TOP_BC: group gi + 1)
array TOP_BIG[NG]
array TOP_BC[NG]
do for [k = 1:NG] { TOP_BIG[k] = NaN; TOP_BC[k] = NaN }
up(v, t) = (v == v && !(t >= v)) ? v : t
do for [r = 1:REP_N] {
    stats REP_FILE[r] using (k = gi(strcol("intervention")) + 1, v = column("excess"), \
        k == k && strcol("domain") eq "nontrigger" ? TOP_BIG[k] = up(v, TOP_BIG[k]) : 0, \
        k == k && strcol("domain") eq "trigger" ? TOP_BC[k] = up(v, TOP_BC[k]) : 0, 0) nooutput
}
ymax = chance_bc > chance_big ? chance_bc : chance_big
do for [k = 1:NG] { ymax = up(TOP_BIG[k], up(TOP_BC[k], ymax)) }

BW = 0.36
set boxwidth BW absolute
set style fill solid 0.9 border lc rgb '#333333'
set xrange [-0.6:NG - 0.4]
set yrange [0:ymax * 1.32]
set xtics () nomirror noenhanced scale 0 font F_TEXT
do for [i = 1:NG] { set xtics add (word(LIST, i) i - 1) }
set grid noxtics ytics
set ylabel 'excess risk (nats)'
set title 'Interventions: excess risk over the Bayes floor'
set key top left reverse Left samplen 2.5 spacing 1.15 maxrows 2 width -1
xb(n) = gi(n) - BW / 2 - 0.01
xc(n) = gi(n) + BW / 2 + 0.01
dom(d) = strcol("domain") eq d
vfmt(v) = v < 0.01 ? sprintf("%.1e", v) : sprintf("%.2f", v)
# seed r's dot: spread over 0.6 of the bar's width, in seed order
xdot(r) = (r - 1.0) / (REP_N - 1) * 0.6 * BW - 0.3 * BW
# The seeds' dots are macros, empty with one seed (the single-seed figure: no dots).
SEED_DOTS = (REP_N < 2) ? "" : "for [r = 1:REP_N] REP_FILE[r] using (dom('nontrigger') ? xb(strcol('intervention')) + xdot(r) : NaN):(column('excess')) \
        with points pt 7 ps 0.45 lc rgb '#000000' notitle, \
    for [r = 1:REP_N] REP_FILE[r] using (dom('trigger') ? xc(strcol('intervention')) + xdot(r) : NaN):(column('excess')) \
        with points pt 7 ps 0.45 lc rgb '#000000' notitle, \
    keyentry with points pt 7 ps 0.45 lc rgb '#000000' title sprintf('each of %d seeds', REP_N),"

# the random-guess lines first, so that the bars cover them (their key entries come after)
plot chance_big with lines dt DT_REF lw 2 lc rgb C_BIGRAM notitle, \
     chance_bc with lines dt DT_REF lw 2 lc rgb C_BACKCOPY notitle, \
     f using (dom("nontrigger") ? xb(strcol("intervention")) : NaN):(column("excess")) with boxes \
        fc rgb C_BIGRAM title 'bigram (non-trigger positions)', \
     f using (dom("trigger") ? xc(strcol("intervention")) : NaN):(column("excess")) with boxes \
        fc rgb C_BACKCOPY title 'backcopy (trigger positions)', \
     NaN with lines dt DT_REF lw 2 lc rgb C_BIGRAM title sprintf('random guess, bigram (%.2f)', chance_big), \
     NaN with lines dt DT_REF lw 2 lc rgb C_BACKCOPY title sprintf('random guess, backcopy (%.2f)', chance_bc), \
     @SEED_DOTS \
     f using (dom("nontrigger") ? xb(strcol("intervention")) : NaN):(TOP_BIG[gi(strcol("intervention")) + 1]):(vfmt(column("excess"))) \
        with labels center offset 0, 0.6 font F_KEY notitle, \
     f using (dom("trigger") ? xc(strcol("intervention")) : NaN):(TOP_BC[gi(strcol("intervention")) + 1]):(vfmt(column("excess"))) \
        with labels center offset 0, 0.6 font F_KEY notitle
