/* Claim C18 of docs/figures.md from the runs of paper_repro/sinkfree.mk: each sink-free
 * attention against softmax, on the one-layer model (OUT/runs/sf_1L_NAME against 1L) and
 * on the three-layer model (OUT/runs/sf_3L_NAME against 3L), each at the budget of its
 * softmax run: analysis/metrics.tsv (Attn<s>, |Val<s>| ratio, residual peak, slot share,
 * sink rate, loss) and, for the mechanism, the one-layer head's removal effects in
 * analysis/heads.tsv. The thresholds are docs/figures.md's (written before the runs). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "bbsim/claims.h"
#include "bbsim/tsv.h"

/* the variants, in the order of SF_ACTS in paper_repro/sinkfree.mk (the figures' order) */
static const char *const variants[] = {"softmax-sink", "softpick", "gated-head", "gated-elem"};
enum { NVAR = sizeof variants / sizeof variants[0] };
#define TAU_LOSS 0.01 /* nats: the head table's default tau_loss (docs/method.md#heads-active-and-dormant) */

/* What C18 reads of one model: 1 layer (read_1l: head l0h0) or 3 layers (read_3l). */
typedef struct {
    double attn_bos, val_ratio, attn_slot, sink_rate, loss; /* 1 layer (loss: both) */
    double later_attn, peak;                                /* 3 layers */
    int later_l, later_h;
} Measures;

static int read_1l(const char *out, const char *run, Measures *m, BbError *err) {
    const char *f = "analysis/metrics.tsv";
    int rc;
    if ((rc = claims_metric(out, run, f, 0, 0, "attn_bos", &m->attn_bos, err)) ||
        (rc = claims_metric(out, run, f, 0, 0, "val_ratio", &m->val_ratio, err)) ||
        (rc = claims_metric(out, run, f, 0, 0, "attn_slot", &m->attn_slot, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "sink_rate", &m->sink_rate, err)) ||
        (rc = claims_metric(out, run, f, -1, -1, "loss", &m->loss, err)))
        return rc;
    return BB_OK;
}

/* the largest Attn<s> of a head in layers >= 1, the residual peak after layer 0, the loss */
static int read_3l(const char *out, const char *run, Measures *m, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, run, "analysis/metrics.tsv", err), cl, ch, cm, cv;
    if (rc) return rc;
    if (!(rc = tsv_require(&t, "layer", &cl, err)) && !(rc = tsv_require(&t, "head", &ch, err)) &&
        !(rc = tsv_require(&t, "metric", &cm, err)) && !(rc = tsv_require(&t, "value", &cv, err))) {
        m->later_attn = -1;
        for (int i = 0; i < t.nrows; i++) {
            const double L = tsv_num(&t, i, cl), h = tsv_num(&t, i, ch), v = tsv_num(&t, i, cv);
            if (L >= 1 && h >= 0 && !strcmp(tsv_str(&t, i, cm), "attn_bos") && v > m->later_attn)
                m->later_attn = v, m->later_l = (int)L, m->later_h = (int)h;
        }
        if (m->later_attn < 0) rc = bb_fail(err, BB_EINPUT, "%s: no attn_bos of a head in layer 1 or later", t.path);
    }
    tsv_free(&t);
    const char *f = "analysis/metrics.tsv";
    if (!rc && !(rc = claims_metric(out, run, f, 0, -1, "resid_ratio", &m->peak, err)))
        rc = claims_metric(out, run, f, -1, -1, "loss", &m->loss, err);
    return rc;
}

/* layer 0 head 0's removal effect (delta_risk) on trigger and on non-trigger positions */
static int removal(const char *out, const char *run, double *trig, double *non, BbError *err) {
    Tsv t;
    int rc = claims_tsv(&t, out, run, "analysis/heads.tsv", err);
    if (rc) return rc;
    static const char *const keys[] = {"layer", "head", "domain"};
    const char *trig_row[] = {"0", "0", "trigger"}, *non_row[] = {"0", "0", "nontrigger"};
    if (!(rc = claims_lookup(&t, keys, trig_row, 3, "delta_risk", trig, err)))
        rc = claims_lookup(&t, keys, non_row, 3, "delta_risk", non, err);
    tsv_free(&t);
    return rc;
}

static int variant(const char *out, const char *name, const Measures *s1, const Measures *s3, ClaimList *l,
                   BbError *err) {
    char r1[64], r3[64], claim[112];
    snprintf(r1, sizeof r1, "sf_1L_%s", name);
    snprintf(r3, sizeof r3, "sf_3L_%s", name);
    Measures m1;
    Measures m3;
    double trig, non;
    int rc;
    if ((rc = read_1l(out, r1, &m1, err)) || (rc = read_3l(out, r3, &m3, err)) ||
        (rc = removal(out, r1, &trig, &non, err)))
        return rc;
    snprintf(claim, sizeof claim, "%s, 1 layer: first-token share Attn<s> (non-trigger rows)", name);
    claims_add(l, "C18", claim, "sink removed", m1.attn_bos, "<= 0.2", m1.attn_bos <= 0.2,
               "run %s; softmax (1L) %.4g; Sink_1^0.3 %.0f%% (softmax %.0f%%)", r1, s1->attn_bos, m1.sink_rate,
               s1->sink_rate);
    snprintf(claim, sizeof claim, "%s, 3 layers: largest later-layer Attn<s>", name);
    claims_add(l, "C18", claim, "sink removed", m3.later_attn, "<= 0.2", m3.later_attn <= 0.2,
               "run %s: l%dh%d; softmax (3L) %.4g (l%dh%d)", r3, m3.later_l, m3.later_h, s3->later_attn, s3->later_l,
               s3->later_h);
    snprintf(claim, sizeof claim, "%s, 1 layer: |Val<s>| / mean |Val|", name);
    claims_add(l, "C18", claim, "no drain", m1.val_ratio, ">= 0.5", m1.val_ratio >= 0.5, "run %s; softmax (1L) %.4g",
               r1, s1->val_ratio);
    snprintf(claim, sizeof claim, "%s, 3 layers: |Res<s>| / mean |Res| after layer 0", name);
    claims_add(l, "C18", claim, "no peak", m3.peak, "<= 1.5", m3.peak <= 1.5, "run %s; softmax (3L) %.4g", r3,
               s3->peak);
    const double x1 = m1.loss / s1->loss, x3 = m3.loss / s3->loss, worst = fmax(x1, x3);
    snprintf(claim, sizeof claim, "%s: final loss / softmax's (the larger of 1 and 3 layers)", name);
    claims_add(l, "C18", claim, "no cost", worst, "<= 1.05", worst <= 1.05,
               "1 layer %.4g (%.4g vs %.4g nats), 3 layers %.4g (%.4g vs %.4g)", x1, m1.loss, s1->loss, x3, m3.loss,
               s3->loss);
    if (!strcmp(name, "softmax-sink")) {
        snprintf(claim, sizeof claim, "%s, 1 layer: slot share on non-trigger rows", name);
        claims_add(l, "C18", claim, "mass moves to the slot", m1.attn_slot, ">= 0.5", m1.attn_slot >= 0.5, "run %s",
                   r1);
    }
    const int kept = trig > TAU_LOSS && fabs(non) < TAU_LOSS;
    snprintf(claim, sizeof claim, "%s, 1 layer: the head still active-dormant by removal (mechanism kept)", name);
    claims_add(l, "C18", claim, "kept = 1", kept, "= 1 (kept)", kept,
               "run %s: removal raises the trigger risk by %.4g, moves the non-trigger risk by %.4g (tau_loss %g)", r1,
               trig, non, TAU_LOSS);
    return BB_OK;
}

int claims_sinkfree(const char *out, ClaimList *l, BbError *err) {
    Measures s1;
    Measures s3;
    int rc;
    if ((rc = read_1l(out, "1L", &s1, err)) || (rc = read_3l(out, "3L", &s3, err))) return rc;
    for (int v = 0; v < NVAR; v++)
        if ((rc = variant(out, variants[v], &s1, &s3, l, err))) return rc;
    return BB_OK;
}
