# Per-layer panels of one sequence: a row per layer with the attention map of head 0, the
# value norms |Wo v_j| of head 0 and the residual norms |h_i| after the layer (the <s> bar in
# its own colour: the value-state drain and the residual-state peak). Token labels on every
# axis, triggers bold in colour.
# Over seeds (docs/figures.md#seeds) the maps and bars are the first seed's and a small dot
# on each bar marks every seed's value at that position (seq_common.gp, "over seeds").
# Usage: gnuplot -c plots/layer_panels.gp OUT.pdf DIR NAME LAYERS [MAXPOS [sinktype]]
#   DIR: a `bbsim analyze` output directory (attention_<name>_l<L>h0.tsv, values_<name>.tsv,
#   norms_<name>.tsv; without norms_<name>.tsv, e.g. the simplified model, the third panel
#   says so), or a replicate list of make repro naming one per seed (plots/replicates.gp);
#   NAME: active or dormant; LAYERS: comma list (0 or 0,1,2);
#   MAXPOS: show the first MAXPOS positions (default 32);
#   sinktype: mark the sink on a token type (C13, no BOS; docs/method.md "sink on a token
#   type"): the first token of the type sink_type (DIR/metrics.tsv, head 0 of the first layer
#   listed) gets a box around its key column on that layer's map, the note above names it with
#   its sink_type_share, and MAXPOS grows to show it and 8 rows after it
# Shared code: seq_common.gp.
if (ARGC < 4) {
    print "usage: gnuplot -c layer_panels.gp OUT.pdf DIR NAME LAYERS [MAXPOS]"
    exit status 2
}
OUTPUT = ARG1
LP_DIR = ARG2
LP_NAME = ARG3
LP_LAYERS_ARG = ARG4
LP_MAXPOS_ARG = ARGC >= 5 ? ARG5 : ""
LP_SINKTYPE = ARGC >= 6 && ARG6 eq "sinktype"
if (ARGC >= 6 && !LP_SINKTYPE) {
    print "usage: gnuplot -c layer_panels.gp OUT.pdf DIR NAME LAYERS [MAXPOS [sinktype]]"
    exit status 2
}
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
LP_DIR = bb_file(LP_DIR)
LP_MAXPOS = strlen(LP_MAXPOS_ARG) == 0 ? 32 : \
    (bb_isnat(LP_MAXPOS_ARG) ? int(LP_MAXPOS_ARG) : 0)
if (LP_MAXPOS < 2) {
    print "usage: gnuplot -c layer_panels.gp OUT.pdf DIR NAME LAYERS [MAXPOS [sinktype]]   (MAXPOS: an integer >= 2)"
    exit status 2
}
call PLOTS."/seq_common.gp" "init"
SC_SCRIPT = "layer_panels.gp"
call PLOTS."/seq_common.gp" "seeds" LP_DIR
LP_DIR = SC_SEEDDIR[1]
LP_LAYERS = sc_words(LP_LAYERS_ARG)
do for [b = 1:words(LP_LAYERS)] { if (!bb_isnat(word(LP_LAYERS, b))) { print "layer_panels.gp: LAYERS must be layer numbers, not ".LP_LAYERS_ARG; exit status 2 } }
LP_NL = words(LP_LAYERS)
if (LP_NL < 1 || strlen(LP_NAME) < 1) {
    print "usage: gnuplot -c layer_panels.gp OUT.pdf DIR NAME LAYERS [MAXPOS]"
    exit status 2
}
LP_VF = LP_DIR."/values_".LP_NAME.".tsv"
LP_NF = LP_DIR."/norms_".LP_NAME.".tsv"
if (!sc_readable(LP_VF)) { print "layer_panels.gp: cannot read ".LP_VF; exit status 1 }
do for [b = 1:LP_NL] {
    lp_af = LP_DIR."/attention_".LP_NAME."_l".word(LP_LAYERS, b)."h0.tsv"
    if (!sc_readable(lp_af)) { print "layer_panels.gp: cannot read ".lp_af; exit status 1 }
}
LP_HAVE_NORMS = sc_readable(LP_NF)
call PLOTS."/seq_common.gp" "sameseq" ("values_".LP_NAME.".tsv")
if (LP_HAVE_NORMS) { call PLOTS."/seq_common.gp" "sameseq" ("norms_".LP_NAME.".tsv") }
# the sink type: "token share rows" of the first layer's head 0 from metrics.tsv, then the
# first position of that token in the sequence and its label (-1 / none when absent)
LP_SINKPOS = -1
if (LP_SINKTYPE) {
    lp_mf = LP_DIR."/metrics.tsv"
    if (!sc_readable(lp_mf)) { print "layer_panels.gp: cannot read ".lp_mf." (needed by sinktype)"; exit status 1 }
    lp_st = system(sc_awk(SC_HEAD.'$(c["layer"]) + 0 == L && $(c["head"]) + 0 == 0 { v[$(c["metric"])] = $(c["value"]) } END { printf "%s %s %s", v["sink_type"], v["sink_type_share"], v["sink_type_rows"] }', \
                          "-v L=".word(LP_LAYERS, 1), lp_mf))
    if (words(lp_st) < 3) { print "layer_panels.gp: no sink_type of layer ".word(LP_LAYERS, 1)." head 0 in ".lp_mf; exit status 1 }
    LP_SINKTOK = int(word(lp_st, 1)); LP_SINKSHARE = real(word(lp_st, 2)); LP_SINKROWS = int(real(word(lp_st, 3)))
    lp_sp = system(sc_awk(SC_HEAD.'$(c["layer"]) + 0 == L && $(c["token"]) + 0 == X && (p < 0 || $(c["position"]) + 0 < p) { p = $(c["position"]) + 0; lab = $(c["label"]) } END { printf "%d %s", p, (p < 0 ? "none" : lab) }', \
                          sprintf("-v L=%s -v X=%d -v p=-1", word(LP_LAYERS, 1), LP_SINKTOK), LP_VF))
    LP_SINKPOS = int(word(lp_sp, 1)); LP_SINKLAB = word(lp_sp, 2)
    # show the marked key and at least 8 rows after it
    if (LP_SINKPOS >= 0 && LP_SINKPOS + 8 >= LP_MAXPOS) { LP_MAXPOS = LP_SINKPOS + 9 }
}
do for [b = 1:LP_NL] {
    if (sc_nrows(LP_VF, int(word(LP_LAYERS, b)), 0) < 1) { print "layer_panels.gp: no rows of layer ".word(LP_LAYERS, b)." head 0 in ".LP_VF; exit status 1 }
    if (LP_HAVE_NORMS && sc_nrows(LP_NF, int(word(LP_LAYERS, b)), -1) < 1) { print "layer_panels.gp: no rows of layer ".word(LP_LAYERS, b)." in ".LP_NF; exit status 1 }
}
lp_info = sc_info(LP_VF, LP_MAXPOS)
LP_N = int(word(lp_info, 1))
SC_LABN = sc_max(1, int(word(lp_info, 2)))
SC_M = sc_min(LP_N, LP_MAXPOS)
SC_BOSNAME = sc_bosname(lp_info)
do for [b = 1:LP_NL] {
    sc_wf = LP_DIR."/attention_".LP_NAME."_l".word(LP_LAYERS, b)."h0.tsv"
    @SC_WRANGE
}

# Layout (inches). A row per layer: [layer name | y labels | map s x s] [colour box]
# [y axis | value bars] [y axis | residual bars], bars as tall as the map. Column titles above
# the first row, the x axis titles under the last; the legend and a note on the top line.
LP_RL = 0.26                      # row names ("layer 1", rotated)
LP_HD = 0.26                      # column titles above the first row
LP_GAP = 0.1                      # between rows
LP_RG = 0.12
LP_BL = 0.64                      # y tic labels and y label of a bar panel
LP_CB = 0.62                      # colour box of the first row, right of its map
LP_NOTE1 = 0.28                   # the line of the note (and of the legend with one seed)
LP_NOTE = LP_NOTE1 + (SC_NSEED > 1 ? 0.2 : 0)   # over seeds the legend, longer, gets its own line
LP_PAGEW = exists("REPORT") ? SC_REPORT_W : 9.5
LP_PAGEH = exists("REPORT") ? SC_REPORT_H : 9.5
LP_SPREF = exists("REPORT") ? 3.0 : sc_clamp(0.075 * SC_M, 1.6, 2.6)
lp_lab(p) = sc_textw(SC_LABN, p) + 0.12        # token labels under a panel without axis title
lp_font(s) = sc_clamp(1.05 * 72.0 * s / SC_M, 3.5, 7.0)
lp_fixh(p) = LP_NOTE + SC_FOOT + LP_HD + (LP_NL - 1) * (LP_GAP + lp_lab(p)) + sc_gutter(p)
lp_fixw(p) = LP_RL + sc_gutter(p) + LP_CB + 2 * (LP_BL + LP_RG)
# s from the height, and from the width with bar panels as wide as the map
lp_side(p) = sc_min(LP_SPREF, sc_min((LP_PAGEH - lp_fixh(p)) / LP_NL, (LP_PAGEW - lp_fixw(p)) / 3))
SC_FPT = lp_font(lp_side(6))
LP_S = lp_side(SC_FPT)
LP_FPT_MAP = lp_font(LP_S)
SC_W = exists("REPORT") ? LP_PAGEW : sc_min(LP_PAGEW, lp_fixw(LP_FPT_MAP) + LP_S + 2 * sc_max(LP_S, 0.1 * SC_M))
LP_BW = (SC_W - lp_fixw(LP_FPT_MAP) - LP_S) / 2  # width of a bar panel
LP_FPT_BARS = sc_clamp(1.0 * 72.0 * LP_BW / SC_M, 3.5, 8.0)
LP_FPT_MAX = sc_max(LP_FPT_MAP, LP_FPT_BARS)     # the rows make room for the larger labels
LP_USEDH = lp_fixh(LP_FPT_MAX) + LP_NL * LP_S
if (exists("REPORT") && LP_USEDH > LP_PAGEH) { LP_S = LP_S - (LP_USEDH - LP_PAGEH) / LP_NL; LP_USEDH = LP_PAGEH }
SC_H = exists("REPORT") ? LP_PAGEH : LP_USEDH
FIG_W = SC_W; FIG_H = SC_H
load PLOTS."/style.gp"
call PLOTS."/seq_common.gp" "style"
LP_Y0 = SC_H - LP_NOTE - (exists("REPORT") ? (SC_H - LP_USEDH) / 2 : 0)   # top of the first row
LP_XM = LP_RL + sc_gutter(LP_FPT_MAP)            # left edge of the maps
LP_XV = LP_XM + LP_S + LP_CB + LP_BL             # of the value bars
LP_XR = LP_XV + LP_BW + LP_RG + LP_BL            # of the residual bars

lp_shown = SC_M < LP_N ? sprintf("first %d of %d positions", SC_M, LP_N) : sprintf("all %d positions", LP_N)
lp_note = sprintf("%s sequence, %s; head 0", LP_NAME, lp_shown)
if (LP_SINKTYPE) {
    lp_note = lp_note.(LP_SINKPOS >= 0 ? \
        sprintf("; box: first '%s' (key %d), the sink type: share %.3f (%d rows)", LP_SINKLAB, LP_SINKPOS, LP_SINKSHARE, LP_SINKROWS) : \
        sprintf("; sink type id %d (share %.3f) not in this sequence", LP_SINKTOK, LP_SINKSHARE))
}
set label 998 lp_note \
    at screen sc_sx(LP_RL), screen sc_sy(SC_H - LP_NOTE1 / 2) left font SC_F_TEXT noenhanced
SC_KEY = 1
SC_KX = SC_W - LP_RG - sc_legendw(SC_BOSNAME, sc_pt(SC_F_KEY)); SC_KY = SC_H - (SC_NSEED > 1 ? LP_NOTE1 + 0.1 : LP_NOTE1 / 2)
set multiplot
lp_top = LP_Y0 - LP_HD
do for [b = 1:LP_NL] {
    lp_l = word(LP_LAYERS, b)
    lp_last = b == LP_NL
    SC_Y = lp_top - LP_S; SC_PH = LP_S
    SC_XTITLE = lp_last                            # axis titles under the last row only
    set label 997 sprintf("layer %s", lp_l) at screen sc_sx(LP_RL / 2), screen sc_sy(SC_Y + LP_S / 2) \
        center rotate by 90 font "Sans:Bold".SC_F_TITLE noenhanced
    # attention map
    SC_X = LP_XM; SC_PW = LP_S
    SC_FPT = LP_FPT_MAP
    SC_CBX = LP_XM + LP_S + 0.08; SC_CBY = SC_Y; SC_CBH = LP_S
    if (LP_SINKTYPE && b == 1 && LP_SINKPOS >= 0) {
        # the key column of the sink token type's first token, over the rows that can see it
        set object 3 rectangle from first LP_SINKPOS - 0.5, first LP_SINKPOS - 0.5 to first LP_SINKPOS + 0.5, first SC_M - 0.5 \
            front fillstyle empty border lc rgb C_TRIGGER lw 1.5
    }
    call PLOTS."/seq_common.gp" "attn" (LP_VF) (LP_DIR."/attention_".LP_NAME."_l".lp_l."h0.tsv") \
         (b == 1 ? "attention" : "") (b == 1 ? "1" : "0")
    unset object 3
    unset label 998; unset label 997
    # value norms
    SC_X = LP_XV; SC_PW = LP_BW
    SC_FPT = LP_FPT_BARS
    SC_SEEDNAME = "values_".LP_NAME.".tsv"
    call PLOTS."/seq_common.gp" "bars" (LP_VF) "value_norm" (lp_l) "0" \
         (b == 1 ? "value norms |Wo v_j|" : "") "|Wo v_j|" "1"
    # residual norms after the layer
    SC_X = LP_XR
    if (LP_HAVE_NORMS) {
        SC_SEEDNAME = "norms_".LP_NAME.".tsv"
        call PLOTS."/seq_common.gp" "bars" (LP_NF) "resid_norm" (lp_l) "-1" \
             (b == 1 ? "residual norms |h_i| after the layer" : "") "|h_i|" "1"
    } else {
        call PLOTS."/seq_common.gp" "empty" (b == 1 ? "residual norms" : "") ("no ".LP_NF."\n(no residual stream)")
    }
    lp_top = SC_Y - (lp_last ? 0 : lp_lab(LP_FPT_MAX) + LP_GAP)
}
unset multiplot
SC_XTITLE = 1
