/* Claim C15 of docs/figures.md (section activations) from the runs of paper_repro/related.mk:
 *   OUT/runs/rel_<attn>   2 layers x 4 heads, one run per --attn value, the same budget:
 *                         analysis/sink.tsv (Sink_1^0.3, chance) and analysis/metrics.tsv
 * The sink rate uses the share |a_ij| / sum_j' |a_ij'| for every activation (docs/method.md
 * "Attention share", the contract's proxy for relu and sigmoid); docs/related.md
 * says why and what the raw weights give. The four sink-rate rows are rates of heads
 * (claims_set_rate): k = sink_rate x heads / 100 of the run's heads sink, pooled over
 * heads x seeds and decided by the 95% interval (docs/figures.md#seeds, "Rates"). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "bbsim/claims.h"
#include "bbsim/kernels.h" /* AttnKind, attn_kind_names */
#include "bbsim/tsv.h"

#define SINK_HIGH 50.0 /* % of heads: "sinks" */
#define SINK_LOW 10.0  /* % of heads: "no sink" */
#define SLOT_EPS 0.3   /* a head "puts > 0.3 on the slot" */
#define LOSS_TOL 0.05  /* final losses within 5% of softmax */
#define MAX_LAYERS 16

/* The kinds C15 reads (run rel_<name>), in the order its loss list shows them (that of
 * paper_repro/related.mk's REL_ACTS). */
static const AttnKind act_order[] = {ATTN_SOFTMAX, ATTN_SIGMOID, ATTN_SIGMOID_NORM,
                                     ATTN_RELU, ATTN_SOFTMAX_KEYBIAS, ATTN_SOFTMAX1};
#define N_ACT ((int)(sizeof act_order / sizeof *act_order))

/* What C15 reads of one run. */
typedef struct ActRun {
    double sink_rate, chance; /* Sink_1^0.3 and 100 H_N / N (sink.tsv) */
    int sink_heads;           /* the heads the sink rate is over (sink.tsv column heads) */
    double loss;              /* eval-batch loss (metrics.tsv, layer -1) */
    double attn_bos_mean;     /* mean over heads of Attn<s> (non-trigger) */
    double mass[MAX_LAYERS];  /* per layer, mean over heads of the raw row mass sum_j a_ij (non-trigger) */
    int layers, layer_heads[MAX_LAYERS];
    int heads, slot_heads;    /* attention heads; heads whose mean share on the slot > SLOT_EPS */
    double slot_mean;         /* mean over heads of the share on the slot, all positions */
} ActRun;

/* Per head, the share on the slot over all positions: the non-trigger and trigger means
 * weighted by the trigger fraction of the evaluation batch (metrics attn_slot,
 * attn_slot_trigger, trigger_frac; analyze writes no all-position slot share). */
static int read_run(const char *out, AttnKind a, ActRun *r, BbError *err) {
    char run[64];
    snprintf(run, sizeof run, "rel_%s", attn_kind_names[a]);
    memset(r, 0, sizeof *r);
    Tsv t;
    int rc = claims_tsv(&t, out, run, "analysis/sink.tsv", err), cs, cc, cn, cl, ch, cm, cv;
    if (rc) return rc;
    if (!(rc = tsv_require(&t, "sink_rate", &cs, err)) && !(rc = tsv_require(&t, "chance", &cc, err)) &&
        !(rc = tsv_require(&t, "heads", &cn, err))) {
        const double heads = t.nrows < 1 ? NAN : tsv_num(&t, 0, cn);
        if (t.nrows < 1) rc = bb_fail(err, BB_EINPUT, "%s: no row", t.path);
        else if (!(heads >= 0 && heads <= 1e6 && heads == floor(heads)))
            rc = bb_fail(err, BB_EINPUT, "%s: heads '%s' is not a count of heads", t.path, tsv_str(&t, 0, cn));
        else r->sink_rate = tsv_num(&t, 0, cs), r->chance = tsv_num(&t, 0, cc), r->sink_heads = (int)heads;
    }
    tsv_free(&t);
    if (rc) return rc;
    if ((rc = claims_tsv(&t, out, run, "analysis/metrics.tsv", err))) return rc;
    double tf = 0;
    if ((rc = tsv_metric(&t, -1, -1, "loss", &r->loss, err)) ||
        (rc = tsv_metric(&t, -1, -1, "trigger_frac", &tf, err)) || (rc = tsv_require(&t, "layer", &cl, err)) ||
        (rc = tsv_require(&t, "head", &ch, err)) || (rc = tsv_require(&t, "metric", &cm, err)) ||
        (rc = tsv_require(&t, "value", &cv, err)))
        goto out;
    for (int i = 0; i < t.nrows; i++) {
        if (strcmp(tsv_str(&t, i, cm), "attn_slot") || tsv_num(&t, i, cl) < 0 || tsv_num(&t, i, ch) < 0) continue;
        const int layer = (int)tsv_num(&t, i, cl), head = (int)tsv_num(&t, i, ch);
        double slot_trig, bos, mass;
        if ((rc = tsv_metric(&t, layer, head, "attn_slot_trigger", &slot_trig, err)) ||
            (rc = tsv_metric(&t, layer, head, "attn_bos", &bos, err)) ||
            (rc = tsv_metric(&t, layer, head, "attn_mass", &mass, err)))
            goto out;
        /* a domain without positions gives NaN: it then carries no weight */
        const double slot_non = tsv_num(&t, i, cv);
        const double slot = isnan(slot_trig) ? slot_non : (1 - tf) * slot_non + tf * slot_trig;
        r->heads++;
        r->slot_heads += slot > SLOT_EPS;
        r->slot_mean += slot;
        r->attn_bos_mean += bos;
        if (layer < MAX_LAYERS) {
            r->mass[layer] += mass;
            r->layer_heads[layer]++;
            if (layer + 1 > r->layers) r->layers = layer + 1;
        }
    }
    if (!r->heads) {
        rc = bb_fail(err, BB_EINPUT, "%s: no per-head attn_slot rows", t.path);
        goto out;
    }
    r->slot_mean /= r->heads;
    r->attn_bos_mean /= r->heads;
    for (int k = 0; k < r->layers; k++) r->mass[k] = r->layer_heads[k] ? r->mass[k] / r->layer_heads[k] : NAN;
out:
    tsv_free(&t);
    return rc;
}

static void sink_row(ClaimList *l, const ActRun *r, AttnKind a, int high) {
    char claim[96], fit[128] = "";
    snprintf(claim, sizeof claim, "%s: sink rate Sink_1^0.3 (%%)", attn_kind_names[a]);
    if (!attn_kind_normalised(a)) { /* the share proxy renormalises rows whatever their mass */
        snprintf(fit, sizeof fit, "; raw row mass sum_j a_ij per layer");
        for (int k = 0; k < r->layers; k++) {
            size_t n = strlen(fit);
            snprintf(fit + n, sizeof fit - n, " %.3g", r->mass[k]);
        }
    }
    claims_add(l, "C15", claim, high ? "sinks" : "no sink", r->sink_rate, high ? ">= 50%" : "<= 10%",
               high ? r->sink_rate >= SINK_HIGH : r->sink_rate <= SINK_LOW,
               "chance %.3g%%; mean Attn<s> over heads %.3g; loss %.4g%s", r->chance, r->attn_bos_mean, r->loss, fit);
    /* k of n heads sink, each head counted with the fraction of sequences it sinks on */
    claims_set_rate(l, r->sink_rate * r->sink_heads / 100, r->sink_heads, high ? SINK_HIGH : SINK_LOW, high);
}

int claims_activations(const char *out, ClaimList *l, BbError *err) {
    ActRun r[ATTN_NKINDS]; /* by AttnKind */
    int rc;
    for (int i = 0; i < N_ACT; i++)
        if ((rc = read_run(out, act_order[i], &r[act_order[i]], err))) return rc;
    sink_row(l, &r[ATTN_SOFTMAX], ATTN_SOFTMAX, 1);
    sink_row(l, &r[ATTN_SIGMOID_NORM], ATTN_SIGMOID_NORM, 1);
    sink_row(l, &r[ATTN_SIGMOID], ATTN_SIGMOID, 0);
    sink_row(l, &r[ATTN_RELU], ATTN_RELU, 0);

    const ActRun *k = &r[ATTN_SOFTMAX_KEYBIAS];
    const double slot_pct = 100.0 * k->slot_heads / k->heads;
    claims_add(l, "C15", "softmax-keybias: % of heads with slot share > 0.3", "the slot takes the sink", slot_pct,
               ">= 50% and Sink_1 <= 10%", slot_pct >= SINK_HIGH && k->sink_rate <= SINK_LOW,
               "%d of %d heads; mean slot share %.3g; first-token Sink_1^0.3 %.3g%% (chance %.3g%%); "
               "softmax1: slot heads %d of %d, Sink_1 %.3g%%",
               k->slot_heads, k->heads, k->slot_mean, k->sink_rate, k->chance, r[ATTN_SOFTMAX1].slot_heads,
               r[ATTN_SOFTMAX1].heads, r[ATTN_SOFTMAX1].sink_rate);

    /* the largest relative loss gap to softmax */
    double worst = 0;
    AttnKind worst_a = ATTN_SOFTMAX;
    char losses[200] = "";
    for (int i = 0; i < N_ACT; i++) {
        const AttnKind a = act_order[i];
        const double gap = fabs(r[a].loss / r[ATTN_SOFTMAX].loss - 1);
        if (a != ATTN_SOFTMAX && (gap > worst || isnan(gap))) worst = gap, worst_a = a;
        size_t n = strlen(losses);
        snprintf(losses + n, sizeof losses - n, "%s%s %.4g", i ? ", " : "", attn_kind_names[a], r[a].loss);
    }
    claims_add(l, "C15", "final loss: largest gap to softmax (%)", "equal loss", 100 * worst, "<= 5%",
               worst <= LOSS_TOL, "worst %s; %s", attn_kind_names[worst_a], losses);
    return BB_OK;
}
