/* The claims table shared by `bbsim theory` (theory.tsv) and `bbsim claims` (claims.tsv):
 * building rows, writing and reading the TSV, the readable table, and the registry of
 * claim sections with the path helpers they share. */
#include "bbsim/claims.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bbsim/tsv.h"

static void copy_field(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '\t' || *p == '\n') *p = ' '; /* keep the TSV rectangular */
}

void claims_add(ClaimList *l, const char *id, const char *claim, const char *prediction, double measured,
                const char *threshold, int pass, const char *fit_fmt, ...) {
    BB_CHECK(l->n < CLAIMS_MAX);
    Claim *c = &l->c[l->n++];
    memset(c, 0, sizeof *c);
    copy_field(c->id, sizeof c->id, id);
    copy_field(c->claim, sizeof c->claim, claim);
    copy_field(c->prediction, sizeof c->prediction, prediction);
    copy_field(c->threshold, sizeof c->threshold, threshold);
    char fit[sizeof c->fit];
    va_list ap;
    va_start(ap, fit_fmt);
    vsnprintf(fit, sizeof fit, fit_fmt, ap);
    va_end(ap);
    copy_field(c->fit, sizeof c->fit, fit);
    c->measured = measured;
    c->pass = pass && isfinite(measured); /* a NaN measurement never passes */
}

int claims_write_tsv(const ClaimList *l, const char *path, const Opt *opts, int nopts, BbError *err) {
    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) return rc;
    bb_write_provenance(af.f);
    for (int i = 0; i < nopts; i++) {
        char val[BB_STRLEN + 64];
        opts_format(&opts[i], val, sizeof val);
        fprintf(af.f, "# %s %s\n", opts[i].name, val);
    }
    fprintf(af.f, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\n");
    for (int i = 0; i < l->n; i++) {
        const Claim *c = &l->c[i];
        fprintf(af.f, "%s\t%s\t%s\t", c->id, c->claim, c->prediction);
        bb_put_num(af.f, c->measured);
        fprintf(af.f, "\t%s\t%s\t%s\n", c->fit, c->threshold, c->pass ? "PASS" : "FAIL");
    }
    return afile_commit(&af, err);
}

void claims_print(FILE *f, const ClaimList *l) {
    int npass = 0;
    fprintf(f, "%-4s %-48s %-12s %-30s %s\n", "id", "claim", "measured", "threshold", "verdict");
    for (int i = 0; i < l->n; i++) {
        const Claim *c = &l->c[i];
        npass += c->pass;
        fprintf(f, "%-4s %-48s %-12.5g %-30s %s\n", c->id, c->claim, c->measured, c->threshold,
                c->pass ? "PASS" : "FAIL");
        fprintf(f, "     predicted: %s; %s\n", c->prediction, c->fit);
    }
    fprintf(f, "%d of %d claims pass\n", npass, l->n);
}

int claims_read_tsv(ClaimList *l, const char *path, BbError *err) {
    Tsv t;
    int rc = tsv_read(path, &t, err), cid, ccl, cpr, cme, cfi, cth, cve;
    if (rc) return rc;
    if ((rc = tsv_require(&t, "id", &cid, err)) || (rc = tsv_require(&t, "claim", &ccl, err)) ||
        (rc = tsv_require(&t, "prediction", &cpr, err)) || (rc = tsv_require(&t, "measured", &cme, err)) ||
        (rc = tsv_require(&t, "fit", &cfi, err)) || (rc = tsv_require(&t, "threshold", &cth, err)) ||
        (rc = tsv_require(&t, "verdict", &cve, err)))
        goto out;
    for (int i = 0; i < t.nrows; i++) {
        const char *v = tsv_str(&t, i, cve);
        if (strcmp(v, "PASS") && strcmp(v, "FAIL")) {
            rc = bb_fail(err, BB_EINPUT, "%s: row %d: verdict '%s' is neither PASS nor FAIL", path, i + 1, v);
            goto out;
        }
        if (l->n >= CLAIMS_MAX) {
            rc = bb_fail(err, BB_EINPUT, "%s: more than %d claims", path, CLAIMS_MAX);
            goto out;
        }
        claims_add(l, tsv_str(&t, i, cid), tsv_str(&t, i, ccl), tsv_str(&t, i, cpr), tsv_num(&t, i, cme),
                   tsv_str(&t, i, cth), !strcmp(v, "PASS"), "%s", tsv_str(&t, i, cfi));
    }
out:
    tsv_free(&t);
    return rc;
}

/* ------------------------------------------------------------ sections */

const ClaimSection claim_sections[] = {
    {"onelayer", "C1-C5: the one-layer model (attention maps, value drain, interventions, dynamics, ReLU)",
     claims_onelayer},
    {"deep", "C6-C9: three layers (residual peak, layer-0 removal, optimizer/activation, architectures)",
     claims_deep},
    {"theory", "C10-C12 (copied from OUT/theory/theory.tsv, written by bbsim theory all)", claims_theory},
    {"ablation", "C13-C14: no BOS; induction and dormant-markov head tables", claims_ablation},
    {"related", "C15-C17: activation sweep sink rates, context/depth sweep, over-mixing and path sums",
     claims_related},
};
const int claim_nsections = (int)(sizeof claim_sections / sizeof claim_sections[0]);

int claims_path(char *buf, size_t n, const char *out, const char *run, const char *rel, BbError *err) {
    int w = run ? snprintf(buf, n, "%s/runs/%s/%s", out, run, rel) : snprintf(buf, n, "%s/%s", out, rel);
    if (w < 0 || (size_t)w >= n) return bb_fail(err, BB_EINPUT, "path too long under %s", out);
    return 0;
}

int claims_tsv(Tsv *t, const char *out, const char *run, const char *rel, BbError *err) {
    char path[BB_STRLEN];
    memset(t, 0, sizeof *t);
    int rc = claims_path(path, sizeof path, out, run, rel, err);
    return rc ? rc : tsv_read(path, t, err);
}

int claims_metric(const char *out, const char *run, const char *rel, int layer, int head, const char *metric,
                  double *value, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, run, rel, err);
    if (!rc) rc = tsv_metric(&t, layer, head, metric, value, err);
    tsv_free(&t);
    return rc;
}

int claims_theory(const char *out, ClaimList *l, BbError *err) {
    char path[BB_STRLEN];
    int rc = claims_path(path, sizeof path, out, NULL, "theory/theory.tsv", err);
    return rc ? rc : claims_read_tsv(l, path, err);
}
