# Attention maps of head 0: one heat map per (layer, sequence), rows = layers, columns =
# sequences (transposed when that gives clearly larger maps; a single sequence: its layers
# side by side, wrapped to fit), each titled "layer L, NAME sequence". Keys j on x,
# queries i on y (top to bottom, as a matrix), token labels on both axes, triggers bold in
# colour; grey: keys j > i (causal mask). Colour = attention weight a_ij in [0, 1] (for
# attention whose rows do not sum to 1, the range of the weights shown).
# Usage: gnuplot -c plots/attention_map.gp OUT.pdf DIR NAMES LAYERS [MAXPOS]
#   DIR: a `bbsim analyze` output directory (attention_<name>_l<L>h0.tsv, values_<name>.tsv)
#   NAMES: comma list of sequences (active,dormant); LAYERS: comma list (0 or 0,1,2)
#   MAXPOS: show the first MAXPOS positions (default 32)
# Shared code: seq_common.gp.
if (ARGC < 4) {
    print "usage: gnuplot -c attention_map.gp OUT.pdf DIR NAMES LAYERS [MAXPOS]"
    exit status 2
}
OUTPUT = ARG1
AM_DIR = ARG2
AM_NAMES_ARG = ARG3
AM_LAYERS_ARG = ARG4
AM_MAXPOS_ARG = ARGC >= 5 ? ARG5 : ""
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
AM_DIR = bb_file(AM_DIR)
AM_MAXPOS = strlen(AM_MAXPOS_ARG) == 0 ? 32 : \
    (bb_isnat(AM_MAXPOS_ARG) ? int(AM_MAXPOS_ARG) : 0)
if (AM_MAXPOS < 2) {
    print "usage: gnuplot -c attention_map.gp OUT.pdf DIR NAMES LAYERS [MAXPOS]   (MAXPOS: an integer >= 2)"
    exit status 2
}
call PLOTS."/seq_common.gp" "init"
SC_SCRIPT = "attention_map.gp"
AM_NAMES = sc_words(AM_NAMES_ARG)
AM_LAYERS = sc_words(AM_LAYERS_ARG)
do for [b = 1:words(AM_LAYERS)] { if (!bb_isnat(word(AM_LAYERS, b))) { print "attention_map.gp: LAYERS must be layer numbers, not ".AM_LAYERS_ARG; exit status 2 } }
AM_NN = words(AM_NAMES)
AM_NL = words(AM_LAYERS)
if (AM_NN < 1 || AM_NL < 1) {
    print "usage: gnuplot -c attention_map.gp OUT.pdf DIR NAMES LAYERS [MAXPOS]"
    exit status 2
}
# inputs, and the number of positions shown
AM_N = 0; AM_LABN = 1
do for [a = 1:AM_NN] {
    am_vf = AM_DIR."/values_".word(AM_NAMES, a).".tsv"
    if (!sc_readable(am_vf)) { print "attention_map.gp: cannot read ".am_vf; exit status 1 }
    am_info = sc_info(am_vf, AM_MAXPOS)
    AM_N = sc_max(AM_N, int(word(am_info, 1)))
    AM_LABN = sc_max(AM_LABN, int(word(am_info, 2)))
    do for [b = 1:AM_NL] {
        am_af = AM_DIR."/attention_".word(AM_NAMES, a)."_l".word(AM_LAYERS, b)."h0.tsv"
        if (!sc_readable(am_af)) { print "attention_map.gp: cannot read ".am_af; exit status 1 }
    }
}
SC_M = sc_min(AM_N, AM_MAXPOS)
SC_LABN = AM_LABN
do for [a = 1:AM_NN] {
    do for [b = 1:AM_NL] {
        sc_wf = AM_DIR."/attention_".word(AM_NAMES, a)."_l".word(AM_LAYERS, b)."h0.tsv"
        @SC_WRANGE
    }
}

# Layout (inches). Per panel: title above, token labels and axis title left and below.
AM_CB = 0.8                       # colour box and its labels, right of the grid
AM_NOTE = 0.28                    # the note line at the top
AM_TG = 0.24; AM_RG = 0.14
AM_PAGEW = exists("REPORT") ? SC_REPORT_W : 9.0
AM_PAGEH = exists("REPORT") ? SC_REPORT_H : 9.0
AM_SPREF = exists("REPORT") ? 4.5 : sc_clamp(0.1 * SC_M, 1.8, 3.4)
# side s of a square map for a grid of nr x nc panels, token labels of font size p
am_gut(p) = sc_gutter(p)
am_side(nr, nc, p) = sc_min(AM_SPREF, sc_min((AM_PAGEW - AM_CB) / nc - am_gut(p) - AM_RG, \
                                             (AM_PAGEH - AM_NOTE - SC_FOOT) / nr - AM_TG - am_gut(p)))
am_font(s) = sc_clamp(1.05 * 72.0 * s / SC_M, 3.5, 7.0)
# The grid: rows = layers, columns = sequences; transposed (rows = sequences) when that gives
# maps at least 10% larger (3 layers x 2 sequences on the report page); a single sequence: its
# layers in as many columns as give the largest maps.
am_best(nr, nc) = am_side(nr, nc, am_font(am_side(nr, nc, 6)))
AM_T = 0
if (AM_NN > 1) {
    AM_NR = AM_NL; AM_NC = AM_NN
    if (AM_NL > 1 && am_best(AM_NN, AM_NL) > 1.1 * am_best(AM_NL, AM_NN)) { AM_NR = AM_NN; AM_NC = AM_NL; AM_T = 1 }
} else {
    AM_NC = 1; am_b = -1
    do for [c = 1:AM_NL] {
        am_r = int((AM_NL + c - 1) / c)
        if (am_best(am_r, c) > am_b + 1e-9) { am_b = am_best(am_r, c); AM_NC = c }
    }
    AM_NR = int((AM_NL + AM_NC - 1) / AM_NC)
}
SC_FPT = am_font(am_side(AM_NR, AM_NC, 6))
AM_S = am_side(AM_NR, AM_NC, SC_FPT)
SC_FPT = am_font(AM_S)
AM_GUT = am_gut(SC_FPT)
AM_CW = AM_GUT + AM_S + AM_RG     # one grid cell
AM_CH = AM_TG + AM_S + AM_GUT
AM_USEDW = AM_NC * AM_CW + AM_CB
# the note: one line, or two when the grid is narrower than its two parts (F_TEXT: 10 pt in
# the report, 9 pt alone)
AM_NOTE1 = "head 0, ".(SC_M < AM_N ? sprintf("first %d of %d positions", SC_M, AM_N) : sprintf("all %d positions", AM_N)).\
           "; grey: masked keys j > i"
AM_NOTE2 = "bold orange labels: trigger tokens"
AM_NOTE2L = (strlen(AM_NOTE1) + strlen(AM_NOTE2) + 4) * 0.5 * (exists("REPORT") ? 10 : 9) / 72.0 > AM_USEDW - AM_CB - AM_RG
if (AM_NOTE2L) AM_NOTE = 0.46
AM_USEDH = AM_NR * AM_CH + AM_NOTE + SC_FOOT
if (exists("REPORT") && AM_USEDH > AM_PAGEH) {
    AM_S = AM_S - (AM_USEDH - AM_PAGEH) / AM_NR
    AM_CW = AM_GUT + AM_S + AM_RG; AM_CH = AM_TG + AM_S + AM_GUT
    AM_USEDW = AM_NC * AM_CW + AM_CB; AM_USEDH = AM_NR * AM_CH + AM_NOTE + SC_FOOT
}
FIG_W = AM_USEDW; FIG_H = AM_USEDH
load PLOTS."/style.gp"
call PLOTS."/seq_common.gp" "style"
SC_W = exists("REPORT") ? AM_PAGEW : FIG_W
SC_H = exists("REPORT") ? AM_PAGEH : FIG_H
AM_X0 = (SC_W - AM_USEDW) / 2     # centred on the report page
AM_Y0 = SC_H - AM_NOTE - (exists("REPORT") ? (SC_H - AM_USEDH) / 2 : 0)   # top of the grid

am_ny = AM_Y0 + AM_NOTE - 0.14    # the (first) note line
set label 998 AM_NOTE1 at screen sc_sx(AM_X0 + AM_GUT), screen sc_sy(am_ny) left font SC_F_TEXT noenhanced
if (AM_NOTE2L) {
    set label 997 AM_NOTE2 at screen sc_sx(AM_X0 + AM_GUT), screen sc_sy(am_ny - 0.18) left \
        font "Sans:Bold".SC_F_TEXT textcolor rgb SC_TRIG noenhanced
} else {
    set label 997 AM_NOTE2 at screen sc_sx(AM_X0 + AM_USEDW - AM_CB - AM_RG), screen sc_sy(am_ny) right \
        font "Sans:Bold".SC_F_TEXT textcolor rgb SC_TRIG noenhanced
}
set multiplot
k = 0
do for [b = 1:AM_NL] {
    do for [a = 1:AM_NN] {
        if (AM_NN > 1) { am_r = AM_T ? a - 1 : b - 1; am_c = AM_T ? b - 1 : a - 1 } else { am_r = int(k / AM_NC); am_c = k % AM_NC }
        SC_X = AM_X0 + am_c * AM_CW + AM_GUT
        SC_Y = AM_Y0 - am_r * AM_CH - AM_TG - AM_S
        SC_PW = AM_S; SC_PH = AM_S
        SC_CBX = AM_X0 + AM_NC * AM_CW + 0.1
        SC_CBY = AM_Y0 - AM_TG - AM_S
        SC_CBH = AM_S
        am_name = word(AM_NAMES, a)
        am_title = sprintf("layer %s, %s sequence", word(AM_LAYERS, b), am_name)
        call PLOTS."/seq_common.gp" "attn" (AM_DIR."/values_".am_name.".tsv") \
             (AM_DIR."/attention_".am_name."_l".word(AM_LAYERS, b)."h0.tsv") (am_title) (k == 0 ? "1" : "0")
        unset label 998; unset label 997
        k = k + 1
    }
}
unset multiplot
