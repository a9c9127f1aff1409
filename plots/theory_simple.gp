# Trained simplified model (claim C12): the BOS logit a (pi-weighted mean over non-trigger
# types), |Wo b|, Attn<s> and the excess risks, AdamW vs SGD, all against step on a log
# axis. Colour is the optimizer in every panel (AdamW blue, SGD vermillion); line style is
# the second distinction (|Wo b| vs its mean-free part; bigram vs backcopy).
# Over seeds (docs/figures.md#seeds), the lines are the first seed's (THEORY_OUT_DIR) and
# each line gets a light band behind it in its colour: the range (min to max) over the seeds
# at each step. The seeds share the step schedule: a seed whose (optim, step) rows differ
# from the first seed's is an error.
# Usage: gnuplot -c plots/theory_simple.gp OUT.pdf THEORY_OUT_DIR [REPLICATES_TSV]
#   REPLICATES_TSV: a replicate list of make repro (plots/replicates.gp: simple_dynamics.tsv
#   of every seed, the first seed first); with one seed, or without it, no bands
if (ARGC < 2) { print "usage: gnuplot -c theory_simple.gp OUT.pdf THEORY_OUT_DIR [REPLICATES_TSV]"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
REPS = ARGC >= 3 ? ARG3 : ""
FIG_W = 6.5; FIG_H = 4.6
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
dir = bb_file(dir)
load PLOTS."/style.gp"
f = dir.'/simple_dynamics.tsv'
if (strlen(REPS) > 0) {
    call PLOTS."/replicates.gp" bb_file(REPS)
} else {
    REP_N = 1
}
sel(o) = (strcol("optim") eq o && column("step") > 0) ? column("step") : NaN
stats f using (column("step")) nooutput
s_end = STATS_max

# the spread over seeds: the range of each plotted quantity at each row (optim, step) of the
# first seed's file, over the seeds, written to the datablock $SPREAD (columns optim, step,
# lo_Q, hi_Q for each quantity Q of Q_NAMES) for the bands; computed before the log axes
# are set (stats would drop the rows outside them)
Q_NAMES = "a wob wobp attn big bc"
q_val(q) = q == 1 ? column("a_mean") : q == 2 ? column("wo_b_norm") : q == 3 ? column("wo_b_perp_norm") : \
           q == 4 ? column("attn_bos") : q == 5 ? column("bigram_risk") - column("bigram_floor") : \
           column("backcopy_risk") - column("backcopy_floor")
NQ = words(Q_NAMES)
if (REP_N > 1) {
    stats f using 0 nooutput
    NS = int(STATS_records)
    array OPT[NS]
    array STEP[NS]
    stats f using (OPT[int($0) + 1] = strcol("optim"), STEP[int($0) + 1] = column("step"), 0) nooutput
    array LO[NQ * NS]
    array HI[NQ * NS]
    do for [k = 1:NQ * NS] { LO[k] = NaN; HI[k] = NaN }
    do for [r = 1:REP_N] {
        g = REP_FILE[r]
        stats g using 0 nooutput
        bad = (int(STATS_records) != NS) ? -1 : 0
        if (!bad) { stats g using (i = int($0) + 1, ((strcol("optim") ne OPT[i] || column("step") != STEP[i]) && !bad) ? bad = i : 0, 0) nooutput }
        if (bad) {
            print sprintf("theory_simple.gp: the (optim, step) rows of %s differ from those of %s (%s): every seed must share the schedule", \
                          g, f, bad < 0 ? sprintf("%d rows, not %d", int(STATS_records), NS) : sprintf("row %d", bad))
            exit status 1
        }
        do for [q = 1:NQ] {
            o = (q - 1) * NS
            stats g using (i = o + int($0) + 1, v = q_val(q), \
                           (v == v && !(LO[i] <= v)) ? LO[i] = v : 0, \
                           (v == v && !(HI[i] >= v)) ? HI[i] = v : 0, 0) nooutput
        }
    }
    set print $SPREAD
    line = "optim\tstep"
    do for [q = 1:NQ] { line = line.sprintf("\tlo_%s\thi_%s", word(Q_NAMES, q), word(Q_NAMES, q)) }
    print line
    do for [i = 1:NS] {
        line = sprintf("%s\t%.17g", OPT[i], STEP[i])
        do for [q = 1:NQ] { line = line.sprintf("\t%.17g\t%.17g", LO[(q - 1) * NS + i], HI[(q - 1) * NS + i]) }
        print line
    }
    unset print
}
# band(Q, O, C): the plot element of the seeds' band of quantity Q for optimizer O in colour
# C, expanded as a macro before the lines; empty with one seed (the single-seed figure: an
# empty plot element would still read its data)
band(q, o, c) = (REP_N < 2) ? "" : sprintf("$SPREAD using (sel('%s')):(column('lo_%s')):(column('hi_%s')) with filledcurves fc rgb '%s' fs transparent solid 0.2 noborder notitle, ", o, q, q, c)
BAND_KEY = (REP_N < 2) ? "" : sprintf(", keyentry with filledcurves fc rgb C_MARK fs transparent solid 0.3 noborder title 'bands: range over %d seeds'", REP_N)
set multiplot layout 2,2 margins 0.09,0.98,0.09 + CAP_H,0.95 spacing 0.09,0.11
set logscale x
set xrange [1:s_end]
set format x '10^{%L}'
set grid
set key font F_KEY samplen 2.5 spacing 1.1 reverse Left

set title 'BOS logit a (mean over non-trigger types)'
set ylabel 'a'
set key top left
B1 = band("a", "adamw", C_ADAMW).band("a", "sgd", C_SGD)
plot @B1 f using (sel("adamw")):(column("a_mean")) with linespoints lw 1.5 pt 7 ps 0.3 lc rgb C_ADAMW title 'AdamW', \
     f using (sel("sgd")):(column("a_mean")) with linespoints lw 1.5 pt 7 ps 0.3 lc rgb C_SGD title 'SGD' @BAND_KEY

set title 'BOS value |Wo b|'
set ylabel '|Wo b|'
set key top center
set yrange [0:*]
set offsets 0, 0, graph 0.35, 0     # head room for the key
B2 = band("wob", "adamw", C_ADAMW).band("wobp", "adamw", C_ADAMW).band("wob", "sgd", C_SGD).band("wobp", "sgd", C_SGD)
plot @B2 f using (sel("adamw")):(column("wo_b_norm")) with lines lw 1.5 lc rgb C_ADAMW title 'AdamW', \
     f using (sel("adamw")):(column("wo_b_perp_norm")) with lines lw 1.5 dt 2 lc rgb C_ADAMW title 'AdamW, mean-free part', \
     f using (sel("sgd")):(column("wo_b_norm")) with lines lw 1.5 lc rgb C_SGD title 'SGD', \
     f using (sel("sgd")):(column("wo_b_perp_norm")) with lines lw 1.5 dt 2 lc rgb C_SGD title 'SGD, mean-free part'

set title 'Attn<s> over non-trigger positions'
set xlabel 'step'
set offsets 0, 0, 0, 0
set ylabel 'Attn<s>' noenhanced
set yrange [0:1.05]
set key left center
B3 = band("attn", "adamw", C_ADAMW).band("attn", "sgd", C_SGD)
plot @B3 f using (sel("adamw")):(column("attn_bos")) with lines lw 1.5 lc rgb C_ADAMW title 'AdamW', \
     f using (sel("sgd")):(column("attn_bos")) with lines lw 1.5 lc rgb C_SGD title 'SGD', \
     0.9 with lines dt DT_REF lw 1 lc rgb C_REF title 'threshold 0.9'

set title 'excess risk over the Bayes floor'
set ylabel 'excess risk (nats)'
set autoscale y
set logscale y
set format y '10^{%L}'
set key bottom left
B4 = band("big", "adamw", C_ADAMW).band("bc", "adamw", C_ADAMW).band("big", "sgd", C_SGD).band("bc", "sgd", C_SGD)
plot @B4 f using (sel("adamw")):(column("bigram_risk") - column("bigram_floor")) with lines lw 1.5 lc rgb C_ADAMW title 'AdamW, bigram', \
     f using (sel("adamw")):(column("backcopy_risk") - column("backcopy_floor")) with lines lw 1.5 dt 2 lc rgb C_ADAMW title 'AdamW, backcopy', \
     f using (sel("sgd")):(column("bigram_risk") - column("bigram_floor")) with lines lw 1.5 lc rgb C_SGD title 'SGD, bigram', \
     f using (sel("sgd")):(column("backcopy_risk") - column("backcopy_floor")) with lines lw 1.5 dt 2 lc rgb C_SGD title 'SGD, backcopy'
unset multiplot
