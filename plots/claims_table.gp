# The claims table as pages: id, claim, measured (over seeds: the median; a rate pooled
# over heads x seeds: the pooled rate and its 95% interval, "49.2 [34.5, 64.1]"), threshold,
# (fit, when the page is wide enough), verdict with the seeds that passed ("PASS 3/3"):
# PASS green, MIXED orange, FAIL vermillion, UNDECIDED blue (a rate whose interval
# straddles the threshold), NOT RUN grey (its measured is NaN: "-").
# Rows that do not fit on one page continue on the next (a new page per plot; with
# `every ::a::b` the pseudo-column $0 counts from 0 on every page).
# Usage: gnuplot -c plots/claims_table.gp OUT.pdf CLAIMS.tsv
if (ARGC < 2) { print "usage: gnuplot -c claims_table.gp OUT.pdf CLAIMS.tsv"; exit status 2 }
OUTPUT = ARG1
f = ARG2
FIG_W = 11; FIG_H = 8.5
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
f = bb_file(f)
load PLOTS."/style.gp"
# the page in inches: the report's page (the driver may set REPORT_W / REPORT_H) or ours
PAGE_W = IN_REPORT ? (exists("REPORT_W") ? REPORT_W : 8.5) : FIG_W
PAGE_H = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H

# the columns of the table, from its header line (no shell): bbsim 0.2 wrote 7, the seeds
# added 5 (seeds ... values), the pooled rates 4 more (ci_low ci_high pooled_k pooled_n)
set datafile nocolumnheaders
stats f every ::0::0 using (0) nooutput
NCOLS = STATS_columns
HAS_SEEDS = 0; HAS_CI = 0
if (NCOLS >= 12) { stats f every ::0::0 using (HAS_SEEDS = (strcol(8) eq "seeds"), 0) nooutput }
if (NCOLS >= 16) { stats f every ::0::0 using (HAS_CI = (strcol(13) eq "ci_low"), 0) nooutput }
set datafile columnheaders
SEEDCOL(c) = HAS_SEEDS ? strcol(c) : ""
CICOL(c) = HAS_CI ? strcol(c) : ""
isnum(s) = (s ne "" && s ne "NaN" && s ne "nan")

stats f using 0 nooutput
n = STATS_records
stats f using (strcol("verdict") eq "PASS" ? 1 : 0) nooutput
npass = int(STATS_sum)
stats f using (strcol("verdict") eq "NOT RUN" ? 1 : 0) nooutput
nnot = int(STATS_sum)
stats f using (strcol("verdict") eq "MIXED" ? 1 : 0) nooutput
nmixed = int(STATS_sum)
stats f using (strcol("verdict") eq "UNDECIDED" ? 1 : 0) nooutput
nundecided = int(STATS_sum)
nfail = n - npass - nnot - nmixed - nundecided
nrate = 0
if (HAS_CI) { stats f using (isnum(strcol("pooled_n")) ? 1 : 0) nooutput; nrate = int(STATS_sum) }

# geometry: rows of ROW_H inches and PT-point text, larger when every row fits on one
# page; columns placed in inches. Rows beyond one page continue on the next page.
TOP = 0.75                       # title and column header
FOOT = 0.3
AV_H = PAGE_H - TOP - FOOT
npages = int(ceil(n * 0.185 / AV_H))
npages = npages < 1 ? 1 : npages
per_page = int(ceil(n * 1.0 / npages))   # the same number of rows on every page
ROW_H = AV_H / per_page > 0.26 ? 0.26 : AV_H / per_page
PT = ROW_H >= 0.235 ? 10 : 9
CH = 0.062 * PT / 9.0            # mean width of a character of DejaVu Sans, inches
L = 0.3; R = PAGE_W - 0.3
G = 0.2                          # gap between columns
W_ID = 0.5; W_MEAS = nrate > 0 ? 1.6 : 0.9; W_VERD = 1.3
with_fit = (PAGE_W >= 10.5)      # the fit text only on a wide page (the standalone PDF)
avail = R - L - W_ID - W_MEAS - W_VERD - 3 * G
if (with_fit) { W_FIT = 2.4; W_THR = 2.3; W_CLAIM = avail - W_FIT - W_THR - G } \
else { W_FIT = 0; W_CLAIM = 0.58 * avail; W_THR = avail - W_CLAIM }
X_ID = L
X_CLAIM = X_ID + W_ID
X_MEAS = X_CLAIM + W_CLAIM + W_MEAS       # right-aligned
X_THR = X_MEAS + G
X_FIT = X_THR + W_THR + G
X_VERD = R                                # right-aligned
K_CLAIM = int(W_CLAIM / CH); K_THR = int(W_THR / CH); K_FIT = int(W_FIT / (CH * (PT - 1.0) / PT))
fx(inch) = inch / PAGE_W

cut(s, k) = strlen(s) > k ? s[1:k-1].'…' : s
isnot(s) = (s eq "NOT RUN")
vcol(s) = s eq "PASS" ? 0x009E73 : s eq "FAIL" ? 0xD55E00 : s eq "MIXED" ? 0xE69F00 : s eq "UNDECIDED" ? 0x0072B2 : 0x888888
# "PASS 3/3": how many seeds passed of how many decided the row, "PASS 1/1" for one draw
# (claims.tsv of bbsim 0.2 has no seeds column)
seedtext(v, k, n) = (isnot(v) || n eq "") ? v : sprintf("%s %d/%d", v, k + 0, n + 0)
tcol(s) = isnot(s) ? 0x777777 : 0x000000
meas(v, s) = (isnot(v) || !isnum(s)) ? "-" : sprintf("%.4g", s + 0)
# a rate row (pooled_n a number): the pooled rate and its interval
measci(v, s, lo, hi, pn) = (isnot(v) || !isnum(s) || !isnum(pn) || !isnum(lo)) ? meas(v, s) : \
    sprintf("%.3g [%.3g, %.3g]", s + 0, lo + 0, hi + 0)

unset border; unset tics; unset grid; unset key
set lmargin 0; set rmargin 0; set tmargin 0; set bmargin 0
set xrange [0:1]
# y in rows: row r of a page at y = r; the header at y = 0; the title above
y_top = -TOP / ROW_H + 0.2
y_bot = (PAGE_H - TOP) / ROW_H
set yrange [y_bot:y_top]
FS = sprintf(',%d', PT)
FS_FIT = sprintf(',%d', PT - 1)
FH = sprintf('Sans:Bold,%d', PT)
summary = sprintf("Claims of docs/figures.md: %d PASS, %d MIXED, %d FAIL, %d UNDECIDED, %d NOT RUN (%d rows)", \
    npass, nmixed, nfail, nundecided, nnot, n)
note = "measured: the median over seeds".(nrate > 0 ? "; a rate of heads: pooled over heads x seeds [its 95% interval], PASS / FAIL / UNDECIDED by the interval" : "")

FITPLOT = with_fit ? 'f every ::a::b using (fx(X_FIT)):($0 + 1):(cut(strcol("fit"), K_FIT)):(0x555555) with labels left noenhanced font FS_FIT tc rgb variable,' : ''
do for [p = 0:npages - 1] {
    a = p * per_page
    b = a + per_page - 1
    set label 1 summary.(npages > 1 ? sprintf("   page %d of %d", p + 1, npages) : "") \
        at fx(L), y_top + 1.0 left font 'Sans:Bold,12' noenhanced
    set label 8 note at fx(L), y_top + 1.0 + 0.2 / ROW_H left font 'Sans,8' tc rgb '#555555' noenhanced
    set label 2 "id" at fx(X_ID), 0 left font FH
    set label 3 "claim" at fx(X_CLAIM), 0 left font FH
    set label 4 "measured" at fx(X_MEAS), 0 right font FH
    set label 5 "threshold" at fx(X_THR), 0 left font FH
    if (with_fit) { set label 6 "fit" at fx(X_FIT), 0 left font FH } else { unset label 6 }
    set label 7 "verdict" at fx(X_VERD), 0 right font FH
    set arrow 1 from fx(L), 0.55 to fx(R), 0.55 nohead lw 1 lc rgb '#000000'
    plot f every ::a::b using (fx((L + R) / 2)):($0 + 1):(fx((R - L) / 2 + 0.05)):(0.5):(int($0) % 2 ? 0xffffff : 0xeeeeee) \
            with boxxyerror fs solid 1.0 noborder fc rgb variable, \
         f every ::a::b using (fx(X_ID)):($0 + 1):(strcol("id")):(tcol(strcol("verdict"))) \
            with labels left noenhanced font FS tc rgb variable, \
         f every ::a::b using (fx(X_CLAIM)):($0 + 1):(cut(strcol("claim"), K_CLAIM)):(tcol(strcol("verdict"))) \
            with labels left noenhanced font FS tc rgb variable, \
         f every ::a::b using (fx(X_MEAS)):($0 + 1):(measci(strcol("verdict"), strcol("measured"), CICOL("ci_low"), CICOL("ci_high"), CICOL("pooled_n"))):(tcol(strcol("verdict"))) \
            with labels right noenhanced font FS tc rgb variable, \
         f every ::a::b using (fx(X_THR)):($0 + 1):(cut(strcol("threshold"), K_THR)):(tcol(strcol("verdict"))) \
            with labels left noenhanced font FS tc rgb variable, \
         @FITPLOT \
         f every ::a::b using (fx(X_VERD)):($0 + 1):(seedtext(strcol("verdict"), SEEDCOL("seeds_pass"), SEEDCOL("seeds"))):(vcol(strcol("verdict"))) \
            with labels right noenhanced font FH tc rgb variable
}
