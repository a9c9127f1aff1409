/* The Bayes floor: the mean entropy of the oracle over the N positions of a sequence.
 * Exact for bb, markov, dormant-markov and bb-mix with --bos 0/1/2: the oracle at
 * position i depends only on the pair (z_{i-1}, z_i), whose law is propagated position
 * by position. Induction (the state would include every trigger's output) and packing
 * (the oracle scans back for a BOS) get a Monte-Carlo estimate with its standard error. */
#include "task_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>

/* Pair law Q[a*W + b] = P(z_{i-1} = a, z_i = b) over W = V_base + 1 values (BOS = V_base;
 * the "token before z_0" is BOS too). At position i the oracle entropy is
 *   BOS input: 0 if another BOS follows, else H(first law);
 *   non-trigger b (or markov): H(P(.|b));
 *   trigger b after ordinary a: bb 0, dormant-markov H(P(.|a)),
 *                               bb-mix H(p delta_a + (1-p) P(.|b)).
 * One step: Q'(b, c) = sum_a Q(a, b) T(c | a, b). */
static void floor_exact(const Task *t, BayesFloor *out) {
    const int n = t->vbase, W = n + 1, BOS = n, N = t->cfg.seq, nb = t->cfg.bos, kind = t->cfg.kind;
    const double mix = t->cfg.mix_p;
    const double *first = task_first_law(t);
    const double Hfirst = task_entropy(first, n);
    double *Hrow = bb_malloc((size_t)n * sizeof(double));
    for (int a = 0; a < n; a++) Hrow[a] = task_entropy(t->P + (size_t)a * n, n);
    /* bb-mix: Hmix[j*n + a] = H(p delta_a + (1-p) P(.|trig[j])) */
    double *Hmix = NULL;
    if (kind == TASK_BB_MIX) {
        Hmix = bb_malloc((size_t)t->ntrig * n * sizeof(double));
        double *law = bb_malloc((size_t)n * sizeof(double));
        for (int j = 0; j < t->ntrig; j++)
            for (int a = 0; a < n; a++) {
                for (int c = 0; c < n; c++) law[c] = (1 - mix) * t->P[(size_t)t->trig[j] * n + c];
                law[a] += mix;
                Hmix[(size_t)j * n + a] = task_entropy(law, n);
            }
        free(law);
    }
    int *tj = bb_malloc((size_t)n * sizeof(int)); /* trigger index of each token, -1 */
    for (int a = 0; a < n; a++) tj[a] = -1;
    for (int j = 0; j < t->ntrig; j++) tj[t->trig[j]] = j;
    const int rules = kind != TASK_MARKOV;

    double *Q = bb_calloc((size_t)W * W, sizeof(double));
    double *Qn = bb_calloc((size_t)W * W, sizeof(double));
    double *mb = bb_malloc((size_t)W * sizeof(double));
    double *A = NULL, *C = NULL; /* dormant-markov: (ntrig, n) operands of the product */
    if (kind == TASK_DORMANT_MARKOV) {
        A = bb_malloc((size_t)(t->ntrig ? t->ntrig : 1) * n * sizeof(double));
        C = bb_malloc((size_t)(t->ntrig ? t->ntrig : 1) * n * sizeof(double));
    }
    if (nb >= 1) Q[(size_t)BOS * W + BOS] = 1.0;
    else
        for (int c = 0; c < n; c++) Q[(size_t)BOS * W + c] = first[c];

    double E_all = 0, E_trig = 0, P_trig = 0;
    for (int i = 0; i < N; i++) {
        for (int b = 0; b < W; b++) mb[b] = 0;
        for (int a = 0; a < W; a++) {
            const double *qa = Q + (size_t)a * W;
            for (int b = 0; b < W; b++) mb[b] += qa[b];
        }
        /* expected oracle entropy at position i */
        E_all += mb[BOS] * (i < nb - 1 ? 0.0 : Hfirst);
        for (int b = 0; b < n; b++) {
            if (mb[b] == 0) continue;
            if (!rules || tj[b] < 0) {
                E_all += mb[b] * Hrow[b];
                continue;
            }
            const double qbos = Q[(size_t)BOS * W + b]; /* trigger as first token: bigram */
            double e = qbos * Hrow[b];
            if (kind == TASK_DORMANT_MARKOV)
                for (int a = 0; a < n; a++) e += Q[(size_t)a * W + b] * Hrow[a];
            else if (kind == TASK_BB_MIX)
                for (int a = 0; a < n; a++) e += Q[(size_t)a * W + b] * Hmix[(size_t)tj[b] * n + a];
            E_all += e;
            E_trig += e;
            P_trig += mb[b];
        }
        if (i == N - 1) break;
        /* propagate to position i+1 */
        memset(Qn, 0, (size_t)W * W * sizeof(double));
        if (mb[BOS] > 0) {
            if (i < nb - 1) Qn[(size_t)BOS * W + BOS] += mb[BOS];
            else
                for (int c = 0; c < n; c++) Qn[(size_t)BOS * W + c] += mb[BOS] * first[c];
        }
        for (int b = 0; b < n; b++) {
            if (mb[b] == 0) continue;
            const double *row = t->P + (size_t)b * n;
            double *qn = Qn + (size_t)b * W;
            if (!rules || tj[b] < 0) {
                for (int c = 0; c < n; c++) qn[c] += mb[b] * row[c];
                continue;
            }
            const double qbos = Q[(size_t)BOS * W + b];
            double bigram_mass = qbos; /* mass that moves by P(.|b) */
            switch (kind) {
            case TASK_BB:
                for (int a = 0; a < n; a++) qn[a] += Q[(size_t)a * W + b];
                break;
            case TASK_DORMANT_MARKOV: /* sum_a Q(a, b) P(.|a): one product for all triggers below */
                break;
            case TASK_BB_MIX:
                for (int a = 0; a < n; a++) qn[a] += mix * Q[(size_t)a * W + b];
                bigram_mass += (1 - mix) * (mb[b] - qbos);
                break;
            default: BB_CHECK(0);
            }
            for (int c = 0; c < n; c++) qn[c] += bigram_mass * row[c];
        }
        if (kind == TASK_DORMANT_MARKOV && t->ntrig > 0) {
            /* Qn(t_j, .) += sum_a Q(a, t_j) P(.|a), as A (ntrig, n) x P (n, n) */
            for (int j = 0; j < t->ntrig; j++)
                for (int a = 0; a < n; a++) A[(size_t)j * n + a] = Q[(size_t)a * W + t->trig[j]];
            gsl_matrix_view Av = gsl_matrix_view_array(A, (size_t)t->ntrig, (size_t)n);
            gsl_matrix_const_view Pv = gsl_matrix_const_view_array(t->P, (size_t)n, (size_t)n);
            gsl_matrix_view Cv = gsl_matrix_view_array(C, (size_t)t->ntrig, (size_t)n);
            gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Av.matrix, &Pv.matrix, 0.0, &Cv.matrix);
            for (int j = 0; j < t->ntrig; j++) {
                double *qn = Qn + (size_t)t->trig[j] * W;
                for (int c = 0; c < n; c++) qn[c] += C[(size_t)j * n + c];
            }
        }
        double *tmp = Q;
        Q = Qn;
        Qn = tmp;
    }
    out->exact = 1;
    out->mc_stderr = 0;
    out->mc_sequences = 0;
    out->floor = E_all / N;
    out->frac_trigger = P_trig / N;
    out->floor_trigger = P_trig > 0 ? E_trig / P_trig : 0.0;
    out->floor_nontrigger = N - P_trig > 0 ? (E_all - E_trig) / (N - P_trig) : 0.0;
    free(A);
    free(C);
    free(Q);
    free(Qn);
    free(mb);
    free(tj);
    free(Hmix);
    free(Hrow);
}

/* Monte-Carlo: mean oracle entropy over about 2^20 positions of sequences from their
 * own seed domain. Per-sequence sums are reduced in order (thread-count independent). */
static void floor_mc(const Task *t, BayesFloor *out) {
    const int N = t->cfg.seq, V = t->V;
    int M = (1 << 20) / N;
    if (M < 256) M = 256;
    double *all = bb_calloc((size_t)M, sizeof(double));
    double *trig = bb_calloc((size_t)M, sizeof(double));
    double *ntrig = bb_calloc((size_t)M, sizeof(double));
#pragma omp parallel
    {
        gsl_rng *r = bb_rng_alloc(0);
        int *z = bb_malloc((size_t)(N + 1) * sizeof(int));
        double *p = bb_malloc((size_t)V * sizeof(double));
#pragma omp for schedule(dynamic, 16)
        for (int m = 0; m < M; m++) {
            gsl_rng_set(r, (unsigned long)task_mc_seed(t, m));
            task_sample_sequence(t, r, z);
            for (int i = 0; i < N; i++) {
                double h = task_oracle(t, z, i, p);
                all[m] += h;
                if (task_is_trigger_pos(t, z, i)) {
                    trig[m] += h;
                    ntrig[m] += 1;
                }
            }
        }
        free(p);
        free(z);
        gsl_rng_free(r);
    }
    double s_all = 0, s_trig = 0, s_n = 0, s_sq = 0;
    for (int m = 0; m < M; m++) {
        s_all += all[m];
        s_trig += trig[m];
        s_n += ntrig[m];
        s_sq += (all[m] / N) * (all[m] / N);
    }
    const double mean = s_all / ((double)M * N);
    const double var = (s_sq / M - mean * mean) * M / (M - 1.0);
    const double positions = (double)M * N;
    out->exact = 0;
    out->mc_sequences = M;
    out->mc_stderr = sqrt(var > 0 ? var / M : 0);
    out->floor = mean;
    out->frac_trigger = s_n / positions;
    out->floor_trigger = s_n > 0 ? s_trig / s_n : 0.0;
    out->floor_nontrigger = positions - s_n > 0 ? (s_all - s_trig) / (positions - s_n) : 0.0;
    free(all);
    free(trig);
    free(ntrig);
}

int task_bayes_floor(const Task *t, BayesFloor *out, BbError *err) {
    (void)err;
    memset(out, 0, sizeof *out);
    if (t->cfg.packing || t->cfg.kind == TASK_INDUCTION) floor_mc(t, out);
    else floor_exact(t, out);
    return BB_OK;
}
