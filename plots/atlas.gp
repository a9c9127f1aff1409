# The phase diagram of the extreme-token phenomena (paper_repro/atlas.mk,
# docs/figures.md#phase-diagram-atlas): three heat maps over attention activation (rows)
# x optimizer and learning rate (columns, grouped by optimizer), one run per cell:
#   Attn<s>            l0h0_attn_bos  of the 1-layer run (share on <s>, non-trigger rows)
#   |Val<s>| / mean    l0h0_val_ratio of the 1-layer run (the value drain: small = drained)
#   residual peak      l0_resid_ratio of the 3-layer run (|Res<s>| / mean |Res| after layer 0)
# The value is printed in each cell; the run's verdict is marked in its corner: a filled
# circle when a head is active on triggers and dormant elsewhere (active_dormant, the head
# table's labels), an open circle when only the removal test says so
# (active_dormant_removal); no mark: neither. A grey cell diverged (diverged_at > 0) or has
# no number. ATLAS_TSV is OUT/atlas/atlas.tsv (bbsim collect + the verdicts), read by
# column name: layers attn optim lr wd, the three metrics, active_dormant,
# active_dormant_removal, diverged_at. Rows and columns come in the table's order of
# appearance (atlas.mk: the activations in bbsim's order, the lrs ascending).
# Usage: gnuplot -c plots/atlas.gp OUT.pdf ATLAS_TSV
if (ARGC < 2) { print "usage: gnuplot -c atlas.gp OUT.pdf ATLAS_TSV"; exit status 2 }
OUTPUT = ARG1
f = ARG2
FIG_W = 11.0
FIG_H = 5.0
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
f = bb_file(f)
load PLOTS."/style.gp"

# ---- the grid: activations, optimizers and (optimizer, lr) columns in order of appearance
# (word lists: names hold no spaces)
has_word(list, w) = strstrt(" ".list." ", " ".w." ") > 0
add_word(list, w) = has_word(list, w) ? list : (strlen(list) ? list." ".w : w)
word_pos(list, w) = sum [i = 1:words(list)] (word(list, i) eq w ? i : 0)
ACTS = ""
OPTS = ""
KEYS = ""
stats f using (ACTS = add_word(ACTS, strcol("attn")), OPTS = add_word(OPTS, strcol("optim")), \
               KEYS = add_word(KEYS, strcol("optim")."@".strcol("lr")), 0) nooutput
NA = words(ACTS)
NO = words(OPTS)
if (NA < 1 || NO < 1) { print "atlas.gp: no runs in ".f; exit status 1 }
# the columns grouped by optimizer (in each group, the lrs in the table's order)
COLS = ""
do for [o in OPTS] { do for [k in KEYS] { if (k[1:strlen(o) + 1] eq o."@") { COLS = add_word(COLS, k) } } }
NC = words(COLS)
GAP = 0.5                                       # blank columns between optimizer groups
key_of(o, lr) = o."@".lr
col_x(k) = word_pos(COLS, k) + GAP * (word_pos(OPTS, k[1:strstrt(k, "@") - 1]) - 1)
# (functions of the current row while plotting; the argument is unused)
cell_x(d) = col_x(key_of(strcol("optim"), strcol("lr")))
cell_y(d) = NA + 1 - word_pos(ACTS, strcol("attn"))
# the weight decay of each optimizer, for its group label
array WD[NO]
stats f using (WD[word_pos(OPTS, strcol("optim"))] = strcol("wd"), 0) nooutput
opt_name(o) = o eq "adamw" ? "AdamW" : o eq "adam" ? "Adam" : o eq "sgd" ? "SGD" : o
# lr as mantissa e exponent: 0.000333 -> 3.3e-4, 0.03 -> 3e-2
lr_exp(v) = floor(log10(v) + 1e-9)
lr_label(v) = sprintf("%.2ge%d", v / 10.0**lr_exp(v), lr_exp(v))
fmt(v) = v >= 99.5 ? sprintf("%.0f", v) : v >= 9.95 ? sprintf("%.1f", v) : sprintf("%.2f", v)

# ---- page: three panels side by side, sharing the rows; the activation names on the left
PGW = IN_REPORT ? 8.5 : FIG_W
PGH = IN_REPORT ? (exists("REPORT_H") ? REPORT_H : 6.5) : FIG_H
LM = 1.25 / PGW
RM = 1 - 0.15 / PGW
PANEL_GAP = 0.25 / PGW
PW = (RM - LM - 2 * PANEL_GAP) / 3
BOT = 1.35 / PGH + CAP_H                        # lr labels, colour bar, the marks' legend
TOP = 1 - 1.0 / PGH                             # panel title (2 lines), optimizer labels (2 lines)
F_CELL = IN_REPORT ? ',6' : ',7'
set xrange [0.5 : NC + GAP * (NO - 1) + 0.5]
set yrange [0.5 : NA + 0.5]
set xtics () nomirror scale 0 rotate by 90 right font F_CELL
do for [k in COLS] { set xtics add (lr_label(real(k[strstrt(k, "@") + 1:])) col_x(k)) }
set x2tics () scale 0 font F_KEY noenhanced
do for [i = 1:NO] {
    o = word(OPTS, i)
    # the group's centre: the mean x of its columns
    n = 0
    s = 0
    do for [k in COLS] { if (k[1:strlen(o) + 1] eq o."@") { n = n + 1; s = s + col_x(k) } }
    set x2tics add (sprintf("%s\nwd %s", opt_name(o), real(WD[i]) == 0 ? "0" : lr_label(real(WD[i]))) s / n)
}
set link x2
set grid noxtics noytics
set border 0
set style fill solid 1.0 noborder
set xlabel "learning rate" font F_KEY offset 0, 0.3
set colorbox horizontal user size screen PW * 0.8, screen 0.035 / (PGH / 5.0)
set cbtics font F_CELL scale 0.5 offset 0, 0.4
set tics front
# cell text in white on the darker half of the palette, black on the lighter half
cb_frac(v) = CB_LOG ? (log(v) - log(CB_LO)) / (log(CB_HI) - log(CB_LO)) : (v - CB_LO) / (CB_HI - CB_LO)
ink(v) = cb_frac(v) > 0.55 ? 0xffffff : 0x000000
# the marks' legend at the foot of the page
set label 1 "● a head active on triggers and dormant elsewhere (head table)     ○ by the removal test alone     no mark: neither     grey: diverged or no number" \
    at screen 0.5, screen CAP_H + 0.2 / PGH center font F_KEY noenhanced

array TITLES[3] = ["sink: Attn<s>\n1 layer", "drain: |Val<s>| / mean |Val|\n1 layer", "peak: |Res<s>| / mean |Res| after layer 0\n3 layers"]
array METRIC[3] = ["l0h0_attn_bos", "l0h0_val_ratio", "l0_resid_ratio"]
array LAYERS[3] = [1, 1, 3]
array LOGCB[3] = [0, 1, 1]
# Functions of the current row while a panel is plotted (M: its metric column, L: its
# model's layers): the panel's rows are its model's; a row's number when it trained to the
# end, else a grey cell; the marks. The last three are added to x: 0 draws, AWAY moves the
# row out of the plot (not NaN: an element whose every row is NaN makes gnuplot warn).
AWAY = -1e6
cell_value(d) = column("layers") == L && column("diverged_at") == 0 && column(M) == column(M) ? column(M) : NaN
grey(d) = column("layers") == L && cell_value(0) != cell_value(0) ? 0 : AWAY
mark_ad(d) = cell_value(0) == cell_value(0) && column("active_dormant") == 1 ? 0 : AWAY
mark_removal(d) = cell_value(0) == cell_value(0) && column("active_dormant") == 0 && column("active_dormant_removal") == 1 ? 0 : AWAY
set multiplot
do for [p = 1:3] {
    M = METRIC[p]
    L = LAYERS[p]
    CB_LOG = LOGCB[p]
    # the numbers' range (by hand over every row: stats of no valid point would stop the script)
    V_LO = 1e300
    V_HI = -1e300
    stats f using (v = cell_value(0), V_LO = (v == v && v > 0 && v < V_LO) ? v : V_LO, \
                   V_HI = (v == v && v > V_HI) ? v : V_HI, 1) nooutput
    if (CB_LOG) {
        CB_LO = V_HI >= V_LO ? V_LO : 0.1
        CB_HI = V_HI >= V_LO ? V_HI : 10
        if (CB_HI <= CB_LO * 1.01) { CB_LO = CB_LO / 1.5; CB_HI = CB_HI * 1.5 }
        set logscale cb
        # tics at 1, 2, 5 x 10^k inside the range, else at its two ends
        set cbtics () format "%g"
        NT = 0
        do for [e = floor(log10(CB_LO)) : ceil(log10(CB_HI))] { do for [m in "1 2 5"] {
            t = real(m) * 10.0**e
            if (t >= CB_LO * 0.999 && t <= CB_HI * 1.001) { set cbtics add (sprintf("%g", t) t); NT = NT + 1 }
        } }
        if (NT < 2) { set cbtics add (fmt(CB_LO) CB_LO, fmt(CB_HI) CB_HI) }
    } else {
        CB_LO = 0
        CB_HI = 1
        unset logscale cb
        set cbtics 0.25 format "%.2g"
    }
    set cbrange [CB_LO : CB_HI]
    set lmargin at screen LM + (p - 1) * (PW + PANEL_GAP)
    set rmargin at screen LM + (p - 1) * (PW + PANEL_GAP) + PW
    set bmargin at screen BOT
    set tmargin at screen TOP
    set colorbox origin screen LM + (p - 1) * (PW + PANEL_GAP) + 0.1 * PW, screen BOT - 0.95 / PGH
    set title TITLES[p] noenhanced offset 0, 1.0
    if (p == 1) {
        set ytics () scale 0 font F_KEY noenhanced
        do for [i = 1:NA] { set ytics add (word(ACTS, i) NA + 1 - i) }
    } else {
        unset ytics
    }
    # (a row not drawn by a layer gets x = NaN: gnuplot skips it)
    plot f using (cell_x(0)):(cell_y(0)):(0.5):(0.5):(cell_value(0)) with boxxyerror fc palette notitle, \
         f using (cell_x(0) + 0 * cell_value(0)):(cell_y(0)):(fmt(cell_value(0))):(ink(cell_value(0))) \
             with labels tc rgb variable font F_CELL notitle, \
         f using (cell_x(0) + grey(0)):(cell_y(0)):(0.5):(0.5) \
             with boxxyerror fc rgb '#d0d0d0' notitle, \
         f using (cell_x(0) + grey(0)):(cell_y(0)):(column("diverged_at") > 0 ? "div" : "–") \
             with labels tc rgb '#444444' font F_CELL notitle, \
         f using (cell_x(0) + 0.33 + mark_ad(0)):(cell_y(0) + 0.3):(ink(cell_value(0))) \
             with points pt 7 ps 0.45 lc rgb variable notitle, \
         f using (cell_x(0) + 0.33 + mark_removal(0)):(cell_y(0) + 0.3):(ink(cell_value(0))) \
             with points pt 6 ps 0.45 lc rgb variable notitle
    unset label 1
}
unset multiplot
