# Shared code of the per-sequence figures attention_map.gp, value_bars.gp and layer_panels.gp
# (inputs written by `bbsim analyze RUN --out DIR`: attention_<name>_l<L>h<H>.tsv,
# values_<name>.tsv, norms_<name>.tsv). Not a figure itself; used with `call`:
#
#   call PLOTS."/seq_common.gp" "init"     before style.gp: functions, awk programs
#   call PLOTS."/seq_common.gp" "seeds" DIR   after init: DIR is an analysis directory or a
#                                             replicate list of them (below: "over seeds")
#   call PLOTS."/seq_common.gp" "style"    after style.gp: colours and fonts (style.gp's names)
#   call PLOTS."/seq_common.gp" "attn" VALUES ATTN TITLE CBOX               an attention map
#   call PLOTS."/seq_common.gp" "bars" FILE COLUMN LAYER HEAD TITLE YLABEL XLABELS   bars
#   call PLOTS."/seq_common.gp" "empty" TITLE MESSAGE                        an empty panel
#
# A panel is drawn in the box SC_X, SC_Y (lower left corner of the plot area, inches from the
# lower left corner of the page), SC_PW x SC_PH inches, on a page of SC_W x SC_H inches; the
# caller sets these, SC_M (positions shown), SC_LABN (longest token label, characters) and
# SC_FPT (font size of the token labels, points). Token labels are `set label`s (tags
# 1000 + position on x, 2000 + position on y) so that trigger tokens and <s> can be drawn in
# their own colour, bold; they and the axis titles (1998, 1999) are cleared before every
# panel. The caption (label 999 of style.gp) is drawn with the first panel only. The inputs
# are read through awk, which looks the columns up by their header names.
#
# Over seeds (docs/figures.md#seeds): "seeds" reads DIR, either one analysis directory or a
# replicate list of make repro (plots/replicates.gp; rows: each seed's analysis directory,
# the first seed first), into SC_NSEED and SC_SEEDDIR[1 .. SC_NSEED] (SC_SEEDDIR[1] is the
# directory the figure draws). The bars are the first seed's; with SC_NSEED > 1 and
# SC_SEEDNAME set to the file's name inside each directory (values_active.tsv), "bars" puts
# a small dot per seed on each bar (every seed's value at that position, the first seed's
# too, spread across the bar in seed order) and the legend says so. The seeds are evaluated
# on the same sequences (the evaluation batch does not depend on the seed); "seeds" checks
# that each seed's values file has the first seed's tokens at every position.

if (ARG1 eq "init") {
    sc_max(a, b) = a > b ? a : b
    sc_min(a, b) = a < b ? a : b
    sc_clamp(x, lo, hi) = x < lo ? lo : (x > hi ? hi : x)
    # every file name reaches the shell as one quoted word (bb_shq, plots/shell.gp)
    sc_readable(f) = int(system("test -r ".bb_shq(f)." && echo 1 || echo 0"))
    sc_words(s) = bb_subst(s, ",", " ")
    # width in inches of a token label of n characters at p points (rotated: its height)
    sc_textw(n, p) = n * 0.55 * p / 72.0
    # size in points of a gnuplot font spec such as ',9' or 'Sans,9'
    sc_pt(f) = strstrt(f, ",") ? real(f[strstrt(f, ",") + 1:]) : 9.0
    # the legend entry of the highlighted bars (from sc_info): <s> at position 0, else the first
    # position (and any <s> further on)
    sc_bosname(info) = int(word(info, 4)) ? '<s>' : (int(word(info, 5)) ? 'first position, <s>' : 'first position')
    SC_LEG_TRIG = 'trigger token'
    SC_LEG_TOK = 'other token'
    # width in inches of the legend (swatch 0.14, gap 0.05, text, 0.22 between entries)
    sc_legendw(bosname, p) = 3 * 0.19 + 2 * 0.22 + (strlen(bosname) + strlen(SC_LEG_TRIG) + strlen(SC_LEG_TOK)) * 0.47 * p / 72.0 \
                             + (SC_NSEED > 1 ? 0.19 + 0.22 + strlen(sc_leg_seeds(SC_NSEED)) * 0.47 * p / 72.0 : 0)
    # one seed unless "seeds" reads a replicate list
    SC_NSEED = 1
    SC_SEEDNAME = ""
    sc_leg_seeds(n) = sprintf('each of %d seeds', n)
    sc_isdir(f) = int(system("test -d ".bb_shq(f)." && echo 1 || echo 0"))
    # seed r's dot: spread over half the bar's width (0.8), in seed order
    sc_xdot(r) = ((r - 1.0) / (SC_NSEED - 1) - 0.5) * 0.4
    # seed r's rows of column col, layer l, head h (as SC_AWK_BARS) of its SC_SEEDNAME
    sc_seedcmd(r, col, l, h) = sc_awk(SC_AWK_BARS, sprintf("-v M=%d -v L=%d -v H=%d -v V=%s", SC_M, int(l), int(h), bb_shq(col)), SC_SEEDDIR[r]."/".SC_SEEDNAME)
    # two values/norms files -> the first position whose token differs (-1: none), or -2 when
    # the second has positions the first has not
    SC_AWK_SAMESEQ = 'BEGIN { bad = -1 } FNR == 1 { h = 0 } /^#/ { next } !h { delete c; for (k = 1; k <= NF; k++) c[$k] = k; h = 1; next } { p = $(c["position"]) + 0; t = $(c["token"]) } NR == FNR { tok[p] = t; next } !(p in tok) { bad = -2; exit } tok[p] != t && (bad < 0 || p < bad) { bad = p } END { print bad }'
    SC_HEAD = '/^#/ { next } !h { for (k = 1; k <= NF; k++) c[$k] = k; h = 1; next } '
    # values/norms file -> "N maxlen ntrig s0 nbos": positions, longest label among the first M
    # (at most 7), triggers among them, 1 if position 0 is <s>, number of <s> among the first M
    SC_AWK_INFO = SC_HEAD.'{ p = $(c["position"]) + 0; if (p + 1 > n) n = p + 1; if (p >= M || (p in seen)) next; seen[p] = 1; l = $(c["label"]); if (length(l) > ml) ml = length(l); nt += ($(c["trigger"]) + 0); if (l == "<s>") { nb++; if (p == 0) s0 = 1 } } END { if (ml > 7) ml = 7; printf "%d %d %d %d %d", n, ml, nt, s0, nb }'
    # values/norms file -> `set label` commands: the token labels of the first M positions on
    # axis A (x: rotated, under the plot; y: left of it), every S-th position, font size F;
    # triggers bold in colour T, <s> bold in colour B; labels over 7 characters cut, " and \
    # escaped (double-quoted gnuplot strings), noenhanced
    SC_AWK_LABELS = SC_HEAD.'{ p = $(c["position"]) + 0; if (p >= M || (p in seen)) next; seen[p] = 1; if (p % S) next; l = $(c["label"]); t = $(c["trigger"]) + 0; b = (l == "<s>"); if (length(l) > 7) l = substr(l, 1, 6) "~"; o = ""; for (q = 1; q <= length(l); q++) { ch = substr(l, q, 1); o = o ((ch == "`") ? "\\140" : ((ch == "\\" || ch == "\"") ? "\\" : "") ch) }; f = ((t || b) ? "Sans:Bold," : ",") F; col = t ? T : (b ? B : "black"); if (A == "x") where = sprintf("at first %d, graph 0 rotate by 90 right offset 0,-0.35", p); else where = sprintf("at graph 0, first %d right offset -0.45,0", p); printf "set label %d \"%s\" %s font \"%s\" textcolor rgb \"%s\" noenhanced front;", (A == "x" ? 1000 : 2000) + p, o, where, f, col }'
    # attention file -> the full M x M grid "i j weight", weight -1 for keys j > i (mapped to
    # NaN, a transparent pixel, in the using spec; style.gp's `set datafile missing "NaN"` is
    # lifted for the plot: `with image` drops missing points, which would shift the grid)
    SC_AWK_GRID = 'BEGIN { print "i\tj\tw" } '.SC_HEAD.'{ i = $(c["i"]) + 0; j = $(c["j"]) + 0; if (i < M && j < M) w[i, j] = $(c["weight"]) } END { for (i = 0; i < M; i++) for (j = 0; j < M; j++) print i "\t" j "\t" ((i, j) in w ? w[i, j] : -1) }'
    # attention file -> "lo hi n" of the weights among the first M positions
    SC_AWK_WRANGE = SC_HEAD.'{ i = $(c["i"]) + 0; j = $(c["j"]) + 0; if (i >= M || j >= M) next; v = $(c["weight"]) + 0; if (!n++ || v < lo) lo = v; if (n == 1 || v > hi) hi = v } END { printf "%.9g %.9g %d", lo, hi, n }'
    # values/norms file -> "position value class" of layer L (and head H unless H < 0), first M
    # positions; class 2 = <s> or position 0, 1 = trigger, 0 = other token
    SC_AWK_BARS = 'BEGIN { print "p\tv\tk" } '.SC_HEAD.'{ p = $(c["position"]) + 0; if (p >= M || $(c["layer"]) + 0 != L) next; if (H >= 0 && ("head" in c) && $(c["head"]) + 0 != H) next; k = (p == 0 || $(c["label"]) == "<s>") ? 2 : ($(c["trigger"]) + 0 ? 1 : 0); print p "\t" $(c[V]) "\t" k }'
    sc_awk(prog, vars, f) = "awk -F'\t' ".vars." ".bb_shq(prog)." ".bb_shq(f)
    # "N maxlen ntrig s0 nbos" of the first m positions of a values/norms file
    sc_info(f, m) = system(sc_awk(SC_AWK_INFO, sprintf("-v M=%d", m), f))
    # SC_CBLO, SC_CBHI: the colour range of the maps, widened to the weights of attention file f
    SC_CBLO = 0; SC_CBHI = 1
    SC_WRANGE = 'sc_wr = system(sc_awk(SC_AWK_WRANGE, sprintf("-v M=%d", SC_M), sc_wf)); SC_CBLO = sc_min(SC_CBLO, real(word(sc_wr, 1))); SC_CBHI = sc_max(SC_CBHI, real(word(sc_wr, 2)))'
    # rows of layer l (head h; h < 0: any) in a values/norms file
    sc_nrows(f, l, h) = int(system(sc_awk(SC_AWK_BARS, sprintf("-v M=1000000000 -v L=%d -v H=%d -v V=position", l, h), f)." | awk 'END { print NR - 1 }'"))
    # screen coordinates of inches
    sc_sx(x) = x / SC_W
    sc_sy(y) = y / SC_H
    SC_MARGINS = 'eval sprintf("set lmargin at screen %.5f; set rmargin at screen %.5f; set bmargin at screen %.5f; set tmargin at screen %.5f", sc_sx(SC_X), sc_sx(SC_X + SC_PW), sc_sy(SC_Y), sc_sy(SC_Y + SC_PH))'
    # the token labels and axis titles of the previous panel
    SC_CLEAR = 'do for [sc_k = 0:SC_M] { unset label 1000 + sc_k; unset label 2000 + sc_k }; unset label 1998; unset label 1999'
    # label stride of the token labels: every position unless the cells are very small
    sc_stride(cellpt) = cellpt >= 3.0 ? 1 : (cellpt >= 1.5 ? 2 : 4)
    sc_labels(axis, f) = system(sc_awk(SC_AWK_LABELS, sprintf("-v A=%s -v M=%d -v S=%d -v F=%.1f -v T=%s -v B=%s", \
                                axis, SC_M, sc_stride(72.0 * (axis eq "x" ? SC_PW : SC_PH) / SC_M), SC_FPT, bb_shq(SC_TRIG), bb_shq(SC_BOS)), f))
    # height in inches under a panel with token labels: labels, gap, axis title (F_TEXT)
    sc_gutter(p) = sc_textw(SC_LABN, p) + 0.36
    # page of the report (style.gp: 8.5 x 6.5 in); the foot kept free for the caption
    SC_REPORT_W = 8.5; SC_REPORT_H = 6.5
    SC_FOOT = exists("REPORT") ? 0.4 : 0.08
    SC_KEY = 0
    SC_SCRIPT = "seq_common.gp"   # the figure's script, for messages
    SC_XTITLE = 1           # the x axis title under the panel (0: none, the caller saves the room)
}

if (ARG1 eq "seeds") {
    # ARG2: an analysis directory, or a replicate list of them (plots/replicates.gp reads it
    # with the datafile settings that style.gp sets later: the same, so nothing changes)
    if (sc_isdir(ARG2)) {
        SC_NSEED = 1
        array SC_SEEDDIR[1]
        SC_SEEDDIR[1] = ARG2
    } else {
        set datafile separator "\t"
        set datafile commentschars "#"
        set datafile columnheaders
        call PLOTS."/replicates.gp" ARG2
        SC_NSEED = REP_N
        array SC_SEEDDIR[SC_NSEED]
        do for [sc_r = 1:SC_NSEED] { SC_SEEDDIR[sc_r] = bb_file(REP_FILE[sc_r]) }
        if (!sc_isdir(SC_SEEDDIR[1])) { print sprintf("%s: %s is neither an analysis directory nor a replicate list of them", SC_SCRIPT, ARG2); exit status 1 }
    }
}

if (ARG1 eq "sameseq") {
    # ARG2: the file's name inside each seed's directory: every seed must have the first
    # seed's token at every position (the dots of a bar are the same token's)
    do for [sc_r = 2:SC_NSEED] {
        sc_a = SC_SEEDDIR[1]."/".ARG2; sc_b = SC_SEEDDIR[sc_r]."/".ARG2
        if (!sc_readable(sc_b)) { print sprintf("%s: cannot read %s", SC_SCRIPT, sc_b); exit status 1 }
        sc_bad = int(system("awk -F'\t' ".bb_shq(SC_AWK_SAMESEQ)." ".bb_shq(sc_a)." ".bb_shq(sc_b)))
        if (sc_bad != -1) {
            print sprintf("%s: %s is not the sequence of %s (%s): every seed must be evaluated on the same sequences", \
                          SC_SCRIPT, sc_b, sc_a, sc_bad == -2 ? "more positions" : sprintf("position %d", sc_bad))
            exit status 1
        }
    }
}

if (ARG1 eq "style") {
    # colours and fonts by style.gp's names (with its values as fallbacks)
    SC_TRIG = exists("C_TRIGGER") ? C_TRIGGER : '#E69F00'   # trigger tokens: bars, bold labels
    SC_BOS = exists("C_BOS") ? C_BOS : '#CC79A7'             # <s> (or position 0): bars, bold labels
    SC_TOK = exists("C_OTHER") ? C_OTHER : '#999999'         # every other token: bars
    SC_MASK = '#e8e8e8'                                      # keys j > i: background of the maps
    SC_F_TEXT = exists("F_TEXT") ? F_TEXT : ',9'
    SC_F_TITLE = exists("F_TITLE") ? F_TITLE : ',9'
    SC_F_KEY = exists("F_KEY") ? F_KEY : ',8'
    SC_F_TICS = exists("F_TICS") ? F_TICS : ',8'
}

if (ARG1 eq "attn") {
    # ARG2 values file (token labels), ARG3 attention file, ARG4 title, ARG5 "1": the colour box
    # (at SC_CBX, SC_CBY, height SC_CBH inches)
    sc_vf = ARG2; sc_af = ARG3
    eval SC_CLEAR
    unset key
    unset grid
    @SC_MARGINS
    set xrange [-0.5 : SC_M - 0.5]
    set yrange [SC_M - 0.5 : -0.5]
    set xtics 0, 1, SC_M - 1 format "" scale 0.3 nomirror out
    set ytics 0, 1, SC_M - 1 format "" scale 0.3 nomirror out
    unset mxtics; unset mytics
    unset xlabel; unset ylabel
    set title ARG4 noenhanced font SC_F_TITLE offset 0, -0.4
    eval sc_labels("x", sc_vf)
    eval sc_labels("y", sc_vf)
    sc_lw = sc_textw(SC_LABN, SC_FPT) + 0.06
    if (SC_XTITLE) { set label 1998 "key position j" at screen sc_sx(SC_X + SC_PW / 2), screen sc_sy(SC_Y - sc_lw - 0.12) center font SC_F_TEXT }
    set label 1999 "query position i" at screen sc_sx(SC_X - sc_lw - 0.12), screen sc_sy(SC_Y + SC_PH / 2) center rotate by 90 font SC_F_TEXT
    set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind fillcolor rgb SC_MASK fillstyle solid 1.0 noborder
    # the colour: a_ij in [0, 1] for softmax attention; the range of all the figure's maps (SC_CBLO,
    # SC_CBHI, from sc_wrange) when weights fall outside (ReLU attention): one colour box for all
    if (SC_CBLO >= -1e-6 && SC_CBHI <= 1 + 1e-6) {
        set cbrange [0 : 1]
        set cblabel "attention weight" font SC_F_TEXT offset 0.4, 0
    } else {
        set cbrange [SC_CBLO : SC_CBHI]
        set cblabel "attention weight (rows not normalised)" font SC_F_TEXT offset 0.4, 0
    }
    set cbtics font SC_F_TICS scale 0.5
    if (ARG5 eq "1") {
        set colorbox user origin screen sc_sx(SC_CBX), screen sc_sy(SC_CBY) size screen sc_sx(0.12), screen sc_sy(SC_CBH) front
    } else {
        unset colorbox
    }
    unset datafile missing
    plot '< '.sc_awk(SC_AWK_GRID, sprintf("-v M=%d", SC_M), sc_af) using 2:1:($1 < $2 ? NaN : $3) with image notitle
    set datafile missing "NaN"
    unset object 1
    unset label 999
}

# The seeds' dots of "bars" (a macro, empty with one seed: the single-seed figure). Set here,
# outside the block: gnuplot reads a { } block as one line and expands its macros then.
SC_DOTS = (SC_NSEED < 2 || strlen(SC_SEEDNAME) == 0) ? "" : ", for [sc_r = 1:SC_NSEED] ('< '.sc_seedcmd(sc_r, ARG3, ARG4, ARG5)) \
    using ($1 + sc_xdot(sc_r)):2 with points pt 7 ps 0.22 lc rgb '#000000' notitle"

if (ARG1 eq "bars") {
    # ARG2 values/norms file, ARG3 column (value_norm|resid_norm), ARG4 layer, ARG5 head (-1: the
    # file has none), ARG6 title, ARG7 y label, ARG8 "1": token labels under the bars.
    # SC_KEY = 1: the legend (at SC_KX, SC_KY: left end, middle, inches) with this panel.
    sc_f = ARG2
    eval SC_CLEAR
    unset colorbox
    unset key
    set grid noxtics ytics lc rgb '#dddddd'
    set style fill solid 1.0 noborder
    set boxwidth 0.8 absolute
    @SC_MARGINS
    set xrange [-0.6 : SC_M - 0.4]
    set yrange [0 : *]
    set xtics 0, 1, SC_M - 1 format "" scale 0.3 nomirror out
    unset mxtics
    set ytics autofreq format "%g" font SC_F_TICS nomirror
    unset xlabel
    set ylabel ARG7 noenhanced font SC_F_TEXT offset 0, 0
    set title ARG6 noenhanced font SC_F_TITLE offset 0, -0.4
    sc_cmd = sc_awk(SC_AWK_BARS, sprintf("-v M=%d -v L=%d -v H=%d -v V=%s", SC_M, int(ARG4), int(ARG5), bb_shq(ARG3)), sc_f)
    sc_n = int(system(sc_cmd." | awk 'END { print NR - 1 }'"))
    if (sc_n < 1) {
        print sprintf("%s: no rows of layer %s in %s", SC_SCRIPT, ARG4, sc_f)
        exit status 1
    }
    if (ARG8 eq "1") {
        eval sc_labels("x", sc_f)
        sc_lw = sc_textw(SC_LABN, SC_FPT) + 0.06
        if (SC_XTITLE) { set label 1998 "token at position j" at screen sc_sx(SC_X + SC_PW / 2), screen sc_sy(SC_Y - sc_lw - 0.12) center font SC_F_TEXT }
    }
    if (SC_KEY) {
        # one legend for the figure: swatches (objects) and labels at screen positions
        sc_kn = 0; sc_kx = SC_KX; sc_kp = sc_pt(SC_F_KEY)
        do for [sc_e in "2 1 0"] {
            sc_kt = sc_e eq "2" ? SC_BOSNAME : (sc_e eq "1" ? SC_LEG_TRIG : SC_LEG_TOK)
            sc_kc = sc_e eq "2" ? SC_BOS : (sc_e eq "1" ? SC_TRIG : SC_TOK)
            eval sprintf('set object %d rectangle from screen %.5f, screen %.5f to screen %.5f, screen %.5f fillcolor rgb "%s" fillstyle solid 1.0 noborder front', \
                         990 + sc_kn, sc_sx(sc_kx), sc_sy(SC_KY - 0.045), sc_sx(sc_kx + 0.14), sc_sy(SC_KY + 0.045), sc_kc)
            set label 990 + sc_kn sc_kt at screen sc_sx(sc_kx + 0.19), screen sc_sy(SC_KY) left font SC_F_KEY noenhanced
            sc_kx = sc_kx + 0.19 + strlen(sc_kt) * 0.47 * sc_kp / 72.0 + 0.22
            sc_kn = sc_kn + 1
        }
        if (SC_NSEED > 1) {
            eval sprintf('set object %d circle at screen %.5f, screen %.5f size screen %.5f fillcolor rgb "#000000" fillstyle solid 1.0 noborder front', \
                         990 + sc_kn, sc_sx(sc_kx + 0.07), sc_sy(SC_KY), sc_sx(0.03))
            set label 990 + sc_kn sc_leg_seeds(SC_NSEED) at screen sc_sx(sc_kx + 0.19), screen sc_sy(SC_KY) left font SC_F_KEY noenhanced
        }
    }
    plot '< '.sc_cmd using 1:($3 == 0 ? $2 : NaN) with boxes lc rgb SC_TOK notitle, \
         '< '.sc_cmd using 1:($3 == 1 ? $2 : NaN) with boxes lc rgb SC_TRIG notitle, \
         '< '.sc_cmd using 1:($3 == 2 ? $2 : NaN) with boxes lc rgb SC_BOS notitle @SC_DOTS
    if (SC_KEY) {
        do for [sc_k = 0:3] { unset object 990 + sc_k; unset label 990 + sc_k }
        SC_KEY = 0
    }
    unset label 999
    unset ylabel
    unset grid
}

if (ARG1 eq "empty") {
    # ARG2 title, ARG3 message: an empty panel in the box (a missing input)
    eval SC_CLEAR
    unset colorbox
    unset key
    unset grid
    @SC_MARGINS
    set xrange [0 : 1]; set yrange [0 : 1]
    unset xtics; unset ytics; unset xlabel; unset ylabel
    set title ARG2 noenhanced font SC_F_TITLE offset 0, -0.4
    set label 1998 ARG3 at graph 0.5, graph 0.5 center font SC_F_TEXT noenhanced
    plot NaN notitle
    unset label 999
    set xtics; set ytics
}
