/* Claims C13-C14 of docs/figures.md from the runs of paper_repro/ablation.mk:
 *   OUT/runs/noBOS           one layer trained with --bos 0: analysis/
 *   OUT/runs/induction       three layers on the induction task: analysis/ (heads.tsv)
 *   OUT/runs/dormant_markov  one layer on the dormant-markov task: analysis/ (heads.tsv) */
#include <stdlib.h>
#include <string.h>
#include "bbsim/claims.h"
#include "bbsim/tsv.h"

/* The label of token `token` (dlogit.tsv of layer 0, head 0 lists every type that occurs at
 * a position >= 2, with its escaped label); "id N" when it is not there. */
static int token_label(const char *out, const char *run, int token, char *buf, size_t n, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, run, "analysis/dlogit.tsv", err), cl, ch, ct, cb;
    if (rc) return rc;
    snprintf(buf, n, "id %d", token);
    if (!(rc = tsv_require(&t, "layer", &cl, err)) && !(rc = tsv_require(&t, "head", &ch, err)) &&
        !(rc = tsv_require(&t, "token", &ct, err)) && !(rc = tsv_require(&t, "label", &cb, err)))
        for (int i = 0; i < t.nrows; i++)
            if (!strcmp(tsv_str(&t, i, cl), "0") && !strcmp(tsv_str(&t, i, ch), "0") &&
                atoi(tsv_str(&t, i, ct)) == token) {
                snprintf(buf, n, "%s", tsv_str(&t, i, cb));
                break;
            }
    tsv_free(&t);
    return rc;
}

/* C13: without BOS the non-trigger queries still sink, on the first token of one token
 * type X whose position varies per sequence (docs/method.md, "sink on a token type"). */
static int c13(const char *out, ClaimList *l, BbError *err) {
    const char *m = "analysis/metrics.tsv";
    double type, share, rows, argmax, key, key_share;
    int rc;
    if ((rc = claims_metric(out, "noBOS", m, 0, 0, "sink_type", &type, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "sink_type_share", &share, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "sink_type_rows", &rows, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "sink_type_argmax", &argmax, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "top_key", &key, err)) ||
        (rc = claims_metric(out, "noBOS", m, 0, 0, "top_key_share", &key_share, err)))
        return rc;
    char label[64] = "none";
    if (type >= 0 && (rc = token_label(out, "noBOS", (int)type, label, sizeof label, err))) return rc;
    claims_add(l, "C13", "no BOS: mean share of non-trigger rows on the first token of the sink type",
               "a sink on a token type (paper: first \\n)", share, ">= 0.5", share >= 0.5,
               "sink type '%s' over %.0f rows; largest-share key of that type in %.3g of them; "
               "most attended key position %.0f (share %.3g)%s",
               label, rows, argmax, key, key_share,
               share >= 0.5 ? ""
                            : "; no quick size measured (to N 256, 12k steps) formed it: paper_repro/README.md#c13");
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
