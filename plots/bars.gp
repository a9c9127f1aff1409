# Labelled bars in one or more panels (claims C7, C9). SPEC_TSV has the columns
#   panel   label   value
# one row per bar; each distinct panel (in file order) is a subplot, side by side, titled by
# its panel text; within a panel the bars keep the file order, each labelled on the x axis
# and with its value on top. `#` lines are provenance. An optional TITLE goes above all.
# The bars carry no colour meaning (C_BAR, grey): their labels say what they are.
# Over seeds (docs/figures.md#seeds): SPEC_TSV may have a fourth column, replicate (1 = the
# first seed, 2, ...), with every seed's rows. The bars and their numbers are then the first
# seed's, a small dot on each bar marks every seed's value (the first seed's too, spread
# across the bar in seed order), the numbers sit beyond the farthest dot, and a line above
# the panels says so. Without the column, or with one seed, the single-seed figure.
# Usage: gnuplot -c plots/bars.gp OUT.pdf SPEC_TSV [TITLE]
if (ARGC < 2) { print "usage: gnuplot -c bars.gp OUT.pdf SPEC_TSV [TITLE]"; exit status 2 }
OUTPUT = ARG1
f = ARG2
TITLE = ARGC >= 3 ? ARG3 : ""
set datafile separator "\t"
set datafile commentschars "#"
set datafile columnheaders

# the replicate column, if any (the header read by stats, not through a shell)
hdrs(k) = (h = columnheader(k), strlen(h) > 0 && k < 10000 ? "\t".h.hdrs(k + 1) : "\t")
hdr = ""
stats f every ::0::0 using (hdr = hdrs(1), 0) nooutput
HAS_REP = strstrt(hdr, "\treplicate\t") > 0
rep(x) = HAS_REP ? int(column("replicate")) : 1     # x unused (gnuplot has no 0-argument functions)
NSEED = 1
if (HAS_REP) { stats f using (rep(0)) nooutput; NSEED = int(STATS_max) }

# the panels in file order, each row's panel and place in it (from the first seed's rows; the
# other seeds' rows take the place of the first seed's row with the same panel and label)
stats f using 0 nooutput
nrow = STATS_records
array PN[nrow]
array PC[nrow]
array RP[nrow]
array RI[nrow]
array LB[nrow]
array FIRST[nrow]
array RPAN[nrow]
array VAL[nrow]
np = 0; SEEN = "\t"
stats f using (s = strcol("panel"), r = int(column(0)) + 1, FIRST[r] = (rep(0) == 1), \
               RPAN[r] = s, LB[r] = strcol("label"), VAL[r] = column("value"), \
               (FIRST[r] && strstrt(SEEN, "\t".s."\t") == 0 ? (np = np + 1, PN[np] = s, PC[np] = 0, SEEN = SEEN.s."\t") : 0), \
               p = sum [i = 1:np] (PN[i] eq s ? i : 0), \
               (FIRST[r] ? (PC[p] = PC[p] + 1, RP[r] = p, RI[r] = PC[p]) : (RP[r] = 0, RI[r] = 0)), 0) nooutput
# the extent of each bar's dots (TOPV: the farthest from zero on the side of the bar)
array TOPV[nrow]
do for [r = 1:nrow] { TOPV[r] = VAL[r] }
if (NSEED > 1) {
    do for [r = 1:nrow] {
        if (!FIRST[r]) {
            do for [j = 1:nrow] {
                if (FIRST[j] && RPAN[j] eq RPAN[r] && LB[j] eq LB[r]) { RP[r] = RP[j]; RI[r] = RI[j] }
            }
            if (RP[r] == 0) { print sprintf("bars.gp: %s: replicate %d has a bar (%s, %s) that the first has not", f, int(r), RPAN[r], LB[r]); exit status 1 }
        }
    }
    do for [j = 1:nrow] {
        if (FIRST[j]) {
            do for [r = 1:nrow] {
                if (RP[r] == RP[j] && RI[r] == RI[j] && VAL[r] == VAL[r]) {
                    TOPV[j] = VAL[j] >= 0 ? (VAL[r] > TOPV[j] ? VAL[r] : TOPV[j]) : (VAL[r] < TOPV[j] ? VAL[r] : TOPV[j])
                }
            }
        }
    }
}
# the line above the panels: TITLE, and what the dots are
SEED_NOTE = NSEED > 1 ? sprintf("bars: first seed; dots: each of %d seeds", NSEED) : ""
TITLE = (TITLE ne "" && SEED_NOTE ne "") ? TITLE." (".SEED_NOTE.")" : TITLE.SEED_NOTE
maxbars = 1
do for [i = 1:np] { maxbars = PC[i] > maxbars ? PC[i] : maxbars }

PW = 0.45 + 0.8 * maxbars                   # inches per panel
PW = PW < 2.2 ? 2.2 : PW
FIG_W = 0.5 + np * PW; FIG_W = FIG_W < 4.0 ? 4.0 : FIG_W
FIG_H = 3.4
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
f = bb_file(f)
load PLOTS."/style.gp"
if (!exists("C_BAR")) C_BAR = '#8c8c8c'

# a label too long for its slot breaks at the space nearest its middle; one still too
# long (no space) turns the labels by 30 degrees. Characters of the tick font ~0.068 in.
CHW = IN_REPORT ? 0.075 : 0.068
slot = (IN_REPORT ? (exists("REPORT_W") ? REPORT_W : 8.5) / np : PW) / (maxbars + 0.5)
maxlab = 1; nlines = 1
do for [r = 1:nrow] {
    if (!FIRST[r]) { continue }
    t = LB[r]; n = strlen(t)
    if (n * CHW > slot * 0.95) {
        best = 0
        do for [j = 2:n - 1] { if (t[j:j] eq " " && (best == 0 || abs(j - n / 2.0) < abs(best - n / 2.0))) { best = j } }
        if (best > 0) {
            LB[r] = t[1:best - 1]."\n".t[best + 1:n]
            nlines = 2
            n = (best - 1 > n - best) ? best - 1 : n - best
        }
    }
    maxlab = n > maxlab ? n : maxlab
}
rot = (maxlab * CHW > slot * 0.95)
# margins in inches, as fractions of the page (the report's page is 8.5 x 6.5 in)
PGW = IN_REPORT ? (exists("REPORT_W") ? REPORT_W : 8.5) : FIG_W
PGH = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H
m_bot = (rot ? 0.2 + maxlab * CHW * 0.5 : 0.15 + 0.16 * nlines) / PGH + CAP_H
m_top = 1 - (TITLE ne "" ? 0.55 : 0.35) / PGH
set multiplot layout 1, np margins 0.55 / PGW, 1 - 0.15 / PGW, m_bot, m_top spacing 0.5 / PGW, 0
if (TITLE ne "") { set label 998 TITLE at screen 0.5, screen 1 - 0.2 / PGH center font F_TITLE noenhanced }
set style fill solid 0.9 border lc rgb '#333333'
set boxwidth 0.6 relative
set grid noxtics ytics
set ytics nomirror
unset key
# seed k's dot: spread over half the bar's width (0.6 of a slot), in seed order
xdot(k) = ((k - 1.0) / (NSEED - 1) - 0.5) * 0.3
# The seeds' dots (a macro, empty with one seed: the single-seed figure).
SEED_DOTS = NSEED < 2 ? "" : "for [k = 1:NSEED] f using (strcol('panel') eq PN[p] && rep(0) == k ? RI[int(column(0)) + 1] + xdot(k) : NaN):(column('value')) \
        with points pt 7 ps 0.45 lc rgb '#000000' notitle,"
fmt(v) = (abs(v) >= 1e4 || (abs(v) < 1e-2 && v != 0)) ? sprintf("%.2e", v) : sprintf("%.3g", v)
do for [p = 1:np] {
    vmin = 0; vmax = 0
    set xrange [*:*]; set yrange [*:*]  # stats filters by the previous panel's ranges otherwise
    stats f using (strcol("panel") eq PN[p] ? column("value") : NaN) nooutput
    vmin = STATS_min < 0 ? STATS_min : 0
    vmax = STATS_max > 0 ? STATS_max : 0
    if (vmax == vmin) { vmax = 1 }
    set yrange [vmin - (vmin < 0 ? 0.15 : 0) * (vmax - vmin) : vmax + 0.15 * (vmax - vmin)]
    set xrange [0.4 : PC[p] + 0.6]
    lab_y(v, top) = v >= 0 ? top + 0.05 * (vmax - vmin) : top - 0.05 * (vmax - vmin)
    set xtics () nomirror noenhanced scale 0 font F_KEY
    if (rot) { set xtics rotate by 30 right offset 0.5, 0 } else { set xtics norotate center offset 0, 0 }
    do for [r = 1:nrow] { if (RP[r] == p && FIRST[r]) { set xtics add (LB[r] RI[r]) } }
    set title PN[p] noenhanced
    bar(x) = strcol("panel") eq PN[p] && FIRST[int(column(0)) + 1] ? RI[int(column(0)) + 1] : NaN
    plot f using (bar(0)):(column("value")) with boxes fc rgb C_BAR, \
         @SEED_DOTS \
         f using (bar(0)):(lab_y(column("value"), TOPV[int(column(0)) + 1])):(fmt(column("value"))) \
            with labels center font F_KEY, \
         0 with lines lc rgb '#333333' lw 1
    unset label 998
}
unset multiplot
