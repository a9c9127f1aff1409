# Residual-state peak over training (claim C8): |Res<s>| after layer 0 (l0_resid_bos,
# solid) and the mean norm of the other tokens (l0_resid_other, dashed, the same colour)
# against training step, one colour per run: AdamW blue, SGD vermillion, ReLU green when
# the label names one of them, else the next free palette colour. The legend gives each
# run's growth of |Res<s>| from 10% of its training (the first checkpoint at or after 10%
# of its last step) to its end. When the curves span more than a factor 10 (the ReLU lr sweep,
# paper_repro/deep.mk) the y axis is logarithmic, so the flat
# curves stay readable.
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
LOGY = YLO > 0 && YHI / YLO > 10

set title '|Res<s>| after layer 0 over training' noenhanced
set xlabel 'training step'
if (LOGY) {
    set ylabel 'residual norm after layer 0 (log scale)'
    set logscale y
    KEYF = 0.06 * (NR + 2)                        # head room for the key, as the linear offsets
    set yrange [YLO / 1.5 : YHI * (1.5 * YHI / YLO) ** (KEYF / (1 - KEYF))]
} else {
    set ylabel 'residual norm after layer 0'
    set yrange [0:*]
    set offsets 0, 0, graph 0.06 * (NR + 2), 0     # head room for the key
}
set key top left reverse Left samplen 3 spacing 1.15 noenhanced
plot for [i = 1:NR] DYN[i] using (column("step")):(column("l0_resid_bos")) with lines lw 2 lc rgb COL[i] \
        title sprintf('%s: ×%.2f from 10%% of training to the end', LAB[i], GROW[i]), \
     for [i = 1:NR] DYN[i] using (column("step")):(column("l0_resid_other")) with lines lw 1.5 dt 2 lc rgb COL[i] notitle, \
     NaN with lines lw 2 lc rgb C_REF title 'solid: |Res<s>| (the <s> token)', \
     NaN with lines lw 1.5 dt 2 lc rgb C_REF title 'dashed: mean of the other tokens'
