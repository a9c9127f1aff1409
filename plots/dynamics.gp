# Training dynamics (claims C4, C5): five quantities of one run over training steps, each
# divided by its own maximum over the run: backcopy risk, bigram excess, Attn<s>,
# dlogit<s> (mean over non-trigger types, with the 10-90% band over types divided by the
# same maximum as the mean) and |Val<s>|. The step axis is linear up to a break step and
# logarithmic after it: the break is the last step of the dense checkpoint schedule (where
# the spacing of the steps first grows), else 1/10 of the last step.
# Attn<s> is a share in [0, 1]: when its maximum is below 0.5 (no sink, e.g. ReLU attention,
# C5) it is drawn as it is, since dividing by a small maximum would draw a sink that is not
# there; the legend says which.
# Over seeds (docs/figures.md#seeds), the lines are the first seed and each quantity gets a
# light band behind its line: the range (min to max) over the seeds at each checkpoint step,
# every seed normalised as the line is (by its own maximum; Attn<s> not rescaled for a seed
# whose maximum is below 0.5). The seeds share the checkpoint schedule: a seed whose steps
# differ from the first seed's is an error.
# Usage: gnuplot -c plots/dynamics.gp OUT.pdf DYNAMICS_TSV [HEAD] [TITLE]
#   DYNAMICS_TSV: dynamics.tsv of bbsim analyze --ckpt all, or a replicate list of make
#   repro (plots/replicates.gp: one dynamics.tsv per seed); HEAD: the head's column prefix,
#   l<layer>h<head> (default l0h0); TITLE: the plot title (default names the head).
if (ARGC < 2) { print "usage: gnuplot -c dynamics.gp OUT.pdf DYNAMICS_TSV|REPLICATES_TSV [HEAD (l0h0)] [TITLE]"; exit status 2 }
OUTPUT = ARG1
INPUT = ARG2
HEAD = ARGC >= 3 && strlen(ARG3) > 0 ? ARG3 : 'l0h0'
TITLE = ARGC >= 4 ? ARG4 : sprintf('training dynamics, head %s', HEAD)
FIG_W = 6.5; FIG_H = 3.8
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
INPUT = bb_file(INPUT)
load PLOTS."/style.gp"
call PLOTS."/replicates.gp" INPUT
f = REP_FILE[1]

c_attn = HEAD.'_attn_bos'
c_dl = HEAD.'_dlogit_mean'
c_p10 = HEAD.'_dlogit_p10'
c_p90 = HEAD.'_dlogit_p90'
c_val = HEAD.'_val_bos'
# every column must be there, in every seed's file (a clear message instead of gnuplot's);
# the header is read by stats, not through a shell
hdrs(k) = (h = columnheader(k), strlen(h) > 0 && k < 10000 ? "\t".h.hdrs(k + 1) : "\t")
do for [r = 1:REP_N] {
    hdr = ""
    stats REP_FILE[r] every ::0::0 using (hdr = hdrs(1), 0) nooutput
    do for [c in "step backcopy_risk bigram_excess ".c_attn." ".c_dl." ".c_p10." ".c_p90." ".c_val] {
        if (strstrt(hdr, "\t".c."\t") == 0) {
            print sprintf("dynamics.gp: %s has no column %s (HEAD is %s)", REP_FILE[r], c, HEAD); exit status 1
        }
    }
}

# the maximum of each quantity over the run (of |x| if the maximum is not positive)
amax(col) = (STATS_max > 0) ? STATS_max : ((STATS_min < 0) ? -STATS_min : 1)
stats f using (column("backcopy_risk")) nooutput
m_risk = amax(0)
stats f using (column("bigram_excess")) nooutput
m_big = amax(0)
stats f using (column(c_attn)) nooutput
m_attn = amax(0)
attn_raw = (m_attn < 0.5)
d_attn = attn_raw ? 1.0 : m_attn
stats f using (column(c_dl)) nooutput
m_dl = amax(0)
stats f using (column(c_val)) nooutput
m_val = amax(0)

# the break step: the last step before the spacing of the checkpoints first grows
prev = NaN; d0 = NaN; brk = NaN
stats f using (s = column("step"), \
               (brk != brk && d0 == d0 && s - prev > 1.5 * d0) ? brk = prev : 0, \
               (d0 != d0 && prev == prev) ? d0 = s - prev : 0, \
               prev = s) nooutput
S = STATS_max
if (brk != brk || brk <= 0 || brk >= S / 1.5) { brk = S / 10.0 }
LOGPART = 1.5                 # the log part is this many times as wide as the linear one
span = log(S / brk)
fwd(x) = x <= brk ? x : brk * (1 + LOGPART * log(x / brk) / span)
inv(y) = y <= brk ? y : brk * exp((y / brk - 1) * span / LOGPART)
set nonlinear x via fwd(x) inverse inv(x)
set xrange [0:S]

# ticks: round steps in the linear part, 1-2-5 steps in the log part, not too close
kstep(v) = v >= 1e6 ? sprintf("%gM", v / 1e6) : v >= 1e4 ? sprintf("%gk", v / 1e3) : sprintf("%g", v)
e = 10 ** floor(log10(brk / 4.0))
lin_dt = (brk / e <= 8) ? e : (brk / e <= 20) ? 2 * e : 5 * e
set xtics ()
do for [i = 0:int(brk / lin_dt + 0.5)] { set xtics add (kstep(i * lin_dt) i * lin_dt) }
last_tick = brk
W = fwd(S)
do for [k = int(floor(log10(brk))):int(ceil(log10(S)))] {
    do for [m in "1 2 3 5"] {
        v = m * 10.0 ** k
        if (v > brk && v <= S && fwd(v) - fwd(last_tick) >= 0.07 * W) {
            set xtics add (kstep(v) v)
            last_tick = v
        }
    }
}
set xtics nomirror
set grid xtics ytics

# the break: a thin vertical line, labelled
set arrow 1 from brk, graph 0 to brk, graph 1 nohead lw 0.8 dt 3 lc rgb C_MARK back
set label 1 "linear | log steps" at brk, graph 1.0 center offset 0, 0.6 font F_KEY tc rgb C_MARK

set title TITLE noenhanced offset 0, 0.6
set xlabel 'training step'
set ylabel 'normalised to max'
set ytics 0.2
set key outside right top vertical Left reverse samplen 2.5 spacing 1.15 width -2 font F_KEY

# the spread over seeds: LO[(q - 1) * NS + i] .. HI[...] is the range of quantity q (of
# Q_COLS) at the i-th step over the seeds, each seed normalised as the lines are; written to
# the datablock $SPREAD (columns step, lo_1, hi_1, ..., lo_5, hi_5) for the plot
NQ = 5
Q_COLS = "backcopy_risk bigram_excess ".c_attn." ".c_dl." ".c_val
Q_COLOURS = C_BACKCOPY." ".C_BIGRAM." ".C_ATTN." ".C_DLOGIT." ".C_VAL
if (REP_N > 1) {
    stats f using 0 nooutput
    NS = int(STATS_records)
    array STEP[NS]
    stats f using (STEP[int($0) + 1] = column("step"), 0) nooutput
    array LO[NQ * NS]
    array HI[NQ * NS]
    do for [k = 1:NQ * NS] { LO[k] = NaN; HI[k] = NaN }
    do for [r = 1:REP_N] {
        g = REP_FILE[r]
        stats g using 0 nooutput
        bad = (int(STATS_records) != NS) ? 1 : 0
        if (!bad) { stats g using (s = column("step"), (s != STEP[int($0) + 1] && !bad) ? bad = int($0) + 1 : 0, 0) nooutput }
        if (bad) {
            print sprintf("dynamics.gp: the checkpoint steps of %s differ from those of %s (%s): every seed must share the schedule", \
                          g, f, bad == 1 && int(STATS_records) != NS ? sprintf("%d rows, not %d", int(STATS_records), NS) : sprintf("row %d", bad))
            exit status 1
        }
        do for [q = 1:NQ] {
            c = word(Q_COLS, q)
            stats g using (column(c)) nooutput
            d = amax(0)
            if (q == 3 && d < 0.5) { d = 1.0 }    # Attn<s> without a sink: not rescaled, as the line
            o = (q - 1) * NS
            stats g using (i = o + int($0) + 1, v = column(c) / d, \
                           (v == v && !(LO[i] <= v)) ? LO[i] = v : 0, \
                           (v == v && !(HI[i] >= v)) ? HI[i] = v : 0, 0) nooutput
        }
    }
}
set print $SPREAD
line = "step"
do for [q = 1:NQ] { line = line.sprintf("\tlo_%d\thi_%d", q, q) }
print line
if (REP_N > 1) {
    do for [i = 1:NS] {
        line = sprintf("%.17g", STEP[i])
        do for [q = 1:NQ] { line = line.sprintf("\t%.17g\t%.17g", LO[(q - 1) * NS + i], HI[(q - 1) * NS + i]) }
        print line
    }
}
unset print

# the first seed's 10-90% band, the seeds' bands over it (so that the dlogit<s> one shows on
# the other), then the lines. The seeds' parts are macros, empty with one seed, which draws
# the single-seed figure (an empty plot loop would still read its data and warn).
SEED_BANDS = (REP_N < 2) ? "" : "for [q = 1:NQ] $SPREAD using 1:(column(2 * q)):(column(2 * q + 1)) with filledcurves \
    fc rgb word(Q_COLOURS, q) fs transparent solid 0.2 noborder notitle,"
SEED_KEY = (REP_N < 2) ? "" : ", keyentry with filledcurves fc rgb C_MARK fs transparent solid 0.3 noborder \
    title sprintf('band: range over %d seeds', REP_N) noenhanced"
plot f using (column("step")):(column(c_p10) / m_dl):(column(c_p90) / m_dl) with filledcurves \
        fc rgb C_DLOGIT_BAND fs transparent solid 0.5 noborder title 'dlogit<s>, 10–90% of types' noenhanced, \
     @SEED_BANDS \
     f using (column("step")):(column("backcopy_risk") / m_risk) with lines lw 2 lc rgb C_BACKCOPY \
        title sprintf('backcopy risk (max %.3g nats)', m_risk) noenhanced, \
     f using (column("step")):(column("bigram_excess") / m_big) with lines lw 2 lc rgb C_BIGRAM \
        title sprintf('bigram excess (max %.3g nats)', m_big) noenhanced, \
     f using (column("step")):(column(c_attn) / d_attn) with lines lw 2 lc rgb C_ATTN \
        title (attn_raw ? sprintf('Attn<s>, not rescaled (max %.3g)', m_attn) : sprintf('Attn<s> (max %.3g)', m_attn)) noenhanced, \
     f using (column("step")):(column(c_dl) / m_dl) with lines lw 2 lc rgb C_DLOGIT \
        title sprintf('dlogit<s>, mean (max %.3g)', m_dl) noenhanced, \
     f using (column("step")):(column(c_val) / m_val) with lines lw 2 lc rgb C_VAL \
        title sprintf('|Val<s>| (max %.3g)', m_val) noenhanced \
     @SEED_KEY
