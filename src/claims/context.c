/* Claim C16 of docs/figures.md (section context) from the sweep tables of
 * paper_repro/related.mk (one row per run, gathered from its analysis/sink.tsv and
 * metrics.tsv; the figures draw the same files):
 *   OUT/related/context.tsv   x = training context length N at fixed tokens per step
 *   OUT/related/depth.tsv     x = number of layers L
 *   OUT/related/first_token_grid.tsv  each first-token run evaluated with and without BOS
 * The sweep rows: Spearman's rank correlation of the sink rate Sink_1^0.3 with x (GSL).
 * The grid row: the excess risk of the model trained with BOS always first, evaluated on
 * sequences without BOS, over its excess with BOS ("a model trained with BOS always first
 * depends on it"); the other cells (the packed and the no-BOS runs) are its controls. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_statistics_double.h>
#include "bbsim/claims.h"
#include "bbsim/tsv.h"

#define SWEEP_MAX 16

static int sweep_row(const char *out, const char *file, const char *what, const char *claim, const char *prediction,
                     ClaimList *l, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, NULL, file, err), cx, cs, cc;
    if (rc) return rc;
    if ((rc = tsv_require(&t, "x", &cx, err)) || (rc = tsv_require(&t, "sink_rate", &cs, err)) ||
        (rc = tsv_require(&t, "chance", &cc, err)))
        goto out;
    if (t.nrows < 3 || t.nrows > SWEEP_MAX) {
        rc = bb_fail(err, BB_EINPUT, "%s: %d rows; a rank correlation needs 3 to %d", t.path, t.nrows, SWEEP_MAX);
        goto out;
    }
    double x[SWEEP_MAX], s[SWEEP_MAX], work[2 * SWEEP_MAX];
    char pts[200] = "";
    for (int i = 0; i < t.nrows; i++) {
        x[i] = tsv_num(&t, i, cx);
        s[i] = tsv_num(&t, i, cs);
        if (isnan(x[i]) || isnan(s[i])) {
            rc = bb_fail(err, BB_EINPUT, "%s: row %d: x or sink_rate is not a number", t.path, i + 1);
            goto out;
        }
        size_t n = strlen(pts);
        snprintf(pts + n, sizeof pts - n, "%s%s %g: %.3g%% (chance %.2g%%)", i ? ", " : "", what, x[i], s[i],
                 tsv_num(&t, i, cc));
    }
    const double rho = gsl_stats_spearman(x, 1, s, 1, (size_t)t.nrows, work);
    claims_add(l, "C16", claim, prediction, rho, "> 0", rho > 0, "%s", pts);
out:
    tsv_free(&t);
    return rc;
}

/* The cell (train, eval) of the grid: its row, or -1. */
static int grid_row(const Tsv *t, int ct, int ce, const char *train, const char *eval) {
    for (int i = 0; i < t->nrows; i++)
        if (!strcmp(tsv_str(t, i, ct), train) && !strcmp(tsv_str(t, i, ce), eval)) return i;
    return -1;
}

static int grid_claim(const char *out, ClaimList *l, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, NULL, "related/first_token_grid.tsv", err), ct, ce, cx;
    if (rc) return rc;
    if ((rc = tsv_require(&t, "train", &ct, err)) || (rc = tsv_require(&t, "eval", &ce, err)) ||
        (rc = tsv_require(&t, "excess", &cx, err)))
        goto out;
    const int with = grid_row(&t, ct, ce, "BOS_first", "BOS"), without = grid_row(&t, ct, ce, "BOS_first", "no_BOS");
    if (with < 0 || without < 0) {
        rc = bb_fail(err, BB_EINPUT, "%s: no row with train BOS_first and eval %s", t.path, with < 0 ? "BOS" : "no_BOS");
        goto out;
    }
    const double ew = tsv_num(&t, with, cx), eo = tsv_num(&t, without, cx);
    if (!(ew > 0) || isnan(eo)) {
        rc = bb_fail(err, BB_EINPUT, "%s: the BOS_first excess risks (%g with BOS, %g without) are not positive numbers",
                     t.path, ew, eo);
        goto out;
    }
    char cells[400] = "excess (nats), trained -> evaluated:";
    for (int i = 0; i < t.nrows; i++) {
        size_t n = strlen(cells);
        snprintf(cells + n, sizeof cells - n, "%s %s -> %s %.3g", i ? "," : "", tsv_str(&t, i, ct), tsv_str(&t, i, ce),
                 tsv_num(&t, i, cx));
    }
    claims_add(l, "C16", "BOS removed at evaluation: excess ratio (BOS-first model)", "degrades without BOS", eo / ew,
               "> 1", eo > ew, "%s", cells);
out:
    tsv_free(&t);
    return rc;
}

int claims_context(const char *out, ClaimList *l, BbError *err) {
    int rc;
    if ((rc = sweep_row(out, "related/context.tsv", "N", "Spearman(sink rate, training context length N)",
                        "sinks grow with N", l, err)) ||
        (rc = sweep_row(out, "related/depth.tsv", "L", "Spearman(sink rate, depth L)", "sinks grow with depth", l,
                        err)) ||
        (rc = grid_claim(out, l, err)))
        return rc;
    return BB_OK;
}
