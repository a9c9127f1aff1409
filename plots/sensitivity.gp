# Over-mixing (claim C17), from the output directory of bbsim sensitivity. Left: the
# perturbation spread ||dh_i|| / ||h_i|| at the query position i after each layer against
# the distance i - j of the replaced token, with the sink intact (solid) and with attention
# to the first token removed (dashed); one colour per layer (a series index: C_TYPE).
# Right: the exact Jacobian norm ||d h^L_i / d h^0_j|| against the path sum
# P_ij = [prod_l (A_l + I)]_ij on log axes (black points), with the bound prod_l K_l M_l P_ij
# (grey points) and the diagonal y = x (dashed) for scale.
# Usage: gnuplot -c plots/sensitivity.gp OUT.pdf SENSITIVITY_DIR [LABEL]
if (ARGC < 2) { print "usage: gnuplot -c sensitivity.gp OUT.pdf SENSITIVITY_DIR [LABEL]"; exit status 2 }
OUTPUT = ARG1
dir = ARG2
LABEL = ARGC >= 3 ? ARG3 : ""
FIG_W = 7.0; FIG_H = 3.6
bb_rpos(s, c) = strstrt(s, c) ? strstrt(s, c) + bb_rpos(s[strstrt(s, c) + 1:], c) : 0   # last c in s
if (!exists("PLOTS")) PLOTS = bb_rpos(ARG0, "/") ? ARG0[1:bb_rpos(ARG0, "/") - 1] : "."
load PLOTS."/shell.gp"
dir = bb_file(dir)
load PLOTS."/style.gp"
fsp = dir.'/spread.tsv'
fj = dir.'/jacobian.tsv'
fs = dir.'/summary.tsv'

# the summary's model-level numbers (layer -1)
metric(name) = (column("layer") == -1 && strcol("metric") eq name) ? column("value") : NaN
stats fs using (metric("spread_intact")) nooutput
sp_in = STATS_max
stats fs using (metric("spread_nosink")) nooutput
sp_no = STATS_max
stats fs using (metric("bound_held")) nooutput
held = STATS_max
stats fs using (metric("pairs")) nooutput
pairs = STATS_max
stats fs using (metric("spearman_log")) nooutput
rho = STATS_max
stats fs using (metric("pearson_log")) nooutput
r_p = STATS_max
stats fs using (metric("query_pos")) nooutput
qpos = int(STATS_max)
stats fsp using (column("layer")) nooutput
nl = int(STATS_max) + 1

set multiplot layout 1,2 margins 0.08,0.98,0.14 + CAP_H,0.82 spacing 0.09,0.1
if (strlen(LABEL) > 0) {
    set label 998 sprintf('%s: over-mixing at query position %d', LABEL, qpos) at screen 0.5, screen 0.965 center font F_TITLE noenhanced
}

set title sprintf("spread of one replaced token\nlast layer, mean: %.3g intact, %.3g without the sink", sp_in, sp_no) noenhanced
set xlabel 'distance i - j of the replaced token'
set ylabel '||Δh_i|| / ||h_i|| after the layer'
set logscale y
set format y '10^{%L}'
set xrange [0:qpos]
set key top right reverse Left samplen 3 spacing 1.05 font F_KEY
plot for [l = 0:nl-1] fsp using (column("layer") == l ? column("distance") : NaN):(column("spread_intact")) \
        with lines lw 1.5 lc rgb C_TYPE(l) title sprintf('layer %d', l), \
     for [l = 0:nl-1] fsp using (column("layer") == l ? column("distance") : NaN):(column("spread_nosink")) \
        with lines lw 1.2 dt 2 lc rgb C_TYPE(l) notitle, \
     NaN with lines lw 1.5 lc rgb C_REF title 'solid: sink intact', \
     NaN with lines lw 1.2 dt 2 lc rgb C_REF title 'dashed: BOS attention removed'

unset label 998
set title sprintf("Jacobian vs path sum (every (seq, j) pair)\nbound held on %d of %d; log-log Spearman %.2f, Pearson %.2f", \
                  held, pairs, rho, r_p) noenhanced
set xlabel 'path sum P_{ij} = [Π_l (A_l + I)]_{ij}'
set ylabel '||∂h^L_i / ∂h^0_j||_2, bound'
set logscale xy
set format x '10^{%L}'
set autoscale x
set key bottom right reverse Left samplen 2 spacing 1.05 font F_KEY
plot fj using (column("path_sum")):(column("bound")) with points pt 7 ps 0.25 lc rgb C_OTHER title 'bound Π_l K_l M_l · P_{ij}', \
     fj using (column("path_sum")):(column("jacobian_norm")) with points pt 7 ps 0.3 lc rgb C_REF title 'Jacobian norm (exact)', \
     x with lines dt DT_REF lw 1 lc rgb C_MARK title 'y = x'
unset multiplot
