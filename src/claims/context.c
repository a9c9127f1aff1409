/* Claim C16 of docs/figures.md (section context) from the sweep tables of
 * paper_repro/related.mk (one row per run, gathered from its analysis/sink.tsv and
 * metrics.tsv; the figures draw the same files):
 *   OUT/related/context.tsv   x = training context length N at fixed tokens per step
 *   OUT/related/depth.tsv     x = number of layers L
 * Each row: Spearman's rank correlation of the sink rate Sink_1^0.3 with x (GSL). */
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

int claims_context(const char *out, ClaimList *l, BbError *err) {
    int rc;
    if ((rc = sweep_row(out, "related/context.tsv", "N", "Spearman(sink rate, training context length N)",
                        "sinks grow with N", l, err)) ||
        (rc = sweep_row(out, "related/depth.tsv", "L", "Spearman(sink rate, depth L)", "sinks grow with depth", l,
                        err)))
        return rc;
    return BB_OK;
}
