# Interventions (claim C3): excess risk over the Bayes floor (column excess) on the bigram
# (nontrigger) and backcopy (trigger) positions, one group of two bars per intervention:
# full first, then the others in file order. The dashed lines are the excess risk of a
# uniform random guess of each domain, uniform_risk - oracle_risk.
# Usage: gnuplot -c plots/intervention_bars.gp OUT.pdf INTERVENTIONS_TSV
#   INTERVENTIONS_TSV: interventions.tsv of bbsim intervene (columns intervention, domain,
#   oracle_risk, excess, uniform_risk, ...).
if (ARGC < 2) { print "usage: gnuplot -c intervention_bars.gp OUT.pdf INTERVENTIONS_TSV"; exit status 2 }
OUTPUT = ARG1
f = ARG2
FIG_W = 5.5; FIG_H = 3.8
if (!exists("PLOTS")) PLOTS = system("dirname ".ARG0)
load PLOTS."/style.gp"

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
stats f using (strcol("domain") eq "trigger" || strcol("domain") eq "nontrigger" ? column("excess") : NaN) nooutput
ymax = STATS_max > chance_bc ? STATS_max : chance_bc
ymax = ymax > chance_big ? ymax : chance_big

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

# the random-guess lines first, so that the bars cover them (their key entries come after)
plot chance_big with lines dt DT_REF lw 2 lc rgb C_BIGRAM notitle, \
     chance_bc with lines dt DT_REF lw 2 lc rgb C_BACKCOPY notitle, \
     f using (dom("nontrigger") ? xb(strcol("intervention")) : NaN):(column("excess")) with boxes \
        fc rgb C_BIGRAM title 'bigram (non-trigger positions)', \
     f using (dom("trigger") ? xc(strcol("intervention")) : NaN):(column("excess")) with boxes \
        fc rgb C_BACKCOPY title 'backcopy (trigger positions)', \
     NaN with lines dt DT_REF lw 2 lc rgb C_BIGRAM title sprintf('random guess, bigram (%.2f)', chance_big), \
     NaN with lines dt DT_REF lw 2 lc rgb C_BACKCOPY title sprintf('random guess, backcopy (%.2f)', chance_bc), \
     f using (dom("nontrigger") ? xb(strcol("intervention")) : NaN):(column("excess")):(vfmt(column("excess"))) \
        with labels center offset 0, 0.6 font F_KEY notitle, \
     f using (dom("trigger") ? xc(strcol("intervention")) : NaN):(column("excess")):(vfmt(column("excess"))) \
        with labels center offset 0, 0.6 font F_KEY notitle
