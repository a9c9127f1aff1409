/* Over-mixing (docs/method.md#over-mixing-sensitivity, claim C17): how far a change of one
 * input token spreads into a later position's residual states, with the attention sink
 * intact and with attention to the first token removed; and the exact Jacobian of the last
 * residual state against the attention path-sum bound  prod_l (K_l M_l) [prod_l (A_l + I)]_ij.
 * Softmax transformers only (the bound's constants are derived for softmax attention). */
#ifndef BBSIM_SENSITIVITY_H
#define BBSIM_SENSITIVITY_H

#include <stdio.h>
#include "bbsim/analysis.h"

typedef struct SensConfig {
    int seqs;         /* sequences of the fixed evaluation batch (its first ones) [8] */
    int pos;          /* query position i (-1 = the last, T-1) [-1] */
    int replacements; /* replacement tokens per source position, averaged [3] */
    int chunk;        /* perturbed sequences per forward call [8] */
} SensConfig;

void sensitivity_config_default(SensConfig *c);

/* model_forward without targets (no intervention, or with no_sink = 1 the intervention
 * no_key0 in every attention head: rows i >= 1 become a_ij = exp(s_ij) / sum_{k=1..i}
 * exp(s_ik) for j >= 1, a_i0 = 0; row 0, which sees only key 0, is unchanged). ws->att
 * holds the weights actually used. Softmax transformers only. */
void sensitivity_forward(const Model *m, Workspace *ws, const int *inputs, int B, int no_sink);

/* P = (A_{L-1} + I) ... (A_1 + I)(A_0 + I), every matrix (T,T) row-major; A (L,T,T).
 * P_ij sums, over every path i = k_L >= k_{L-1} >= ... >= k_0 = j that at each layer
 * either stays (weight 1) or attends (weight a_{k_{l+1} k_l}), the product of its weights.
 * CBLAS dgemm. */
void sensitivity_path_sum(double *P, const double *A, int L, int T);

/* Weight-only spectral norms (largest singular value, GSL SVD) behind the bound. */
typedef struct SensWeights {
    double wo_wv[BB_MAXL][BB_MAXH]; /* ||Wo_h Wv_h||_2 (C,C) per head; 0 without attention */
    double w1[BB_MAXL], w2[BB_MAXL]; /* ||W1||_2, ||W2||_2 (0 when absent) */
} SensWeights;
void sensitivity_weights(const Model *m, SensWeights *w);

/* The per-layer factors of the bound on one sequence, from the activations of its intact
 * sensitivity_forward (B = 1) over positions 0..i (docs/method.md has the derivation):
 *   attention block  ||d h^{l+1/2}_a / d h^l_b||_2 <= K_l (delta_ab + Abar^l_ab)
 *   MLP block        ||d h^{l+1}_a / d h^{l+1/2}_a||_2 <= M_l
 * so ||d h^L_i / d h^0_j||_2 <= factor * P_ij with factor = prod_l K_l M_l. */
typedef struct SensBound {
    double K[BB_MAXL], M[BB_MAXL];
    double factor;
} SensBound;
void sensitivity_bound(const Model *m, const Workspace *ws, const SensWeights *w, int i, SensBound *out);

/* Exact Jacobian norms of the last residual state at position i against the input
 * embeddings: norms[j] = ||d resid[L]_i / d resid[0]_j||_2 for j = 0..i, by reverse mode
 * (the model's backward kernels run from each of the C unit vectors at resid[L]_i; one
 * backward per output coordinate, model_backward_resid) on the activations of the last sensitivity_forward
 * (intact, B = 1, ws->T >= i+1). jac (i+1, C, C) receives the blocks when not NULL
 * (jac[j][c][d] = d resid[L]_{i,c} / d resid[0]_{j,d}). */
void sensitivity_jacobian(const Model *m, Workspace *ws, int i, double *norms, float *jac);

/* Everything `bbsim sensitivity` measures on the first seqs sequences of a batch. */
typedef struct SensResult {
    int L, T, i, seqs, R, first_src; /* T = the run's N; sources j = first_src..i-1 */
    double *spread;   /* (seqs, 2, L, i): mean over replacements of ||dh^{l+1}_i|| / ||h^{l+1}_i||
                         for source j (NaN for j < first_src); [.,0,..] intact, [.,1,..] no sink */
    double *jac;      /* (seqs, i): ||d h^L_i / d h^0_j||_2, j = 0..i-1 */
    double *path;     /* (seqs, i): P_ij */
    double *bound;    /* (seqs, i): factor * P_ij */
    SensBound *b;     /* (seqs) */
    /* summaries */
    double spread_layer[2][BB_MAXL]; /* mean of spread over sequences and sources, per layer */
    long pairs, held;                /* Jacobian pairs measured, pairs with jac <= bound */
    long corr_pairs;                 /* pairs with jac > 0 and P > 0 (the correlations) */
    double pearson, spearman;        /* of log jac vs log P */
    double ratio_max, ratio_median;  /* jac / bound */
} SensResult;

/* Validates the model (softmax transformer) and i (first_src < i < T); BB_EINPUT with a
 * message otherwise. Sequences are spread over `threads` threads; the numbers do not
 * depend on the thread count. */
int sensitivity_run(SensResult *r, const Model *m, const Task *t, const EvalBatch *eb, const SensConfig *sc,
                    int threads, BbError *err);
void sensitivity_free(SensResult *r);

/* spread.tsv, jacobian.tsv and summary.tsv in dir (atomic, "#" provenance header). */
int sensitivity_write(const char *dir, const Run *run, const SensConfig *sc, const SensResult *r, BbError *err);

#endif
