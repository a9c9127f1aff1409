/* Claim C17 of docs/figures.md (section overmixing) from bbsim sensitivity on runs of other
 * fragments (paper_repro/overmixing.mk):
 *   OUT/runs/3L/sensitivity/summary.tsv   3 layers, softmax, AdamW (deep.mk)
 *   OUT/runs/1L/sensitivity/summary.tsv   1 layer, softmax, AdamW (onelayer.mk)
 * Two rows per run: the last layer's spread without the sink over the spread with it
 * (> 1), and the share of measured (i, j) pairs on which the path-sum bound held (= 1). */
#include <math.h>
#include "bbsim/claims.h"

static const char *const overmixing_runs[][2] = {{"3L", "3 layers"}, {"1L", "1 layer"}};

static int c17_run(const char *out, const char *run, const char *what, ClaimList *l, BbError *err) {
    const char *f = "sensitivity/summary.tsv";
    double intact, nosink, pairs, held, ratio_max, pearson, spearman, seqs, pos;
    int rc;
    if ((rc = claims_metric(out, run, f, -1, -1, "spread_intact", &intact, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "spread_nosink", &nosink, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "pairs", &pairs, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "bound_held", &held, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "bound_ratio_max", &ratio_max, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "pearson_log", &pearson, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "spearman_log", &spearman, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "seqs", &seqs, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "query_pos", &pos, err)))
        return rc;
    char claim[96];
    const double ratio = nosink / intact;
    snprintf(claim, sizeof claim, "%s: spread no sink / intact (last layer)", what);
    claims_add(l, "C17", claim, "larger without the sink", ratio, "> 1", ratio > 1,
               "run %s: relative change at position %.0f: intact %.4g, BOS attention removed %.4g (%.0f sequences)",
               run, pos, intact, nosink, seqs);
    const double frac = pairs > 0 ? held / pairs : NAN;
    snprintf(claim, sizeof claim, "%s: share of pairs with Jacobian <= bound", what);
    claims_add(l, "C17", claim, "the bound holds", frac, "= 1 (every measured pair)", pairs > 0 && held == pairs,
               "run %s: %.0f of %.0f pairs; max Jacobian/bound %.3g; log Jacobian vs log path sum: Spearman %.3f, "
               "Pearson %.3f",
               run, held, pairs, ratio_max, spearman, pearson);
    return BB_OK;
}

int claims_overmixing(const char *out, ClaimList *l, BbError *err) {
    for (size_t k = 0; k < sizeof overmixing_runs / sizeof overmixing_runs[0]; k++) {
        int rc = c17_run(out, overmixing_runs[k][0], overmixing_runs[k][1], l, err);
        if (rc) return rc;
    }
    return BB_OK;
}
