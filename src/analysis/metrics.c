/* The metrics of docs/method.md#metrics on plain arrays (see include/bbsim/metrics.h):
 * accumulators that callers fill per sequence and merge in a fixed order, then
 * "finish" into the numbers that go into the TSVs. Sums are in double. */
#include "bbsim/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

const char *const metrics_domain_names[] = {"all", "trigger", "nontrigger", "tokens", NULL};
const char *const head_label_names[] = {"dormant", "active", "mixed", "empty", NULL};

/* ------------------------------------------------------------------ domains */

void metrics_domains(const Task *t, const int *inputs, int B, int T, const unsigned char *token_set,
                     unsigned char *dom) {
    for (int b = 0; b < B; b++) {
        const int *x = inputs + (size_t)b * T;
        for (int i = 0; i < T; i++) {
            unsigned char bits = DOM_BIT(DOM_ALL);
            bits |= task_is_trigger_pos(t, x, i) ? DOM_BIT(DOM_TRIGGER) : DOM_BIT(DOM_NONTRIGGER);
            if (token_set && token_set[x[i]]) bits |= DOM_BIT(DOM_TOKENS);
            dom[(size_t)b * T + i] = bits;
        }
    }
}

/* -------------------------------------------------------------------- risks */

/* log sum_v exp(logits[v]), shifted by the max. */
static double log_sum_exp(const float *logits, int V) {
    double mx = logits[0];
    for (int v = 1; v < V; v++)
        if (logits[v] > mx) mx = logits[v];
    double s = 0;
    for (int v = 0; v < V; v++) s += exp((double)logits[v] - mx);
    return mx + log(s);
}

/* -sum_v p*_v log q_v with log q = logits - lse */
static double cross_entropy_lse(const double *pstar, const float *logits, int V, double lse) {
    double ce = 0;
    for (int v = 0; v < V; v++)
        if (pstar[v] > 0) ce += pstar[v] * (lse - (double)logits[v]);
    return ce;
}

double metrics_cross_entropy(const double *pstar, const float *logits, int V) {
    return cross_entropy_lse(pstar, logits, V, log_sum_exp(logits, V));
}

double metrics_target_loss(const float *logits, int V, int target) {
    return log_sum_exp(logits, V) - (double)logits[target];
}

void metrics_risk_add(RiskAcc *acc, unsigned char dom, double ce, double entropy, double loss) {
    for (int d = 0; d < DOM_N; d++) {
        if (!(dom & DOM_BIT(d))) continue;
        acc->ce[d] += ce;
        acc->entropy[d] += entropy;
        acc->loss[d] += loss;
        acc->n[d]++;
    }
}

void metrics_risk_accumulate(RiskAcc *acc, const Task *t, const int *inputs, const int *targets,
                             const float *logits, const unsigned char *dom, int B, int T, int V,
                             double *pscratch) {
    for (int b = 0; b < B; b++) {
        const int *x = inputs + (size_t)b * T;
        for (int i = 0; i < T; i++) {
            size_t r = (size_t)b * T + i;
            const float *l = logits + r * V;
            const double entropy = task_oracle(t, x, i, pscratch), lse = log_sum_exp(l, V);
            const double ce = cross_entropy_lse(pscratch, l, V, lse);
            const double loss = targets ? lse - (double)l[targets[r]] : 0.0; /* metrics_target_loss */
            metrics_risk_add(acc, dom[r], ce, entropy, loss);
        }
    }
}

void metrics_risk_merge(RiskAcc *into, const RiskAcc *from) {
    for (int d = 0; d < DOM_N; d++) {
        into->ce[d] += from->ce[d];
        into->entropy[d] += from->entropy[d];
        into->loss[d] += from->loss[d];
        into->n[d] += from->n[d];
    }
}

void metrics_risks(const RiskAcc *acc, Risks *out) {
    for (int d = 0; d < DOM_N; d++) {
        long n = acc->n[d];
        out->n[d] = n;
        out->risk[d] = n ? acc->ce[d] / n : NAN;
        out->oracle[d] = n ? acc->entropy[d] / n : NAN;
        out->excess[d] = n ? out->risk[d] - out->oracle[d] : NAN;
        out->loss[d] = n ? acc->loss[d] / n : NAN;
    }
}

/* ---------------------------------------------------------------- attention */

/* sum_{j<=i} |a_ij| + |slot|: the denominator of the share. */
static double row_abs_mass(const float *row, float slot, int i) {
    double s = fabs((double)slot);
    for (int j = 0; j <= i; j++) s += fabs((double)row[j]);
    return s;
}

double metrics_attn_share(const float *att_row, float slot, int i, int j) {
    double den = row_abs_mass(att_row, slot, i);
    return den > 0 ? fabs((double)att_row[j]) / den : 0.0;
}

double metrics_dlogit(const float *preatt_row, int i) {
    double others = 0;
    for (int j = 1; j <= i - 1; j++) others += preatt_row[j];
    return (double)preatt_row[0] - others / (i - 1);
}

double metrics_importance(const float *att, const float *slot, int T, int k) {
    double alpha = 0;
    for (int i = k; i < T; i++) alpha += metrics_attn_share(att + (size_t)i * T, slot ? slot[i] : 0.0f, i, k);
    return alpha / (T - k); // alpha_k = (1/(N-k)) sum_{i>=k} a_ik
}

double metrics_sink_chance(int N) {
    double h = 0;
    for (int n = N; n >= 1; n--) h += 1.0 / n; // H_N, small terms first
    return h / N;
}

void metrics_head_init(HeadAcc *a, int V, int T) {
    memset(a, 0, sizeof *a);
    a->dlogit_sum = bb_calloc((size_t)V, sizeof *a->dlogit_sum);
    a->dlogit_n = bb_calloc((size_t)V, sizeof *a->dlogit_n);
    a->T = T;
    a->key_share = bb_calloc((size_t)DOM_N * T, sizeof *a->key_share);
    a->V = V;
    a->type_share = bb_calloc((size_t)V, sizeof *a->type_share);
    a->type_rows = bb_calloc((size_t)V, sizeof *a->type_rows);
    a->type_argmax = bb_calloc((size_t)V, sizeof *a->type_argmax);
    a->first_pos = bb_calloc((size_t)T, sizeof *a->first_pos);
}

void metrics_head_free(HeadAcc *a) {
    free(a->dlogit_sum);
    free(a->dlogit_n);
    free(a->key_share);
    free(a->type_share);
    free(a->type_rows);
    free(a->type_argmax);
    free(a->first_pos);
    a->dlogit_sum = NULL;
    a->dlogit_n = NULL;
    a->key_share = NULL;
    a->type_share = NULL;
    a->type_rows = NULL;
    a->type_argmax = NULL;
    a->first_pos = NULL;
}

void metrics_head_clear(HeadAcc *a, int V) {
    double *s = a->dlogit_sum, *ks = a->key_share, *ts = a->type_share;
    long *n = a->dlogit_n, *tr = a->type_rows, *tm = a->type_argmax;
    int *fp = a->first_pos;
    int T = a->T;
    BB_CHECK(V == a->V);
    memset(a, 0, sizeof *a);
    memset(s, 0, (size_t)V * sizeof *s);
    memset(n, 0, (size_t)V * sizeof *n);
    memset(ks, 0, (size_t)DOM_N * T * sizeof *ks);
    memset(ts, 0, (size_t)V * sizeof *ts);
    memset(tr, 0, (size_t)V * sizeof *tr);
    memset(tm, 0, (size_t)V * sizeof *tm);
    a->dlogit_sum = s;
    a->dlogit_n = n;
    a->key_share = ks;
    a->type_share = ts;
    a->type_rows = tr;
    a->type_argmax = tm;
    a->first_pos = fp;
    a->T = T;
    a->V = V;
}

void metrics_head_merge(HeadAcc *into, const HeadAcc *from, int V) {
    for (int d = 0; d < DOM_N; d++) {
        into->bos[d] += from->bos[d];
        into->mass[d] += from->mass[d];
        into->slot[d] += from->slot[d];
        into->n[d] += from->n[d];
    }
    into->prev += from->prev;
    into->nprev += from->nprev;
    into->importance += from->importance;
    into->nseq += from->nseq;
    into->sink_hits += from->sink_hits;
    BB_CHECK(into->V == V && from->V == V);
    for (int v = 0; v < V; v++) {
        into->dlogit_sum[v] += from->dlogit_sum[v];
        into->dlogit_n[v] += from->dlogit_n[v];
        into->type_share[v] += from->type_share[v];
        into->type_rows[v] += from->type_rows[v];
        into->type_argmax[v] += from->type_argmax[v];
    }
    into->val_bos += from->val_bos;
    into->val_other += from->val_other;
    into->nval_bos += from->nval_bos;
    into->nval_other += from->nval_other;
    BB_CHECK(into->T == from->T);
    for (int k = 0; k < DOM_N * into->T; k++) into->key_share[k] += from->key_share[k];
}

void metrics_head_attention(HeadAcc *a, const float *att, const float *slot, const float *preatt,
                            const int *inputs, const unsigned char *dom, int T, int sink_key,
                            double eps) {
    BB_CHECK(T == a->T);
    double alpha = 0;
    int ntypes = 0; /* first_pos[0..ntypes): the first position of each type seen so far */
    for (int i = 0; i < T; i++) {
        const float *row = att + (size_t)i * T;
        float s = slot ? slot[i] : 0.0f;
        double den = row_abs_mass(row, s, i), mass = 0;
        for (int j = 0; j <= i; j++) mass += row[j];
        double inv = den > 0 ? 1.0 / den : 0.0; // a row without mass has share 0 everywhere
        double share0 = fabs((double)row[0]) * inv, share_slot = fabs((double)s) * inv;
        for (int d = 0; d < DOM_N; d++) {
            if (!(dom[i] & DOM_BIT(d))) continue;
            a->bos[d] += share0;
            a->mass[d] += mass;
            a->slot[d] += share_slot;
            a->n[d]++;
            double *ks = a->key_share + (size_t)d * T;
            for (int j = 0; j <= i; j++) ks[j] += fabs((double)row[j]) * inv;
        }
        if (i >= 1 && (dom[i] & DOM_BIT(DOM_TRIGGER))) {
            a->prev += fabs((double)row[i - 1]) * inv;
            a->nprev++;
        }
        if (preatt && i >= 2) {
            a->dlogit_sum[inputs[i]] += metrics_dlogit(preatt + (size_t)i * T, i);
            a->dlogit_n[inputs[i]]++;
        }
        if (i >= sink_key) alpha += fabs((double)row[sink_key]) * inv;
        if (inputs) {
            int seen = 0;
            for (int k = 0; k < ntypes && !seen; k++) seen = inputs[a->first_pos[k]] == inputs[i];
            if (!seen) a->first_pos[ntypes++] = i;
            if (dom[i] & DOM_BIT(DOM_NONTRIGGER)) {
                /* the sink on a token type: this row's share on the first token of every
                 * type it can see, and the type of its largest-share key */
                for (int k = 0; k < ntypes; k++) {
                    const int f = a->first_pos[k];
                    a->type_share[inputs[f]] += fabs((double)row[f]) * inv;
                    a->type_rows[inputs[f]]++;
                }
                if (den > 0) {
                    int top = 0;
                    for (int j = 1; j <= i; j++)
                        if (fabs((double)row[j]) > fabs((double)row[top])) top = j;
                    a->type_argmax[inputs[top]]++;
                }
            }
        }
    }
    if (sink_key < T) {
        alpha /= (T - sink_key);
        a->importance += alpha;
        a->nseq++;
        if (alpha > eps) a->sink_hits++;
    }
}

/* ------------------------------------------------------------------- values */

double metrics_norm(const float *x, int n) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    return sqrt(ss);
}

double metrics_norm_centered(const float *x, int n) {
    double mean = 0, ss = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) ss += ((double)x[i] - mean) * ((double)x[i] - mean);
    return sqrt(ss);
}

double metrics_value_norm(const float *wo, int C, int hs, int h, const float *v) {
    double ss = 0;
    for (int c = 0; c < C; c++) {
        const float *w = wo + (size_t)c * C + (size_t)h * hs;
        double o = 0;
        for (int k = 0; k < hs; k++) o += (double)w[k] * v[k]; // (Wo_h v)_c
        ss += o * o;
    }
    return sqrt(ss);
}

void metrics_value_add(HeadAcc *a, int j, double norm) {
    if (j == 0) {
        a->val_bos += norm;
        a->nval_bos++;
    } else {
        a->val_other += norm;
        a->nval_other++;
    }
}

void metrics_head_values(HeadAcc *a, const float *wo, const float *qkv, int T, int C, int H, int h,
                         double *norms) {
    int hs = C / H;
    for (int j = 0; j < T; j++) {
        double nrm = metrics_value_norm(wo, C, hs, h, qkv + (size_t)j * 3 * C + 2 * (size_t)C + (size_t)h * hs);
        if (norms) norms[j] = nrm;
        if (a) metrics_value_add(a, j, nrm);
    }
}

void metrics_head_values_gemm(HeadAcc *a, const float *wo, const float *qkv, int B, int T, int C, int H,
                              int h, float *scratch, double *norms) {
    int hs = C / H, n = B * T;
    // scratch (n,C) = V_h (n,hs; row stride 3C) x Wo_h^T, Wo_h = Wo[:, h*hs : h*hs+hs]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, C, hs, 1.0f, qkv + 2 * (size_t)C + (size_t)h * hs,
                3 * C, wo + (size_t)h * hs, C, 0.0f, scratch, C);
    for (int r = 0; r < n; r++) {
        const double nrm = metrics_norm(scratch + (size_t)r * C, C);
        if (norms) norms[r] = nrm;
        if (a) metrics_value_add(a, r % T, nrm);
    }
}

/* ----------------------------------------------------------------- residual */

void metrics_resid(ResidAcc *a, const float *resid, int T, int C, double *norms) {
    for (int i = 0; i < T; i++) {
        const float *x = resid + (size_t)i * C;
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
        double nrm = sqrt(ss);
        if (norms) norms[i] = nrm;
        if (!a) continue;
        if (i == 0) {
            a->bos += nrm;
            a->nbos++;
        } else {
            a->other += nrm;
            a->nother++;
        }
    }
}

void metrics_resid_merge(ResidAcc *into, const ResidAcc *from) {
    into->bos += from->bos;
    into->other += from->other;
    into->nbos += from->nbos;
    into->nother += from->nother;
}

/* ------------------------------------------------------------------- finish */

void metrics_head_finish(const HeadAcc *a, const unsigned char *is_trigger, int V, HeadMetrics *out,
                         double *dlogit_type, double *key_profile) {
    memset(out, 0, sizeof *out);
    for (int d = 0; d < DOM_N; d++) {
        long n = a->n[d];
        out->n[d] = n;
        out->attn_bos[d] = n ? a->bos[d] / n : NAN;
        out->attn_mass[d] = n ? a->mass[d] / n : NAN;
        out->attn_slot[d] = n ? a->slot[d] / n : NAN;
    }
    out->attn_prev = a->nprev ? a->prev / a->nprev : NAN;

    /* dlogit<s>: mean per token type, then mean and 10%/90% quantiles over the
     * non-trigger types that occur at positions i >= 2. */
    double *means = bb_malloc((size_t)V * sizeof *means);
    int ntypes = 0;
    for (int v = 0; v < V; v++) {
        double m = a->dlogit_n[v] ? a->dlogit_sum[v] / a->dlogit_n[v] : NAN;
        if (dlogit_type) dlogit_type[v] = m;
        if (a->dlogit_n[v] && !is_trigger[v]) means[ntypes++] = m;
    }
    out->dlogit_ntypes = ntypes;
    if (ntypes) {
        out->dlogit_mean = gsl_stats_mean(means, 1, (size_t)ntypes);
        gsl_sort(means, 1, (size_t)ntypes);
        out->dlogit_p10 = gsl_stats_quantile_from_sorted_data(means, 1, (size_t)ntypes, 0.1);
        out->dlogit_p90 = gsl_stats_quantile_from_sorted_data(means, 1, (size_t)ntypes, 0.9);
    } else {
        out->dlogit_mean = out->dlogit_p10 = out->dlogit_p90 = NAN;
    }
    free(means);

    out->val_bos = a->nval_bos ? a->val_bos / a->nval_bos : NAN;
    out->val_other = a->nval_other ? a->val_other / a->nval_other : NAN;
    out->val_ratio = out->val_bos / out->val_other;
    out->importance = a->nseq ? a->importance / a->nseq : NAN;
    out->sink_frac = a->nseq ? (double)a->sink_hits / a->nseq : NAN;

    /* key profile: mean share on each key position over each domain's rows */
    out->top_key = -1;
    out->top_key_share = NAN;
    for (int d = 0; d < DOM_N; d++)
        for (int j = 0; j < a->T; j++) {
            double m = a->n[d] ? a->key_share[(size_t)d * a->T + j] / a->n[d] : NAN;
            if (key_profile) key_profile[(size_t)d * a->T + j] = m;
            if (d == DOM_NONTRIGGER && a->n[d] && (out->top_key < 0 || m > out->top_key_share)) {
                out->top_key = j;
                out->top_key_share = m;
            }
        }

    /* the sink on a token type: the candidate type with the largest mean share on its
     * first token (ties: the lower id) */
    out->sink_type = -1;
    out->sink_type_share = out->sink_type_argmax = NAN;
    const double min_rows = METRICS_SINK_TYPE_MIN_ROWS * (double)a->n[DOM_NONTRIGGER];
    for (int v = 0; v < a->V; v++) {
        const long n = a->type_rows[v];
        if (!n || (double)n < min_rows) continue;
        const double m = a->type_share[v] / n;
        if (out->sink_type < 0 || m > out->sink_type_share) {
            out->sink_type = v;
            out->sink_type_share = m;
            out->sink_type_rows = n;
            out->sink_type_argmax = (double)a->type_argmax[v] / n;
        }
    }
}

void metrics_head_types(const HeadAcc *a, double *share, double *argmax, long *rows) {
    for (int v = 0; v < a->V; v++) {
        const long n = a->type_rows[v];
        if (share) share[v] = n ? a->type_share[v] / n : NAN;
        if (argmax) argmax[v] = n ? (double)a->type_argmax[v] / n : NAN;
        if (rows) rows[v] = n;
    }
}

void metrics_resid_finish(const ResidAcc *a, ResidMetrics *out) {
    out->bos = a->nbos ? a->bos / a->nbos : NAN;
    out->other = a->nother ? a->other / a->nother : NAN;
    out->gap = out->bos - out->other;
    out->ratio = out->bos / out->other;
}

double metrics_sink_rate(const HeadAcc *heads, int nheads) {
    long hits = 0, pairs = 0;
    for (int k = 0; k < nheads; k++) {
        hits += heads[k].sink_hits;
        pairs += heads[k].nseq;
    }
    return pairs ? 100.0 * (double)hits / (double)pairs : NAN;
}

/* ----------------------------------------------------------- classification */

HeadLabel metrics_classify(double attn_bos, double delta_risk, double tau_sink, double tau_loss) {
    if (isnan(attn_bos) || isnan(delta_risk)) return HEAD_EMPTY;
    if (attn_bos > tau_sink && fabs(delta_risk) < tau_loss) return HEAD_DORMANT;
    if (attn_bos < METRICS_ACTIVE_MAX_BOS && delta_risk > tau_loss) return HEAD_ACTIVE;
    return HEAD_MIXED;
}
