# Shared by the figures that show the spread over seeds (dynamics.gp, intervention_bars.gp,
# resid_curves.gp, theory_simple.gp, and value_bars.gp and layer_panels.gp through seq_common.gp);
# not a figure itself. Reads INPUT, either one run's TSV or a replicate list written by
# make repro (paper_repro/Makefile, macro replicates: columns replicate and path, one row per
# seed, the first seed first), and sets
#   REP_N          the number of seeds (1 for a plain TSV: the file itself)
#   REP_FILE[k]    the TSV of seed k, k = 1 .. REP_N (REP_FILE[1] is the one the figure draws)
# Usage (after style.gp, which sets the tab separator and column headers):
#   call PLOTS."/replicates.gp" INPUT
# The names are read with stats, never through a shell.
rep_head = ""
stats ARG1 every ::0::0 using (rep_head = columnheader(1), 0) nooutput
if (rep_head eq "replicate") {
    stats ARG1 using 0 nooutput
    REP_N = int(STATS_records)
    array REP_FILE[REP_N]
    stats ARG1 using (REP_FILE[int($0) + 1] = bb_file(strcol("path")), 0) nooutput
} else {
    REP_N = 1
    array REP_FILE[1]
    REP_FILE[1] = ARG1
}
