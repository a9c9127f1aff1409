/* The claims table shared by `bbsim theory` (theory.tsv) and `bbsim claims` (claims.tsv):
 * building rows, writing and reading the TSV, the readable table, and the registry of
 * claim sections with the path helpers they share. */
#include "bbsim/claims.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include "bbsim/tsv.h"

static void copy_field(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '\t' || *p == '\n') *p = ' '; /* one line, in claims_print's table too */
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
    c->seeds = 1;
    c->seeds_pass = c->pass;
    c->lo = c->hi = measured;
    snprintf(c->values, sizeof c->values, "%.6g", measured);
    c->rate_k = c->rate_n = c->rate_threshold = c->ci_lo = c->ci_hi = NAN;
}

void claims_not_run(ClaimList *l, const char *id, const char *claim, const char *threshold, const char *why) {
    claims_add(l, id, claim, "-", NAN, threshold, 0, "%s", why);
    l->c[l->n - 1].not_run = 1;
}

const char *claims_verdict(const Claim *c) {
    if (c->not_run) return "NOT RUN";
    if (c->pass) return "PASS";
    if (c->rate) return c->undecided ? "UNDECIDED" : "FAIL";
    return c->seeds_pass > 0 ? "MIXED" : "FAIL";
}

/* ------------------------------------------------------------ rates */

void claims_wilson(double k, double n, double level, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (!(n > 0) || !(k >= 0 && k <= n) || !(level > 0 && level < 1)) return;
    const double z = gsl_cdf_ugaussian_Pinv(1 - (1 - level) / 2), z2 = z * z, p = k / n;
    /* centre = (p + z^2/2n) / (1 + z^2/n), half = z/(1 + z^2/n) sqrt(p(1-p)/n + z^2/4n^2) */
    const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const double half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
}

/* Whether a rate v (%) is on the passing side of the row's threshold (NaN: no). */
static int rate_passes(const Claim *c, double v) {
    return c->rate_above ? v >= c->rate_threshold : v <= c->rate_threshold;
}

/* The verdict of a rate row from its counts: PASS when the whole interval is on the
 * passing side of the threshold, FAIL when it is all on the failing side, UNDECIDED when
 * it straddles the threshold; NaN counts never pass (FAIL). */
static void rate_decide(Claim *c) {
    double lo, hi;
    claims_wilson(c->rate_k, c->rate_n, CLAIMS_RATE_LEVEL, &lo, &hi);
    c->ci_lo = 100 * lo;
    c->ci_hi = 100 * hi;
    const double t = c->rate_threshold;
    const int pass = c->rate_above ? c->ci_lo >= t : c->ci_hi <= t;
    const int fail = c->rate_above ? c->ci_hi < t : c->ci_lo > t;
    c->pass = pass && isfinite(c->measured);
    c->undecided = !c->pass && !fail && isfinite(lo) && isfinite(hi) && isfinite(c->measured);
}

void claims_set_rate(ClaimList *l, double k, double n, double threshold, int pass_above) {
    BB_CHECK(l->n > 0);
    Claim *c = &l->c[l->n - 1];
    c->rate = 1;
    c->rate_k = k;
    c->rate_n = n;
    c->rate_threshold = threshold;
    c->rate_above = pass_above;
    c->seeds_pass = rate_passes(c, c->measured);
    rate_decide(c);
}

int claims_write_tsv(const ClaimList *l, const char *path, const Opt *opts, int nopts, BbError *err) {
    TsvWriter w;
    int rc = tsv_begin(&w, NULL, path,
                       "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\tseeds\tseeds_pass\tmin\tmax\tvalues\t"
                       "ci_low\tci_high\tpooled_k\tpooled_n",
                       err);
    if (rc) return rc;
    fprintf(w.f, "# measured is the median over the seeds of the row (seeds, one per replicate run); seeds_pass of\n"
                 "# them passed; min and max over the seeds; values per seed in replicate order (seed 42, 43, ...).\n"
                 "# verdict: PASS every seed passed, FAIL none, MIXED some (docs/figures.md#seeds).\n"
                 "# Rate rows (pooled_n a number, NaN on the others): pooled_k of pooled_n heads sink, summed over\n"
                 "# heads x seeds; measured = 100 pooled_k / pooled_n; [ci_low, ci_high] its 95%% Wilson interval (%%);\n"
                 "# verdict PASS / FAIL when the interval is all on the passing / failing side of the threshold,\n"
                 "# UNDECIDED when it straddles it; seeds_pass = seeds whose own rate is on the passing side\n");
    tsv_options(w.f, opts, nopts);
    for (int i = 0; i < l->n; i++) {
        const Claim *c = &l->c[i];
        const char *text[3] = {c->id, c->claim, c->prediction};
        for (int k = 0; k < 3; k++) {
            tsv_put_text(w.f, text[k], TSV_ESC_TEXT);
            fputc('\t', w.f);
        }
        bb_put_num(w.f, c->measured);
        fputc('\t', w.f);
        tsv_put_text(w.f, c->fit, TSV_ESC_TEXT);
        fputc('\t', w.f);
        tsv_put_text(w.f, c->threshold, TSV_ESC_TEXT);
        fprintf(w.f, "\t%s\t%d\t%d\t", claims_verdict(c), c->seeds, c->seeds_pass);
        bb_put_num(w.f, c->lo);
        fputc('\t', w.f);
        bb_put_num(w.f, c->hi);
        fputc('\t', w.f);
        tsv_put_text(w.f, c->values, TSV_ESC_TEXT);
        const double rate[4] = {c->rate ? c->ci_lo : NAN, c->rate ? c->ci_hi : NAN, c->rate ? c->rate_k : NAN,
                                c->rate ? c->rate_n : NAN};
        bb_put_fields(w.f, 4, rate);
        fputc('\n', w.f);
    }
    return tsv_commit(&w, err);
}

static const char *const verdict_names[] = {"PASS", "MIXED", "FAIL", "UNDECIDED", "NOT RUN"};
enum { N_VERDICTS = sizeof verdict_names / sizeof verdict_names[0] };

void claims_print(FILE *f, const ClaimList *l) {
    int count[N_VERDICTS] = {0};
    fprintf(f, "%-4s %-48s %-12s %-30s %s\n", "id", "claim", "measured", "threshold", "verdict");
    for (int i = 0; i < l->n; i++) {
        const Claim *c = &l->c[i];
        const char *v = claims_verdict(c);
        for (int k = 0; k < N_VERDICTS; k++) count[k] += !strcmp(v, verdict_names[k]);
        char verdict[32];
        if (!c->not_run) /* how many seeds decided it, one included */
            snprintf(verdict, sizeof verdict, "%s %d/%d", v, c->seeds_pass, c->seeds);
        else snprintf(verdict, sizeof verdict, "%s", v);
        if (c->not_run) fprintf(f, "%-4s %-48s %-12s %-30s %s\n", c->id, c->claim, "-", c->threshold, verdict);
        else fprintf(f, "%-4s %-48s %-12.5g %-30s %s\n", c->id, c->claim, c->measured, c->threshold, verdict);
        if (c->not_run) {
            fprintf(f, "     %s\n", c->fit);
            continue;
        }
        fprintf(f, "     predicted: %s\n", c->prediction);
        if (c->rate) /* what decided it: the pooled counts and their interval */
            fprintf(f, "     pooled over heads x %d seed%s: %.4g of %.4g heads sink, 95%% Wilson interval [%.4g%%, %.4g%%]\n",
                    c->seeds, c->seeds > 1 ? "s" : "", c->rate_k, c->rate_n, c->ci_lo, c->ci_hi);
        if (c->seeds > 1)
            fprintf(f, "     %s%d seeds, range [%.5g, %.5g], per seed %s; first seed: %s\n", c->rate ? "" : "median of ",
                    c->seeds, c->lo, c->hi, c->values, c->fit);
        else fprintf(f, "     %s\n", c->fit);
    }
    fprintf(f, "%d PASS, %d MIXED, %d FAIL, %d UNDECIDED, %d NOT RUN (%d rows; claims.tsv has every number at full precision)\n",
            count[0], count[1], count[2], count[3], count[4], l->n);
}

/* Field (row, col) of t decoded (tsv_unescape) into out; BB_EINPUT on a bad escape. */
static int unescape_field(char *out, size_t cap, const Tsv *t, int row, int col, BbError *err) {
    size_t n;
    if (tsv_unescape((unsigned char *)out, cap - 1, tsv_str(t, row, col), &n))
        return bb_fail(err, BB_EINPUT, "%s: row %d, column %s: a bad escape or too long: '%s'", t->path, row + 1,
                       t->names[col], tsv_str(t, row, col));
    out[n] = '\0';
    return BB_OK;
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
    const int cse = tsv_col(&t, "seeds");
    int csp = -1, cmi = -1, cma = -1, cva = -1;
    if (cse >= 0 && ((rc = tsv_require(&t, "seeds_pass", &csp, err)) || (rc = tsv_require(&t, "min", &cmi, err)) ||
                     (rc = tsv_require(&t, "max", &cma, err)) || (rc = tsv_require(&t, "values", &cva, err))))
        goto out;
    const int clo = tsv_col(&t, "ci_low"); /* the rate columns (absent before pooled rates) */
    int chi = -1, cpk = -1, cpn = -1;
    if (clo >= 0 && ((rc = tsv_require(&t, "ci_high", &chi, err)) || (rc = tsv_require(&t, "pooled_k", &cpk, err)) ||
                     (rc = tsv_require(&t, "pooled_n", &cpn, err))))
        goto out;
    for (int i = 0; i < t.nrows; i++) {
        const char *v = tsv_str(&t, i, cve);
        int known = 0;
        for (int k = 0; k < N_VERDICTS; k++) known |= !strcmp(v, verdict_names[k]);
        if (!known) {
            rc = bb_fail(err, BB_EINPUT, "%s: row %d: verdict '%s' is none of PASS, MIXED, FAIL, UNDECIDED, NOT RUN",
                         path, i + 1, v);
            goto out;
        }
        if (l->n >= CLAIMS_MAX) {
            rc = bb_fail(err, BB_EINPUT, "%s: more than %d claims", path, CLAIMS_MAX);
            goto out;
        }
        const int cols[5] = {cid, ccl, cpr, cfi, cth};
        char text[5][sizeof l->c[0].fit];
        for (int k = 0; k < 5; k++)
            if ((rc = unescape_field(text[k], sizeof text[k], &t, i, cols[k], err))) goto out;
        claims_add(l, text[0], text[1], text[2], tsv_num(&t, i, cme), text[4], !strcmp(v, "PASS"), "%s", text[3]);
        Claim *c = &l->c[l->n - 1];
        c->not_run = !strcmp(v, "NOT RUN");
        c->undecided = !strcmp(v, "UNDECIDED");
        if (clo >= 0 && isfinite(tsv_num(&t, i, cpn))) {
            c->rate = 1;
            c->ci_lo = tsv_num(&t, i, clo);
            c->ci_hi = tsv_num(&t, i, chi);
            c->rate_k = tsv_num(&t, i, cpk);
            c->rate_n = tsv_num(&t, i, cpn);
        }
        if (c->rate ? !strcmp(v, "MIXED") : c->undecided) {
            rc = bb_fail(err, BB_EINPUT, "%s: row %d: verdict %s on a row that %s a rate (pooled_n)", path, i + 1, v,
                         c->rate ? "is" : "is not");
            goto out;
        }
        if (cse >= 0) { /* the seed columns (absent from tables of bbsim 0.2) */
            c->seeds = (int)tsv_num(&t, i, cse);
            c->seeds_pass = (int)tsv_num(&t, i, csp);
            c->lo = tsv_num(&t, i, cmi);
            c->hi = tsv_num(&t, i, cma);
            if ((rc = unescape_field(c->values, sizeof c->values, &t, i, cva, err))) goto out;
            const int mixed = !strcmp(v, "MIXED");
            if (c->seeds < 1 || c->seeds_pass < 0 || c->seeds_pass > c->seeds ||
                (!c->not_run && !c->rate && mixed != (c->seeds_pass > 0 && c->seeds_pass < c->seeds))) {
                rc = bb_fail(err, BB_EINPUT, "%s: row %d: verdict %s does not match %d of %d seeds passing", path,
                             i + 1, v, c->seeds_pass, c->seeds);
                goto out;
            }
        }
    }
out:
    tsv_free(&t);
    return rc;
}

/* ------------------------------------------------------------ sections */

const ClaimSection claim_sections[] = {
    {"onelayer", "C1-C5: the one-layer model (attention maps, value drain, interventions, dynamics, ReLU)",
     claims_onelayer, "not requested: its runs (paper_repro/onelayer.mk) are not part of this make repro"},
    {"deep", "C6-C9: three layers (residual peak, layer-0 removal, optimizer/activation, architectures)",
     claims_deep, "not requested: its runs (paper_repro/deep.mk) are not part of this make repro"},
    {"relu_lr", "C8's finding: ReLU attention's |Res<s>| growth against lr (3 layers, lr 3e-4, 1e-3, 3e-3)",
     claims_relu_lr, "not requested: the ReLU lr sweep runs in make repro-related (paper_repro/deep.mk)"},
    {"theory", "C10-C12 (copied from OUT/theory/theory.tsv, written by bbsim theory all)", claims_theory,
     "not requested: bbsim theory all (paper_repro/theory.mk) is not part of this make repro"},
    {"ablation", "C13-C14: no BOS; induction and dormant-markov head tables", claims_ablation,
     "not requested: its runs (paper_repro/ablation.mk) are not part of this make repro"},
    {"activations", "C15: sink rate, loss, Attn<s>, |Val<s>| per attention activation (2 layers x 4 heads)",
     claims_activations, "not requested: the related-work sweeps run in make repro-related (paper_repro/related.mk)"},
    {"context", "C16: sink rate vs training context length and vs depth", claims_context,
     "not requested: the related-work sweeps run in make repro-related (paper_repro/related.mk)"},
    {"overmixing", "C17: perturbation spread with and without the sink; Jacobian vs path-sum bound",
     claims_overmixing, "not requested: its analysis (paper_repro/overmixing.mk) is not part of this make repro"},
    {"sinkfree", "C18: sink-free attentions (softmax-sink, softpick, gated-head, gated-elem) against softmax, 1 and 3 layers",
     claims_sinkfree, "not requested: the sink-free attentions run in make repro-related (paper_repro/sinkfree.mk)"},
};
const int claim_nsections = (int)(sizeof claim_sections / sizeof claim_sections[0]);

const ClaimInfo claim_contract[] = {
    {"C1", "onelayer", "attention maps: sink on non-trigger, previous token on trigger",
     "Attn<s> >= 0.9 and Attn_prev >= 0.9 (layer 0)"},
    {"C2", "onelayer", "value-state drain of <s>", "|Val<s>| / mean |Val| <= 0.3"},
    {"C3", "onelayer", "interventions: no attention, no MLP, full model",
     "no-attn: bigram dRisk <= 0.02, backcopy excess >= 2; no-MLP: bigram excess >= 0.5; full <= 0.05"},
    {"C4", "onelayer", "training dynamics: bigram first, dlogit ~ log t, value drains",
     "bigram < 0.1 before Attn<s> > 0.5; dlogit R2 >= 0.8, slope > 0; |Val<s>| end <= 0.6 peak"},
    {"C5", "onelayer", "ReLU attention: no sink", "Attn<s> <= 0.2 at the end; backcopy excess <= 0.05"},
    {"C6", "deep", "3 layers: residual peak after layer 0, sink in a later layer",
     "|Res<s>| >= 3 x others after layer 0; a later layer Attn<s> >= 0.8"},
    {"C7", "deep", "layer 0 removed", "gap cut >= 80%, layer-1 sink logit cut >= 50%, layer-1 |Val<s>| x >= 3"},
    {"C8", "deep", "|Res<s>| growth: AdamW vs SGD vs ReLU",
     "end / at 10%: AdamW >= 2; SGD, ReLU (lr 3e-4) <= 1.5"},
    {"C8", "relu_lr", "ReLU lr sweep (finding): growth at lr 3e-3 / growth at 3e-4", "> 1"},
    {"C9", "deep", "architectures: the peak needs layer-0 attention + MLP and a later layer",
     "gaps of 3xTF and TF+TF+MLP >= 3 x gaps of MLP+TF+MLP and Attn+TF+MLP"},
    {"C10", "theory", "residual-peak toy", "Adam m_end / m_0 >= 4; SGD within 1% of the closed form"},
    {"C11", "theory", "reduced dynamics", "y slope in log t [0.4, 0.6]; exponents; ODE = GD within 2%; fixed: finite"},
    {"C12", "theory", "simplified model", "a_v ~ log t (R2 >= 0.8); |Wo b| end <= 0.2 peak; Attn<s> >= 0.9"},
    {"C13", "ablation", "no BOS: non-trigger queries still sink, on the first token of one token type",
     "sink_type_share (first token of the sink type, non-trigger rows that see it) >= 0.5"},
    {"C14", "ablation", "induction and dormant-markov: an active/dormant head", ">= 1 head active on trigger, dormant else"},
    {"C15", "activations", "sink rate per attention activation", "softmax, sigmoid-norm >= 50%; sigmoid, relu <= 10%; ..."},
    {"C16", "context", "sink rate vs context length and depth", "Spearman correlation with context length > 0"},
    {"C17", "overmixing", "over-mixing: perturbation spread, Jacobian vs path-sum bound",
     "spread larger without the sink; bound holds on every pair"},
    {"C18", "sinkfree", "sink-free attentions remove the first-token sink, the drain and the peak, at no loss cost",
     "per variant: Attn<s> <= 0.2 (1L, 3L); |Val<s>|/mean >= 0.5; peak <= 1.5; loss <= 1.05x"},
};
const int claim_ncontract = (int)(sizeof claim_contract / sizeof claim_contract[0]);

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

int claims_lookup(const Tsv *t, const char *const *keys, const char *const *vals, int nkeys, const char *col,
                  double *value, BbError *err) {
    int kc[8], vc, rc;
    BB_CHECK(nkeys <= 8);
    for (int k = 0; k < nkeys; k++)
        if ((rc = tsv_require(t, keys[k], &kc[k], err))) return rc;
    if ((rc = tsv_require(t, col, &vc, err))) return rc;
    for (int i = 0; i < t->nrows; i++) {
        int match = 1;
        for (int k = 0; k < nkeys && match; k++) match = !strcmp(tsv_str(t, i, kc[k]), vals[k]);
        if (match) {
            *value = tsv_num(t, i, vc);
            return BB_OK;
        }
    }
    char what[256] = "";
    for (int k = 0; k < nkeys; k++) {
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "%s%s %s", k ? ", " : "", keys[k], vals[k]);
    }
    return bb_fail(err, BB_EINPUT, "%s: no row with %s (column %s)", t->path, what, col);
}

int claims_column(const char *out, const char *run, const char *rel, const char *col, double **values, int *n,
                  BbError *err) {
    Tsv t;
    int c, rc = claims_tsv(&t, out, run, rel, err);
    *values = NULL;
    *n = 0;
    if (!rc && !(rc = tsv_require(&t, col, &c, err))) {
        *values = bb_malloc(sizeof(double) * (size_t)(t.nrows ? t.nrows : 1));
        for (int i = 0; i < t.nrows; i++) (*values)[i] = tsv_num(&t, i, c);
        *n = t.nrows;
        if (!t.nrows) rc = bb_fail(err, BB_EINPUT, "%s: no rows", t.path);
    }
    tsv_free(&t);
    return rc;
}

int claims_theory(const char *out, ClaimList *l, BbError *err) {
    char path[BB_STRLEN];
    int rc = claims_path(path, sizeof path, out, NULL, "theory/theory.tsv", err);
    return rc ? rc : claims_read_tsv(l, path, err);
}

/* ------------------------------------------------------------ seeds */

int claims_decide_seeds(const ClaimSection *sec, const char *out, int nseeds, ClaimList *l, BbError *err) {
    BB_CHECK(nseeds >= 1);
    ClaimList *rep = bb_calloc((size_t)nseeds, sizeof *rep);
    int rc = BB_OK;
    for (int k = 0; k < nseeds && !rc; k++) {
        char root[BB_STRLEN];
        if (k == 0) snprintf(root, sizeof root, "%s", out);
        else if ((size_t)snprintf(root, sizeof root, "%s/seed%d", out, k + 1) >= sizeof root)
            rc = bb_fail(err, BB_EINPUT, "path too long under %s", out);
        if (!rc && (rc = sec->fn(root, &rep[k], err)) && k > 0)
            bb_fail(err, rc, "seed %d of %d (%s): %s", k + 1, nseeds, root, err->msg);
    }
    for (int k = 1; k < nseeds && !rc; k++) {
        int same = rep[k].n == rep[0].n;
        for (int i = 0; same && i < rep[0].n; i++)
            same = !strcmp(rep[k].c[i].id, rep[0].c[i].id) && !strcmp(rep[k].c[i].claim, rep[0].c[i].claim);
        if (!same)
            rc = bb_fail(err, BB_EINPUT, "seed %d of %d (%s/seed%d) gave other claim rows than seed 1 (%d rows vs %d)",
                         k + 1, nseeds, out, k + 1, rep[k].n, rep[0].n);
    }
    for (int i = 0; i < rep[0].n && !rc; i++) {
        BB_CHECK(l->n < CLAIMS_MAX);
        Claim *c = &l->c[l->n++];
        *c = rep[0].c[i];
        if (nseeds == 1) continue;
        /* the median of the finite values; a NaN (a seed that measured nothing) never passes */
        double v[100], finite[100];
        int nfinite = 0, npass = 0, nnot = 0;
        size_t len = 0;
        c->values[0] = '\0';
        for (int k = 0; k < nseeds; k++) {
            const Claim *r = &rep[k].c[i];
            v[k] = r->measured;
            if (isfinite(v[k])) finite[nfinite++] = v[k];
            npass += r->pass;
            nnot += r->not_run;
            int w = snprintf(c->values + len, sizeof c->values - len, "%s%.6g", k ? "," : "", v[k]);
            if (w > 0 && (size_t)w < sizeof c->values - len) len += (size_t)w;
        }
        c->seeds = nseeds;
        c->seeds_pass = npass;
        c->pass = npass == nseeds;
        c->not_run = nnot == nseeds;
        if (nfinite) {
            gsl_sort(finite, 1, (size_t)nfinite);
            c->measured = gsl_stats_median_from_sorted_data(finite, 1, (size_t)nfinite);
            c->lo = finite[0];
            c->hi = finite[nfinite - 1];
        } else c->measured = c->lo = c->hi = NAN;
        if (c->rate) { /* pooled over heads x seeds, decided by the interval (docs/figures.md#seeds, "Rates") */
            double k_sum = 0, n_sum = 0;
            c->seeds_pass = 0;
            for (int k = 0; k < nseeds; k++) {
                const Claim *r = &rep[k].c[i];
                if (!r->rate || r->rate_threshold != c->rate_threshold || r->rate_above != c->rate_above) {
                    rc = bb_fail(err, BB_EINPUT, "seed %d of %d: row '%s' is not the same rate row as seed 1's", k + 1,
                                 nseeds, c->claim);
                    break;
                }
                k_sum += r->rate_k;
                n_sum += r->rate_n;
                c->seeds_pass += rate_passes(c, r->measured);
            }
            c->rate_k = k_sum;
            c->rate_n = n_sum;
            c->measured = n_sum > 0 ? 100 * k_sum / n_sum : NAN;
            rate_decide(c);
        }
    }
    free(rep);
    return rc;
}

/* ------------------------------------------------------------ deciding a make repro */

/* The number of seeds of section `name` in the --sections list (NAME or NAME:SEEDS, or
 * "all"): 0 when it is not listed, 1 without a count. */
static int wanted(const char *list, const char *name) {
    if (!strcmp(list, "all")) return 1;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0' || p[n] == ':'))
            return p[n] == ':' ? atoi(p + n + 1) : 1;
    return 0;
}

int claims_sections_check(const char *sections, BbError *err) {
    if (!strcmp(sections, "all")) return BB_OK;
    /* an empty item (",", "a,,b", a trailing comma) is refused: it would leave sections
     * silently NOT RUN */
    char buf[BB_STRLEN];
    snprintf(buf, sizeof buf, "%s", sections);
    const size_t len = strlen(buf);
    if (!len || buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,"))
        return bb_fail(err, BB_EINPUT, "--sections '%s': an empty section name (give NAME[:SEEDS],... or all)",
                       sections);
    for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(s, ':');
        if (colon) { /* NAME:SEEDS, 1 to 99 seeds */
            char *end;
            long seeds = strtol(colon + 1, &end, 10);
            if (end == colon + 1 || *end || seeds < 1 || seeds > 99)
                return bb_fail(err, BB_EINPUT, "--sections: '%s': the number of seeds after ':' must be 1 to 99", s);
            *colon = '\0';
        }
        int found = 0;
        const char *names[64];
        for (int k = 0; k < claim_nsections && k < 64; k++) {
            found |= !strcmp(claim_sections[k].name, s);
            names[k] = claim_sections[k].name;
        }
        if (!found) {
            char near[256], hint[300] = "";
            if (bb_suggest(near, sizeof near, s, names, claim_nsections < 64 ? claim_nsections : 64, ""))
                snprintf(hint, sizeof hint, "did you mean %s? ", near);
            return bb_fail(err, BB_EINPUT, "--sections: unknown section '%s' (%sbbsim claims --help lists them)", s,
                           hint);
        }
    }
    return BB_OK;
}

int claims_decide(const char *dir, const char *sections, ClaimList *cl, BbError *err) {
    int rc;
    /* every claim of the contract gets rows, in contract order: a requested section's
     * measured ones, NOT RUN (with why) for the others */
    cl->n = 0;
    for (int k = 0; k < claim_nsections; k++) {
        const ClaimSection *sec = &claim_sections[k];
        const int nseeds = wanted(sections, sec->name);
        if (nseeds) {
            if ((rc = claims_decide_seeds(sec, dir, nseeds, cl, err)))
                return bb_fail(err, rc, "section %s: %s", sec->name, err->msg);
            for (int c = 0; c < claim_ncontract; c++) { /* a claim its inputs did not decide */
                if (strcmp(claim_contract[c].section, sec->name)) continue;
                int rows = 0;
                for (int i = 0; i < cl->n; i++) rows += !strcmp(cl->c[i].id, claim_contract[c].id);
                if (!rows)
                    claims_not_run(cl, claim_contract[c].id, claim_contract[c].claim, claim_contract[c].threshold,
                                   "its section ran but its inputs hold no row for it");
            }
            continue;
        }
        for (int c = 0; c < claim_ncontract; c++)
            if (!strcmp(claim_contract[c].section, sec->name))
                claims_not_run(cl, claim_contract[c].id, claim_contract[c].claim, claim_contract[c].threshold,
                               sec->not_run);
    }
    /* rows in claim order (C1 ... C18), each claim's rows in the order they came */
    for (int i = 1; i < cl->n; i++) {
        Claim c = cl->c[i];
        int j = i;
        while (j > 0 && atoi(cl->c[j - 1].id + 1) > atoi(c.id + 1)) {
            cl->c[j] = cl->c[j - 1];
            j--;
        }
        cl->c[j] = c;
    }
    return BB_OK;
}
