# make repro's plan, progress and end lines from $(OUT)/plan.tsv (Makefile: "the plan
# and the run order"; README.md#speed). what=plan: before the first run; what=progress:
# after each training; what=end: the last line of make repro.
#   plan.tsv: "# ceiling_gflops G", "# cores C", "# slots S", "# t0 T", "# expect_x X",
#   then rows id, stamp, steps, tflop, todo (1 = to train in this make).
# The FLOP bound is the training FLOPs of this make (todo rows) at the sgemm ceiling the
# plan measured on the job slots' cores; analyses and figures are not counted in it.
BEGIN { FS = "\t" }
/^# ceiling_gflops/ { ceiling = $2; next }
/^# cores/ { cores = $2; next }
/^# slots/ { slots = $2; next }
/^# t0/ { t0 = $2; next }
/^# expect_x/ { expect_x = $2; next }
/^#/ || $1 == "id" { next }
{
    all++
    if ($5 != 1) { trained++; next }
    todo++
    total += $4
    # a training finished: its stamp exists (getline < file is -1 when it cannot be read)
    if ((getline line < $2) >= 0) { done++; done_tflop += $4; close($2); next }
    # one still running: the rows of its metrics.tsv, one per step taken
    metrics = $2
    sub(/trained$/, "metrics.tsv", metrics)
    rows = 0
    while ((getline line < metrics) > 0) if (line ~ /^[0-9]/) rows++
    close(metrics)
    if (rows > 0 && $3 > 0) done_tflop += $4 * (rows < $3 ? rows / $3 : 1)
}
function minutes(s) { return s < 90 ? sprintf("%d s", s) : sprintf("%.0f min", s / 60) }
END {
    bound = ceiling > 0 ? total * 1000 / ceiling : 0
    if (what == "plan") {
        already = trained ? sprintf(", %d already trained", trained) : ""
        checks = (theory > 0) ? sprintf(", and %d theory check%s", theory, (theory > 1) ? "s" : "") : ""
        printf "plan: %d trainings, %d to run (%.1f TFLOP)%s%s; sgemm ceiling %.0f GFLOP/s on %d core%s (%d job slot%s): FLOP bound %s, expected about %s (%.2fx the bound, README.md#speed)\n",
            all, todo, total, already, checks, ceiling, cores, (cores > 1) ? "s" : "", slots, (slots > 1) ? "s" : "",
            minutes(bound), minutes(bound * expect_x), expect_x
    } else if (what == "progress") {
        elapsed = now - t0
        # the training left at the rate so far, but never less than the plan expects in all
        # (the analyses after the last training are not in the FLOPs: the plan's ratio
        # covers them). The plan's bound uses the ceiling measured before the first run, or
        # the one the progress so far implies (FLOPs done x expect_x per second) when that is
        # over twice as high: the plan was measured while the machine was busy, and would
        # promise hours at the end of a run of minutes. (In a run at the plan's pace the
        # implied ceiling stays within ~1.3x of the measured one, even when the trainings
        # are done and only the analyses remain.)
        left = (done_tflop > 0) ? elapsed * (total - done_tflop) / done_tflop : 0
        c = ceiling
        implied = (done_tflop > 0 && elapsed > 0) ? done_tflop * 1000 * expect_x / elapsed : 0
        if (implied > 2 * c) c = implied
        floor_left = (c > 0) ? total * 1000 / c * expect_x - elapsed : 0
        if (floor_left > left) left = floor_left
        pct = (total > 0) ? 100 * done_tflop / total : 100
        printf "[%d s] progress: %d of %d trainings done, %.0f%% of the training FLOPs; about %s left\n",
            elapsed, done, todo, pct, minutes((left > 0) ? left : 0)
    } else if (what == "end") {
        # the ceiling measured again now (ceiling_end): a plan measured while the machine was
        # busy would understate it; the bound takes the higher of the two
        elapsed = now - t0
        c = (ceiling_end > ceiling) ? ceiling_end : ceiling
        if (todo == 0) printf "repro: %d s; nothing was trained in this make (FLOP bound 0)\n", elapsed
        else printf "repro: %d s wall for %.1f TFLOP of training; FLOP bound %d s at %.0f GFLOP/s (%d cores; measured %.0f before the first run, %.0f now): %.2fx the bound\n",
            elapsed, total, total * 1000 / c, c, cores, ceiling, ceiling_end, elapsed / (total * 1000 / c)
    }
}
