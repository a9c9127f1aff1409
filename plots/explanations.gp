# The three explanations of the sink side by side: what each predicts for the runs of
# make repro and what claims.tsv measured (per claim: rows that PASS / FAIL / UNDECIDED / NOT RUN).
# Usage: gnuplot -c plots/explanations.gp OUT.pdf CLAIMS.tsv
if (ARGC < 2) { print "usage: gnuplot -c explanations.gp OUT.pdf CLAIMS.tsv"; exit status 2 }
OUTPUT = ARG1
f = ARG2
FIG_W = 11; FIG_H = 8.5
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
f = bb_file(f)
if (system("test -r ".bb_shq(f)." && echo 1 || echo 0") eq "0") { print "explanations.gp: cannot read ".f; exit status 1 }
load PLOTS."/style.gp"
PAGE_W = IN_REPORT ? (exists("REPORT_W") ? REPORT_W : 8.5) : FIG_W
PAGE_H = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H

# verdict counts of claim ID: "pass fail notrun undecided" (fail counts MIXED rows too: not
# every seed passed; undecided: a rate whose interval straddles its threshold); the
# verdict column found by its name
counts(id) = system(sprintf("awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == \"verdict\") v = i; next } $1 == \"%s\" { p += $v == \"PASS\"; x += ($v == \"FAIL\" || $v == \"MIXED\"); n += $v == \"NOT RUN\"; u += $v == \"UNDECIDED\" } END { print p + 0, x + 0, n + 0, u + 0 }' %s", id, bb_shq(f)))
verdict_text(id) = (vc_ = counts(id), vp_ = int(word(vc_, 1)), vx_ = int(word(vc_, 2)), vn_ = int(word(vc_, 3)), \
    vu_ = int(word(vc_, 4)), vn_ > 0 && vp_ + vx_ + vu_ == 0 ? "NOT RUN" : vx_ + vu_ == 0 ? sprintf("PASS (%d rows)", vp_) : \
    vu_ == 0 ? sprintf("FAIL/MIXED: %d of %d rows", vx_, vp_ + vx_) : \
    vx_ == 0 ? sprintf("UNDECIDED: %d of %d rows", vu_, vp_ + vu_) : \
    sprintf("FAIL/MIXED %d, UNDECIDED %d of %d rows", vx_, vu_, vp_ + vx_ + vu_))
C_UNDECIDED = '#0072B2'
verdict_colour(id) = (vc_ = counts(id), vp_ = int(word(vc_, 1)), vx_ = int(word(vc_, 2)), vn_ = int(word(vc_, 3)), \
    vu_ = int(word(vc_, 4)), vn_ > 0 && vp_ + vx_ + vu_ == 0 ? C_OTHER : vx_ > 0 ? C_FAIL : vu_ > 0 ? C_UNDECIDED : C_PASS)

# columns: title, mechanism, then claim lines "ID|what it predicts"
T1 = "Mutual reinforcement (the BB paper)"
M1 = "sink and small value of <s> feed each other,|Adam grows the peak that makes <s> distinct"
P1 = "C1|dormant head parks on <s>, active one copies;C2|the value of <s> drains;C4|bigram first, sink logit grows like log t;C6|layer 0 makes a residual peak on <s>;C7|removing layer 0 removes peak and sink;C8|Adam grows the peak, SGD does not;C12|simplified model: the BOS value Wo b drains"
T2 = "Softmax's sum to one (study A)"
M2 = "weights summing to one need a place to park,|without normalisation no sink is needed"
P2 = "C15|softmax and sigmoid-norm sink, sigmoid not;C5|ReLU attention: no sink, copy still learnt;C13|without BOS another early token sinks"
T3 = "Sinks prevent over-mixing (study B)"
M3 = "a head parked on a low-value token: a no-op,|more context and depth, more need to park"
P3 = "C16|sink rate grows with context and depth;C17|a change spreads further without the sink"

unset border; unset xtics; unset ytics; unset key
set xrange [0:PAGE_W]; set yrange [0:PAGE_H]
set lmargin at screen 0; set rmargin at screen 1; set bmargin at screen 0; set tmargin at screen 1
set label 1 "Three explanations of the attention sink, and what this make repro measured" \
    at 0.35, PAGE_H - 0.35 left font "Sans:Bold,12" noenhanced
set label 2 "Verdicts from claims.tsv (rows per claim). Thresholds: docs/figures.md; the related-work sweeps (C15, C16) run in make repro-related." \
    at 0.35, PAGE_H - 0.62 left font "Sans,8" tc rgb C_OTHER noenhanced
COLW = (PAGE_W - 0.7) / 3.0
k = 10
do for [col = 1:3] {
    x0 = 0.35 + (col - 1) * COLW
    t = col == 1 ? T1 : col == 2 ? T2 : T3
    m = col == 1 ? M1 : col == 2 ? M2 : M3
    plist = col == 1 ? P1 : col == 2 ? P2 : P3
    y = PAGE_H - 1.1
    set label k t at x0, y left font "Sans:Bold,10" noenhanced; k = k + 1
    y = y - 0.3
    do for [i = 1:int(system("echo ".bb_shq(m)." | tr '|' '\n' | wc -l"))] {
        line = system(sprintf("echo %s | tr '|' '\n' | sed -n %dp", bb_shq(m), i))
        set label k line at x0, y left font "Sans:Italic,8" noenhanced; k = k + 1
        y = y - 0.2
    }
    y = y - 0.15
    set label k "predicts" at x0, y left font "Sans:Bold,8" tc rgb C_OTHER noenhanced
    set label k + 1 "measured" at x0 + COLW - 0.25, y right font "Sans:Bold,8" tc rgb C_OTHER noenhanced
    k = k + 2
    y = y - 0.3
    n = int(system(sprintf("echo %s | tr ';' '\n' | wc -l", bb_shq(plist))))
    do for [i = 1:n] {
        item = system(sprintf("echo %s | tr ';' '\n' | sed -n %dp", bb_shq(plist), i))
        id = system(sprintf("echo %s | cut -d'|' -f1", bb_shq(item)))
        what = system(sprintf("echo %s | cut -d'|' -f2", bb_shq(item)))
        set label k id at x0, y left font "Sans:Bold,8" noenhanced; k = k + 1
        set label k verdict_text(id) at x0 + COLW - 0.25, y right font "Sans:Bold,8" tc rgb verdict_colour(id) noenhanced
        k = k + 1
        set label k what at x0, y - 0.19 left font "Sans,8" noenhanced; k = k + 1
        y = y - 0.55
    }
}
plot NaN notitle
if (!IN_REPORT) set output
