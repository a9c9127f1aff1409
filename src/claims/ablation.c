/* Claims C13-C14 of docs/figures.md from the runs of paper_repro/ablation.mk:
 *   OUT/runs/noBOS           one layer trained with --bos 0: analysis/
 *   OUT/runs/induction       three layers on the induction task: analysis/ (heads.tsv)
 *   OUT/runs/dormant_markov  one layer on the dormant-markov task: analysis/ (heads.tsv) */
#include <string.h>
#include "bbsim/claims.h"
#include "bbsim/tsv.h"

/* C13: without BOS the non-trigger queries still park on one early position. */
static int c13(const char *out, ClaimList *l, BbError *err) {
    const char *m = "analysis/metrics.tsv";
    double key, share, first;
    int rc;
    if ((rc = claims_metric(out, "noBOS", m, 0, 0, "top_key", &key, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "top_key_share", &share, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "attn_bos", &first, err)))
        return rc;
    claims_add(l, "C13", "no BOS: mean share of the most attended key position (non-trigger)", "a sink on position 0",
               share, ">= 0.5 on position 0", share >= 0.5 && key == 0,
               "most attended key position %.0f; share of position 0 %.4g", key, first);
    return BB_OK;
}

/* C14: heads.tsv has a head active on trigger positions and dormant on the others. */
static int c14_run(const char *out, const char *run, const char *what, ClaimList *l, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, run, "analysis/heads.tsv", err), cl, ch, cd, cb;
    if (rc) return rc;
    if ((rc = tsv_require(&t, "layer", &cl, err)) || (rc = tsv_require(&t, "head", &ch, err)) ||
        (rc = tsv_require(&t, "domain", &cd, err)) || (rc = tsv_require(&t, "label", &cb, err))) {
        tsv_free(&t);
        return rc;
    }
    int found = 0, nheads = 0;
    char which[160] = "";
    for (int i = 0; i < t.nrows; i++) {
        if (strcmp(tsv_str(&t, i, cd), "trigger")) continue;
        nheads++;
        if (strcmp(tsv_str(&t, i, cb), "active")) continue;
        for (int j = 0; j < t.nrows; j++) /* the same head on the non-trigger positions */
            if (!strcmp(tsv_str(&t, j, cl), tsv_str(&t, i, cl)) && !strcmp(tsv_str(&t, j, ch), tsv_str(&t, i, ch)) &&
                !strcmp(tsv_str(&t, j, cd), "nontrigger") && !strcmp(tsv_str(&t, j, cb), "dormant")) {
                size_t n = strlen(which);
                snprintf(which + n, sizeof which - n, "%sl%sh%s", found ? "," : "", tsv_str(&t, i, cl),
                         tsv_str(&t, i, ch));
                found++;
            }
    }
    tsv_free(&t);
    char claim[96];
    snprintf(claim, sizeof claim, "%s: heads active on triggers and dormant elsewhere", what);
    claims_add(l, "C14", claim, ">= 1", found, ">= 1 head", found >= 1, "run %s: %s of %d heads", run,
               found ? which : "none", nheads);
    return BB_OK;
}

int claims_ablation(const char *out, ClaimList *l, BbError *err) {
    int rc;
    if ((rc = c13(out, l, err)) || (rc = c14_run(out, "induction", "induction (3 layers)", l, err)) ||
        (rc = c14_run(out, "dormant_markov", "dormant-markov (1 layer)", l, err)))
        return rc;
    return BB_OK;
}
