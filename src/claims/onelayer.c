/* Claims C1-C5 of docs/figures.md from the runs of paper_repro/onelayer.mk:
 *   OUT/runs/1L       one layer, softmax, AdamW: analysis/, intervene/ (sets no_mlp,
 *                     no_attn), dynamics/ (every checkpoint)
 *   OUT/runs/1L_relu  the same with ReLU attention: analysis/, dynamics/ */
#include <math.h>
#include <stdlib.h>
#include "bbsim/claims.h"
#include "bbsim/fit.h"
#include "bbsim/tsv.h"

#define RUN "1L"
#define RUN_RELU "1L_relu"

/* C1, C2: the last checkpoint's attention and values (analysis/metrics.tsv). */
static int c1_c2(const char *out, ClaimList *l, BbError *err) {
    double sink, prev, sink_trig, ratio, vbos, voth;
    int rc;
    const char *m = "analysis/metrics.tsv";
    if ((rc = claims_metric(out, RUN, m, 0, 0, "attn_bos", &sink, err)) ||
        (rc = claims_metric(out, RUN, m, 0, 0, "attn_prev", &prev, err)) ||
        (rc = claims_metric(out, RUN, m, 0, 0, "attn_bos_trigger", &sink_trig, err)) ||
        (rc = claims_metric(out, RUN, m, 0, 0, "val_ratio", &ratio, err)) ||
        (rc = claims_metric(out, RUN, m, 0, 0, "val_bos", &vbos, err)) ||
        (rc = claims_metric(out, RUN, m, 0, 0, "val_other", &voth, err)))
        return rc;
    claims_add(l, "C1", "1 layer: Attn<s> over non-trigger positions (dormant)", "-> 1", sink, ">= 0.9",
               sink >= 0.9, "run %s, layer 0 head 0; Attn<s> over trigger positions %.4g", RUN, sink_trig);
    claims_add(l, "C1", "1 layer: Attn_prev over trigger positions (active)", "-> 1", prev, ">= 0.9", prev >= 0.9,
               "run %s, layer 0 head 0: share of key i-1 at trigger queries", RUN);
    claims_add(l, "C2", "1 layer: value drain |Val<s>| / mean |Val|", "small", ratio, "<= 0.3", ratio <= 0.3,
               "|Val<s>| %.4g, mean |Val| of other tokens %.4g", vbos, voth);
    return BB_OK;
}

/* C3: interventions.tsv of the sets full, no_attn, no_mlp. */
static int c3(const char *out, ClaimList *l, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, RUN, "intervene/interventions.tsv", err);
    if (rc) return rc;
    static const char *const keys[] = {"intervention", "domain"};
    double na_dbigram, na_bc, nm_bigram, full_bc, full_bg, unif, oracle_bg;
    const char *const na_bg[] = {"no_attn", "nontrigger"}, *const na_t[] = {"no_attn", "trigger"},
                      *const nm_bg[] = {"no_mlp", "nontrigger"}, *const f_t[] = {"full", "trigger"},
                      *const f_bg[] = {"full", "nontrigger"};
    if ((rc = claims_lookup(&t, keys, na_bg, 2, "delta_risk", &na_dbigram, err)) ||
        (rc = claims_lookup(&t, keys, na_t, 2, "excess", &na_bc, err)) ||
        (rc = claims_lookup(&t, keys, nm_bg, 2, "excess", &nm_bigram, err)) ||
        (rc = claims_lookup(&t, keys, f_t, 2, "excess", &full_bc, err)) ||
        (rc = claims_lookup(&t, keys, f_bg, 2, "excess", &full_bg, err)) ||
        (rc = claims_lookup(&t, keys, f_bg, 2, "uniform_risk", &unif, err)) ||
        (rc = claims_lookup(&t, keys, f_bg, 2, "oracle_risk", &oracle_bg, err))) {
        tsv_free(&t);
        return rc;
    }
    tsv_free(&t);
    claims_add(l, "C3", "no attention: bigram risk change |dRisk|", "~ 0 (the head is dormant there)",
               fabs(na_dbigram), "<= 0.02 nats", fabs(na_dbigram) <= 0.02, "signed change %.4g nats", na_dbigram);
    claims_add(l, "C3", "no attention: backcopy excess", "large (the head does the copy)", na_bc, ">= 2 nats",
               na_bc >= 2, "random guess excess on bigram positions %.4g", unif - oracle_bg);
    claims_add(l, "C3", "no MLP: bigram excess", "large (the MLP holds the bigram)", nm_bigram, ">= 0.5 nats",
               nm_bigram >= 0.5, "random guess %.4g", unif - oracle_bg);
    const double worst = fmax(full_bc, full_bg);
    claims_add(l, "C3", "full model: larger of bigram and backcopy excess", "~ 0", worst, "<= 0.05 nats",
               worst <= 0.05, "bigram %.4g, backcopy %.4g", full_bg, full_bc);
    return BB_OK;
}

/* The first step at which v[i] crosses the threshold (below when `below`), or NaN. */
static double first_step(const double *step, const double *v, int n, double thr, int below) {
    for (int i = 0; i < n; i++)
        if (below ? v[i] < thr : v[i] > thr) return step[i];
    return NAN;
}

/* C4: dynamics.tsv over every checkpoint of the 1-layer run. */
static int c4(const char *out, ClaimList *l, BbError *err) {
    const char *d = "dynamics/dynamics.tsv";
    double *step = NULL, *bg = NULL, *attn = NULL, *dl = NULL, *val = NULL;
    int n, n2, rc;
    if ((rc = claims_column(out, RUN, d, "step", &step, &n, err)) ||
        (rc = claims_column(out, RUN, d, "bigram_excess", &bg, &n2, err)) ||
        (rc = claims_column(out, RUN, d, "l0h0_attn_bos", &attn, &n2, err)) ||
        (rc = claims_column(out, RUN, d, "l0h0_dlogit_mean", &dl, &n2, err)) ||
        (rc = claims_column(out, RUN, d, "l0h0_val_bos", &val, &n2, err)))
        goto out;
    const double t_bigram = first_step(step, bg, n, 0.1, 1), t_sink = first_step(step, attn, n, 0.5, 0);
    claims_add(l, "C4", "bigram learned before the sink: step bigram excess < 0.1", "before the sink", t_bigram,
               "< step Attn<s> > 0.5", t_bigram < t_sink,
               "first checkpoint with Attn<s> > 0.5 at step %.0f; %d checkpoints", t_sink, n);
    const double t_end = step[n - 1];
    LineFit f;
    fit_logt(step, dl, n, t_end / 10, t_end, &f);
    claims_add(l, "C4", "dlogit<s> linear in log t over the last decade (R2)", "grows like log t", f.r2,
               "R2 >= 0.8 and slope > 0", f.r2 >= 0.8 && f.slope > 0,
               "slope %.4g per log-step (se %.2g), %d checkpoints in [%.0f, %.0f]", f.slope, f.slope_se, f.n,
               t_end / 10, t_end);
    double peak = 0;
    long at = 0;
    for (int i = 0; i < n; i++)
        if (val[i] > peak) peak = val[i], at = (long)step[i];
    const double drain = peak > 0 ? val[n - 1] / peak : NAN;
    claims_add(l, "C4", "|Val<s>| at the end / its peak", "drains", drain, "<= 0.6", drain <= 0.6,
               "|Val<s>| end %.4g, peak %.4g at step %ld", val[n - 1], peak, at);
out:
    free(step);
    free(bg);
    free(attn);
    free(dl);
    free(val);
    return rc;
}

/* C5: the ReLU run's last checkpoint. */
static int c5(const char *out, ClaimList *l, BbError *err) {
    double share, mass, bc, sink_softmax;
    int rc;
    const char *m = "analysis/metrics.tsv";
    if ((rc = claims_metric(out, RUN_RELU, m, 0, 0, "attn_bos", &share, err)) ||
        (rc = claims_metric(out, RUN_RELU, m, 0, 0, "attn_mass", &mass, err)) ||
        (rc = claims_metric(out, RUN_RELU, m, -1, -1, "backcopy_excess", &bc, err)) ||
        (rc = claims_metric(out, RUN, m, 0, 0, "attn_bos", &sink_softmax, err)))
        return rc;
    claims_add(l, "C5", "ReLU attention: Attn<s> (share of mass on key 0)", "no sink", share, "<= 0.2",
               share <= 0.2, "run %s; mean raw row mass %.4g; softmax run's Attn<s> %.4g", RUN_RELU, mass,
               sink_softmax);
    claims_add(l, "C5", "ReLU attention: backcopy excess", "still learns the copy", bc, "<= 0.05 nats", bc <= 0.05,
               "run %s, last checkpoint", RUN_RELU);
    return BB_OK;
}

int claims_onelayer(const char *out, ClaimList *l, BbError *err) {
    int rc;
    if ((rc = c1_c2(out, l, err)) || (rc = c3(out, l, err)) || (rc = c4(out, l, err)) || (rc = c5(out, l, err)))
        return rc;
    return BB_OK;
}
