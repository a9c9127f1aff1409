# Residual-state peak over training (claim C8): |Res<s>| after layer 0 (l0_resid_bos,
# solid) and the mean norm of the other tokens (l0_resid_other, dashed, the same colour)
# against training step, one colour per run: AdamW blue, SGD vermillion, ReLU green when
# the label names one of them, else the next free palette colour. The legend gives each
# run's growth of |Res<s>| from 10% of its training (the first checkpoint at or after 10%
# of its last step) to its end. When the curves span more than a factor 10 (the ReLU lr sweep,
# paper_repro/deep.mk) the y axis is logarithmic, so the flat
# curves stay readable.
# Over seeds (docs/figures.md#seeds) a DYNAMICS_TSV may be a replicate list of make repro
# (plots/replicates.gp: dynamics.tsv of every seed of that run, the first seed first): the
# lines and the growth in the legend are the first seed's, and behind each solid line a light
# band in its colour gives the range (min to max) of |Res<s>| over the seeds at each
# checkpoint step. A run's seeds share the checkpoint schedule (an error otherwise).
# Usage: gnuplot -c plots/resid_curves.gp OUT.pdf LABEL1 DYNAMICS_TSV1 [LABEL2 DYNAMICS_TSV2 ...]
if (ARGC < 3 || ARGC % 2 == 0) {
    print "usage: gnuplot -c resid_curves.gp OUT.pdf LABEL1 DYNAMICS_TSV1 [LABEL2 DYNAMICS_TSV2 ...]"; exit status 2
}
OUTPUT = ARG1
NR = (ARGC - 1) / 2
array LAB[NR]
array DYN[NR]
do for [i = 1:NR] { LAB[i] = ARGV[2 * i]; DYN[i] = ARGV[2 * i + 1] }
FIG_W = 6.0; FIG_H = 3.8
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
do for [i = 1:NR] { DYN[i] = bb_file(DYN[i]) }
load PLOTS."/style.gp"

# the seeds of each run: NREP[i], and the range of |Res<s>| at each step over them, appended
# to the datablock $SPREAD (columns run, step, lo, hi) when the run has more than one seed
array NREP[NR]
NSEED = 1
SPREAD_ROWS = 0      # (a fresh $SPREAD: in the report a previous page's may be there)
do for [i = 1:NR] {
    call PLOTS."/replicates.gp" DYN[i]
    DYN[i] = REP_FILE[1]
    NREP[i] = REP_N
    NSEED = REP_N > NSEED ? REP_N : NSEED
    if (REP_N > 1) {
        stats DYN[i] using 0 nooutput
        NS = int(STATS_records)
        array STEP[NS]
        stats DYN[i] using (STEP[int($0) + 1] = column("step"), 0) nooutput
        array LO[NS]
        array HI[NS]
        do for [k = 1:NS] { LO[k] = NaN; HI[k] = NaN }
        do for [r = 1:REP_N] {
            g = REP_FILE[r]
            stats g using 0 nooutput
            bad = (int(STATS_records) != NS) ? -1 : 0
            if (!bad) { stats g using (s = column("step"), (s != STEP[int($0) + 1] && !bad) ? bad = int($0) + 1 : 0, 0) nooutput }
            if (bad) {
                print sprintf("resid_curves.gp: the checkpoint steps of %s differ from those of %s (%s): every seed must share the schedule", \
                              g, DYN[i], bad < 0 ? sprintf("%d rows, not %d", int(STATS_records), NS) : sprintf("row %d", bad))
                exit status 1
            }
            stats g using (k = int($0) + 1, v = column("l0_resid_bos"), \
                           (v == v && !(LO[k] <= v)) ? LO[k] = v : 0, \
                           (v == v && !(HI[k] >= v)) ? HI[k] = v : 0, 0) nooutput
        }
        if (SPREAD_ROWS > 0) { set print $SPREAD append } else { set print $SPREAD; print "run\tstep\tlo\thi" }
        do for [k = 1:NS] { print sprintf("%d\t%.17g\t%.17g\t%.17g", i, STEP[k], LO[k], HI[k]) }
        unset print
        SPREAD_ROWS = SPREAD_ROWS + NS
    }
}

array COL[NR]
array GROW[NR]
nfree = 0
YLO = NaN; YHI = NaN
do for [i = 1:NR] {
    if (!IS_RUN(LAB[i])) { nfree = nfree + 1 }
    COL[i] = C_RUN(LAB[i], nfree)
    stats DYN[i] using (column("step")) nooutput
    s_end = STATS_max
    v10 = NaN; vend = NaN
    stats DYN[i] using ((v10 != v10 && column("step") >= 0.1 * s_end) ? v10 = column("l0_resid_bos") : 0, \
                        (column("step") == s_end) ? vend = column("l0_resid_bos") : 0) nooutput
    GROW[i] = vend / v10
    stats DYN[i] using (column("l0_resid_bos")) nooutput
    YLO = (YLO != YLO || STATS_min < YLO) ? STATS_min : YLO
    YHI = (YHI != YHI || STATS_max > YHI) ? STATS_max : YHI
    stats DYN[i] using (column("l0_resid_other")) nooutput
    YLO = STATS_min < YLO ? STATS_min : YLO
}
if (NSEED > 1) {
    # the bands inside the y range too
    stats $SPREAD using (column("lo")) nooutput
    YLO = STATS_min < YLO ? STATS_min : YLO
    stats $SPREAD using (column("hi")) nooutput
    YHI = STATS_max > YHI ? STATS_max : YHI
}
LOGY = YLO > 0 && YHI / YLO > 10
NKEY = NR + 2 + (NSEED > 1 ? 1 : 0)              # lines of the key

set title '|Res<s>| after layer 0 over training' noenhanced
set xlabel 'training step'
if (LOGY) {
    set ylabel 'residual norm after layer 0 (log scale)'
    set logscale y
    KEYF = 0.06 * NKEY                            # head room for the key, as the linear offsets
    set yrange [YLO / 1.5 : YHI * (1.5 * YHI / YLO) ** (KEYF / (1 - KEYF))]
} else {
    set ylabel 'residual norm after layer 0'
    set yrange [0:*]
    set offsets 0, 0, graph 0.06 * NKEY, 0         # head room for the key
}
set key top left reverse Left samplen 3 spacing 1.15 noenhanced
# the seeds' bands and their key entry (macros, empty with one seed: the single-seed figure)
BANDS = NSEED < 2 ? "" : "for [i = 1:NR] $SPREAD using (int(column('run')) == i ? column('step') : NaN):(column('lo')):(column('hi')) \
    with filledcurves fc rgb COL[i] fs transparent solid 0.2 noborder notitle,"
BAND_KEY = NSEED < 2 ? "" : ", keyentry with filledcurves fc rgb C_MARK fs transparent solid 0.3 noborder \
    title sprintf('band: range of |Res<s>| over %d seeds', NSEED)"
plot @BANDS for [i = 1:NR] DYN[i] using (column("step")):(column("l0_resid_bos")) with lines lw 2 lc rgb COL[i] \
        title sprintf('%s: ×%.2f from 10%% of training to the end', LAB[i], GROW[i]), \
     for [i = 1:NR] DYN[i] using (column("step")):(column("l0_resid_other")) with lines lw 1.5 dt 2 lc rgb COL[i] notitle, \
     NaN with lines lw 2 lc rgb C_REF title 'solid: |Res<s>| (the <s> token)', \
     NaN with lines lw 1.5 dt 2 lc rgb C_REF title 'dashed: mean of the other tokens' @BAND_KEY
