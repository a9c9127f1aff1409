# Shared style of every figure; each script in plots/ loads it first.
#
# Convention: gnuplot -c plots/NAME.gp OUT.pdf INPUT...   (ARG1 is always the output).
# The Makefile passes OUT.pdf.tmp and renames on success (gnuplot leaves a broken file on
# error). Inside report.pdf the report driver sets REPORT = 1 (terminal and output are the
# report's, one page per figure) and CAPTION (printed at the foot of the page).
# A script sets OUTPUT = ARG1 (load clears ARG1..9) and may set FIG_W / FIG_H (inches)
# before loading this file.
#
# ---------------------------------------------------------------- colours
# One colour-blind-safe palette (Okabe-Ito) plus a neutral grey. A colour names one thing
# and means it in every figure; never pick a colour by series number (lc 1, lc 2 ...),
# always by name:
#
#   runs (what trained the model), C8, C10, C12 and any run comparison
#     C_ADAMW    #0072B2 blue        AdamW (Adam in the C10 toy)
#     C_SGD      #D55E00 vermillion  SGD
#     C_RELU     #009E73 green       ReLU attention
#   task domains and tokens, C1-C6
#     C_BIGRAM   #56B4E9 sky         bigram = non-trigger positions
#     C_BACKCOPY #E69F00 orange      backcopy = trigger positions (risk, excess)
#     C_TRIGGER  #E69F00 orange      trigger tokens (the same positions as backcopy)
#     C_BOS      #CC79A7 purple      the <s> token (its bar, its column)
#     C_OTHER    #999999 grey        every other token
#   sink quantities over training, C4, C5 (each its own colour in one figure)
#     C_ATTN     #000000 black       Attn<s>, attention share on <s>
#     C_DLOGIT   #0072B2 blue        dlogit<s>, the sink logit (10-90% band: C_DLOGIT_BAND);
#                                    also the BOS logits y_v / a of the theory figures
#     C_VAL      #CC79A7 purple      |Val<s>|, value norm of <s> (also |s_perp|, |Wo b|)
#     (backcopy risk in C_BACKCOPY, bigram excess in C_BIGRAM)
#     C_LOSS     #000000 black       a loss of the theory figures (C11 excess loss)
#   reference lines
#     C_REF      #000000 black, dashed (dt DT_REF): closed forms, predictions, chance levels
#     C_MARK     #777777 grey, thin: axis breaks and other marks that are not data
#   generic bars (bars.gp): C_BAR #8c8c8c grey, no meaning: the axis labels say what a bar is
#   series index (C11 token types 0..3): C_TYPE(v), orange, sky, purple, black; an index
#     only, in figures that show none of the meanings above.
# Shared hexes, on purpose and only between families that never meet in one figure:
# C_DLOGIT = C_ADAMW (the dynamics figures show one run; the sink logit is the analogue of
# AdamW's BOS logit a in C12), C_VAL = C_BOS (|Val<s>| is the <s> bar of the value figure),
# C_TRIGGER = C_BACKCOPY (the same positions). Orange, sky and purple are also C_TYPE(v).
# Line style carries the second distinction where a figure needs two (solvers, domains,
# <s> vs other tokens): solid for the main series, dashed (dt 2) for the second.
C_ADAMW    = '#0072B2'
C_SGD      = '#D55E00'
C_RELU     = '#009E73'
C_BIGRAM   = '#56B4E9'
C_BACKCOPY = '#E69F00'
C_TRIGGER  = '#E69F00'
C_BOS      = '#CC79A7'
C_OTHER    = '#999999'
C_ATTN     = '#000000'
C_DLOGIT   = '#0072B2'
C_DLOGIT_BAND = '#a6cde8'
C_VAL      = '#CC79A7'
C_LOSS     = '#000000'
C_REF      = '#000000'
C_MARK     = '#777777'
C_YELLOW   = '#F0E442'
C_BAR      = '#8c8c8c'
C_PASS     = '#009E73'
C_FAIL     = '#D55E00'
C_NOTRUN   = '#888888'
DT_REF     = 2
C_TYPES    = '#E69F00 #56B4E9 #CC79A7 #000000'
C_TYPE(v)  = word(C_TYPES, int(v) % 4 + 1)
# colour of a run label (AdamW / SGD / ReLU, any case; "Adam" too), else the k-th of the
# colours left once the run colours are taken (purple, orange, sky, black, grey; k from 1).
C_FALLBACK = '#CC79A7 #E69F00 #56B4E9 #000000 #999999'
has(s, w) = strstrt(s, w) > 0
IS_SGD(l)  = has(l, 'SGD') || has(l, 'sgd') || has(l, 'Sgd')
IS_RELU(l) = has(l, 'ReLU') || has(l, 'relu') || has(l, 'RELU') || has(l, 'Relu')
IS_ADAM(l) = has(l, 'Adam') || has(l, 'adam') || has(l, 'ADAM')
IS_RUN(l)  = IS_SGD(l) || IS_RELU(l) || IS_ADAM(l)
C_RUN(label, k) = IS_SGD(label) ? C_SGD : IS_RELU(label) ? C_RELU : IS_ADAM(label) ? C_ADAMW : \
                  word(C_FALLBACK, (int(k) - 1) % 5 + 1)

# ---------------------------------------------------------------- page
if (!exists("FIG_W")) FIG_W = 6.5
if (!exists("FIG_H")) FIG_H = 4.2
if (!exists("REPORT")) {
    set terminal pdfcairo enhanced color size FIG_W, FIG_H font 'Sans,9' linewidth 1
    set output bb_file(OUTPUT)   # plots/shell.gp: never a pipe
}
# In the report the caption sits at the page foot: CAP_H (screen fraction) is kept free
# below every plot. Single plots get it from the bmargin set here; multiplot scripts add
# CAP_H to the bottom of their margins (e.g. margins 0.09,0.98,0.1+CAP_H,0.95).
IN_REPORT = exists("REPORT") ? (REPORT != 0) : 0
HAS_CAPTION = IN_REPORT && exists("CAPTION") && strlen(CAPTION) > 0
CAP_H = HAS_CAPTION ? 0.05 : 0.0
set encoding utf8
set datafile separator "\t"
set datafile commentschars "#"
set datafile columnheaders
set datafile missing "NaN"
set grid lc rgb '#dddddd'
# Font sizes: the report page (8.5 x 6.5 in) is larger than most figures, so its text is
# one point larger. Scripts use these in place of literal sizes.
F_TEXT  = IN_REPORT ? ',10' : ',9'     # axis labels, ordinary labels
F_TITLE = IN_REPORT ? ',11' : ',9'     # figure / panel titles
F_KEY   = IN_REPORT ? ',9' : ',8'      # legends
F_TICS  = IN_REPORT ? ',9' : ',8'      # tick labels
set key noopaque samplen 2 font F_KEY
set tics font F_TICS
set title font F_TITLE
set xlabel font F_TEXT
set ylabel font F_TEXT
if (HAS_CAPTION) { set bmargin 6 }
# Linetypes follow the same order (AdamW, SGD, ReLU, purple, orange, sky, black, grey) so
# that a plain "lt 1" is at least a palette colour, but scripts name their colours.
set linetype 1 lc rgb C_ADAMW    lw 1.5 pt 7 ps 0.4
set linetype 2 lc rgb C_SGD      lw 1.5 pt 5 ps 0.4
set linetype 3 lc rgb C_RELU     lw 1.5 pt 9 ps 0.4
set linetype 4 lc rgb '#CC79A7'  lw 1.5 pt 11 ps 0.4
set linetype 5 lc rgb '#E69F00'  lw 1.5 pt 13 ps 0.4
set linetype 6 lc rgb '#56B4E9'  lw 1.5 pt 3 ps 0.4
set linetype 7 lc rgb '#000000'  lw 1.5 pt 1 ps 0.4
set linetype 8 lc rgb '#999999'  lw 1.5 pt 2 ps 0.4
set palette defined (0 '#ffffff', 0.25 '#c6dbef', 0.6 '#4292c6', 1 '#08306b')
if (HAS_CAPTION) {
    set label 999 CAPTION at screen 0.5, screen 0.018 center font F_TEXT front noenhanced
}
