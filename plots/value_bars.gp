# Value-state drain: bars of the value norm |Wo v_j| (head 0) per position of one sequence,
# one panel per layer; token labels under the bars (triggers bold in colour), the <s> bar
# (position 0, and any other <s>) in its own colour.
# Over seeds (docs/figures.md#seeds) the bars are the first seed's and a small dot on each
# bar marks every seed's value at that position (seq_common.gp, "over seeds").
# Usage: gnuplot -c plots/value_bars.gp OUT.pdf DIR NAME LAYERS [MAXPOS]
#   DIR: a `bbsim analyze` output directory (values_<name>.tsv), or a replicate list of make
#   repro naming one per seed (plots/replicates.gp); NAME: active or dormant
#   LAYERS: comma list (0 or 0,1,2); MAXPOS: show the first MAXPOS positions (default 32)
# Shared code: seq_common.gp.
if (ARGC < 4) {
    print "usage: gnuplot -c value_bars.gp OUT.pdf DIR NAME LAYERS [MAXPOS]"
    exit status 2
}
OUTPUT = ARG1
VB_DIR = ARG2
VB_NAME = ARG3
VB_LAYERS_ARG = ARG4
VB_MAXPOS_ARG = ARGC >= 5 ? ARG5 : ""
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
VB_DIR = bb_file(VB_DIR)
VB_MAXPOS = strlen(VB_MAXPOS_ARG) == 0 ? 32 : \
    (bb_isnat(VB_MAXPOS_ARG) ? int(VB_MAXPOS_ARG) : 0)
if (VB_MAXPOS < 2) {
    print "usage: gnuplot -c value_bars.gp OUT.pdf DIR NAME LAYERS [MAXPOS]   (MAXPOS: an integer >= 2)"
    exit status 2
}
call PLOTS."/seq_common.gp" "init"
SC_SCRIPT = "value_bars.gp"
call PLOTS."/seq_common.gp" "seeds" VB_DIR
VB_DIR = SC_SEEDDIR[1]
VB_LAYERS = sc_words(VB_LAYERS_ARG)
do for [b = 1:words(VB_LAYERS)] { if (!bb_isnat(word(VB_LAYERS, b))) { print "value_bars.gp: LAYERS must be layer numbers, not ".VB_LAYERS_ARG; exit status 2 } }
VB_NL = words(VB_LAYERS)
if (VB_NL < 1 || strlen(VB_NAME) < 1) {
    print "usage: gnuplot -c value_bars.gp OUT.pdf DIR NAME LAYERS [MAXPOS]"
    exit status 2
}
VB_VF = VB_DIR."/values_".VB_NAME.".tsv"
if (!sc_readable(VB_VF)) { print "value_bars.gp: cannot read ".VB_VF; exit status 1 }
SC_SEEDNAME = "values_".VB_NAME.".tsv"
call PLOTS."/seq_common.gp" "sameseq" SC_SEEDNAME
do for [b = 1:VB_NL] {
    if (sc_nrows(VB_VF, int(word(VB_LAYERS, b)), 0) < 1) { print "value_bars.gp: no rows of layer ".word(VB_LAYERS, b)." head 0 in ".VB_VF; exit status 1 }
}
vb_info = sc_info(VB_VF, VB_MAXPOS)
VB_N = int(word(vb_info, 1))
SC_LABN = sc_max(1, int(word(vb_info, 2)))
SC_M = sc_min(VB_N, VB_MAXPOS)
SC_BOSNAME = sc_bosname(vb_info)

# Layout (inches): a column of panels (one per layer), each titled; token labels under every
# panel when there are at most 3 layers (else under the last only), the x axis title under the
# last; the legend on the top line.
VB_LG = 0.66; VB_RG = 0.15; VB_TG = 0.26
VB_NOTE = 0.28
VB_GAP = 0.1                      # between panels
VB_ALL = VB_NL <= 3
SC_W = exists("REPORT") ? SC_REPORT_W : sc_clamp(0.12 * SC_M + VB_LG + VB_RG, 5.0, 9.0)
VB_PW = SC_W - VB_LG - VB_RG
SC_FPT = sc_clamp(1.0 * 72.0 * VB_PW / SC_M, 3.5, 8.0)
VB_LAB = sc_textw(SC_LABN, SC_FPT) + 0.12        # token labels without the axis title
VB_FIX = VB_NOTE + SC_FOOT + VB_NL * VB_TG + (VB_NL - 1) * (VB_GAP + (VB_ALL ? VB_LAB : 0)) + sc_gutter(SC_FPT)
VB_PH = exists("REPORT") ? sc_min((SC_REPORT_H - VB_FIX) / VB_NL, 3.6) : (VB_NL == 1 ? 2.4 : 1.5)
VB_USEDH = VB_FIX + VB_NL * VB_PH
SC_H = exists("REPORT") ? SC_REPORT_H : VB_USEDH
FIG_W = SC_W; FIG_H = SC_H
load PLOTS."/style.gp"
call PLOTS."/seq_common.gp" "style"
VB_Y0 = SC_H - (exists("REPORT") ? (SC_H - VB_USEDH) / 2 : 0)   # top of the figure
vb_shown = SC_M < VB_N ? sprintf("first %d of %d positions", SC_M, VB_N) : sprintf("all %d positions", VB_N)
SC_KEY = 1
SC_KX = (SC_W - sc_legendw(SC_BOSNAME, sc_pt(SC_F_KEY))) / 2; SC_KY = VB_Y0 - VB_NOTE / 2
set multiplot
vb_top = VB_Y0 - VB_NOTE
do for [b = 1:VB_NL] {
    vb_last = b == VB_NL
    vb_lab = VB_ALL || vb_last
    SC_X = VB_LG; SC_PW = VB_PW; SC_PH = VB_PH
    SC_Y = vb_top - VB_TG - VB_PH
    SC_XTITLE = vb_last
    call PLOTS."/seq_common.gp" "bars" (VB_VF) "value_norm" (word(VB_LAYERS, b)) "0" \
         (sprintf("layer %s, head 0: %s sequence, %s", word(VB_LAYERS, b), VB_NAME, vb_shown)) "|Wo v_j|" (vb_lab ? "1" : "0")
    vb_top = SC_Y - (vb_lab ? VB_LAB : 0) - VB_GAP
}
unset multiplot
SC_XTITLE = 1
