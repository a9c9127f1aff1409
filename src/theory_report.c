/* The theory checker's outputs: the claims table (theory.tsv and the readable version on
 * stdout) and the common header of every curve TSV (provenance + every option). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bbsim/theory.h"

static void copy_field(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '\t' || *p == '\n') *p = ' '; /* keep the TSV rectangular */
}

void claims_add(ClaimList *l, const char *id, const char *claim, const char *prediction, double measured,
                const char *threshold, int pass, const char *fit_fmt, ...) {
    BB_CHECK(l->n < THEORY_MAX_CLAIMS);
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

int theory_tsv_open(AtomicFile *af, const char *dir, const char *name, const Opt *opts, int nopts, BbError *err) {
    char path[BB_STRLEN];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return bb_fail(err, BB_EINPUT, "output path too long: %s/%s", dir, name);
    int rc = afile_open(af, path, err);
    if (rc) return rc;
    bb_write_provenance(af->f);
    for (int i = 0; i < nopts; i++) {
        char val[BB_STRLEN + 64];
        opts_format(&opts[i], val, sizeof val);
        fprintf(af->f, "# %s %s\n", opts[i].name, val);
    }
    return BB_OK;
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
        fprintf(af.f, "%s\t%s\t%s\t%.6g\t%s\t%s\t%s\n", c->id, c->claim, c->prediction, c->measured, c->fit,
                c->threshold, c->pass ? "PASS" : "FAIL");
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
