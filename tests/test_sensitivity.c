/* Tests of the over-mixing analysis (sensitivity.h): the path sum against an enumeration of
 * attention paths, the forward pass against model_forward and without the sink, the
 * reverse-mode Jacobian against an analytic one-layer case and against finite differences,
 * the bound, the claim section and the command line. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>
#include "bbsim/claims.h"
#include "bbsim/sensitivity.h"

enum { TV = 9, TBOS = 8 }; /* tiny vocabulary: tokens 0..7 and BOS */

static ModelConfig tiny_config(int L, int H, int C, int T) {
    ModelConfig c;
    model_config_default(&c);
    c.L = L;
    c.H = H;
    c.C = C;
    c.V = TV;
    c.maxT = T;
    c.bos_id = TBOS;
    return c;
}

static void build_ok(Model *m, const ModelConfig *c) {
    BbError err;
    int rc = model_build(m, c, &err);
    if (rc) fail_msg("model_build: %s", err.msg);
}

/* P_ij by walking every path from i at the top down to j at the bottom: at each layer stay
 * (weight 1) or attend to any visible key (weight a). */
static double paths_from(const double *A, int T, int l, int cur, int j) {
    if (l < 0) return cur == j ? 1.0 : 0.0;
    const double *Al = A + (size_t)l * T * T;
    double s = paths_from(A, T, l - 1, cur, j); /* the residual: stay */
    for (int k = 0; k <= cur; k++)
        if (Al[cur * T + k] != 0.0) s += Al[cur * T + k] * paths_from(A, T, l - 1, k, j);
    return s;
}

static void test_path_sum_is_the_sum_over_attention_paths(void **state) {
    (void)state;
    enum { L = 3, T = 5 };
    double A[L * T * T] = {0}, P[T * T], E[T * T];
    gsl_rng *r = bb_rng_alloc(7);
    for (int l = 0; l < L; l++)
        for (int i = 0; i < T; i++) { /* random row-stochastic causal rows */
            double s = 0;
            for (int k = 0; k <= i; k++) s += A[(l * T + i) * T + k] = 0.05 + gsl_rng_uniform(r);
            for (int k = 0; k <= i; k++) A[(l * T + i) * T + k] /= s;
        }
    gsl_rng_free(r);
    sensitivity_path_sum(P, A, L, T);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) E[i * T + j] = paths_from(A, T, L - 1, i, j);
    assert_allclose(P, E, T * T, 1e-12, 1e-12);
    /* causal: nothing flows from later positions; rows of (A+I) sum to 2, so P's to 2^L */
    for (int i = 0; i < T; i++) {
        double s = 0;
        for (int j = 0; j < T; j++) {
            if (j > i) assert_true(P[i * T + j] == 0.0);
            s += P[i * T + j];
        }
        assert_close(s, 8.0, 1e-12, 0);
    }
}

static void test_forward_equals_model_forward_and_removes_the_sink(void **state) {
    (void)state;
    enum { T = 6, B = 2 };
    ModelConfig c = tiny_config(2, 2, 8, T);
    Model m;
    build_ok(&m, &c);
    int in[B * T] = {TBOS, 3, 1, 4, 1, 5, TBOS, 2, 6, 5, 3, 5};
    Workspace *a = workspace_alloc(&m, B, T), *b = workspace_alloc(&m, B, T);
    model_forward(&m, a, in, NULL, B, NULL);
    sensitivity_forward(&m, b, in, B, 0);
    for (int l = 0; l <= c.L; l++)
        assert_memory_equal(a->resid[l], b->resid[l], (size_t)B * T * c.C * sizeof(float));
    sensitivity_forward(&m, b, in, B, 1);
    double worst = 0;
    for (int l = 0; l < c.L; l++)
        for (int bh = 0; bh < B * c.H; bh++)
            for (int i = 0; i < T; i++) {
                const float *row = b->att[l] + ((size_t)bh * T + i) * T;
                double s = 0;
                for (int j = 0; j <= i; j++) s += row[j];
                worst = fmax(worst, fabs(s - 1.0));
                if (i > 0) assert_true(row[0] == 0.0f);
                else assert_true(row[0] == 1.0f);
            }
    assert_true(worst < 1e-6);
    /* the residual states move once the sink is gone */
    double diff = 0;
    for (size_t k = 0; k < (size_t)B * T * c.C; k++) diff += fabs(a->resid[c.L][k] - b->resid[c.L][k]);
    assert_true(diff > 1e-3);
    workspace_free(a);
    workspace_free(b);
    model_free(&m);
}

static double svd_max(const double *a, int n) {
    gsl_matrix *A = gsl_matrix_alloc((size_t)n, (size_t)n), *V = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector *S = gsl_vector_alloc((size_t)n), *w = gsl_vector_alloc((size_t)n);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) gsl_matrix_set(A, (size_t)r, (size_t)c, a[r * n + c]);
    gsl_linalg_SV_decomp(A, V, S, w);
    double s = gsl_vector_get(S, 0);
    gsl_matrix_free(A);
    gsl_matrix_free(V);
    gsl_vector_free(S);
    gsl_vector_free(w);
    return s;
}

/* One layer, one head, no MLP, Wq = Wk = 0: the attention is the hand-set uniform causal
 * a_ij = 1/(i+1), and for j < i  d h^1_i / d h^0_j = a_ij Wo Wv J_LN(h^0_j) exactly, with
 * J_LN(x) = diag(gamma) r (I - 11^T/C - xhat xhat^T/C), xhat = (x - mean) r. */
static void test_jacobian_of_one_layer_with_hand_set_attention(void **state) {
    (void)state;
    enum { T = 5, C = 6 };
    ModelConfig c = tiny_config(1, 1, C, T);
    c.no_mlp.n = 1;
    c.no_mlp.v[0] = 0;
    Model m;
    build_ok(&m, &c);
    memset(m.p.wqkv[0], 0, 2 * C * C * sizeof(float)); /* q and k rows */
    for (int e = 0; e < C; e++) m.p.ln1_w[0][e] = 0.5f + 0.25f * e; /* a non-trivial gamma */
    const int in[T] = {TBOS, 2, 7, 0, 5}, i = T - 1;
    Workspace *ws = workspace_alloc(&m, 1, T);
    sensitivity_forward(&m, ws, in, 1, 0);
    for (int j = 0; j <= i; j++) assert_close(ws->att[0][i * T + j], 1.0 / T, 1e-7, 0);
    double norms[T];
    float jac[T * C * C];
    sensitivity_jacobian(&m, ws, i, norms, jac);

    double WoWv[C * C], Jl[C * C], E[C * C], got[C * C];
    for (int a = 0; a < C; a++)
        for (int b = 0; b < C; b++) {
            double s = 0;
            for (int d = 0; d < C; d++) s += (double)m.p.wo[0][a * C + d] * m.p.wqkv[0][(2 * C + d) * C + b];
            WoWv[a * C + b] = s;
        }
    const double lam_gamma = 0.5 + 0.25 * (C - 1);
    for (int j = 0; j < i; j++) {
        const float *x = ws->resid[0] + j * C;
        double mu = 0, var = 0, xh[C];
        for (int e = 0; e < C; e++) mu += x[e] / (double)C;
        for (int e = 0; e < C; e++) var += (x[e] - mu) * (x[e] - mu) / C;
        const double r = 1.0 / sqrt(var + BB_LN_EPS);
        for (int e = 0; e < C; e++) xh[e] = (x[e] - mu) * r;
        for (int a = 0; a < C; a++)
            for (int b = 0; b < C; b++)
                Jl[a * C + b] = m.p.ln1_w[0][a] * r * ((a == b) - 1.0 / C - xh[a] * xh[b] / C);
        for (int a = 0; a < C; a++)
            for (int b = 0; b < C; b++) {
                double s = 0;
                for (int d = 0; d < C; d++) s += WoWv[a * C + d] * Jl[d * C + b];
                E[a * C + b] = s / T;
                got[a * C + b] = jac[(j * C + a) * C + b];
            }
        assert_allclose(got, E, C * C, 1e-5, 1e-4);
        assert_close(norms[j], svd_max(E, C), 1e-6, 1e-4);
    }
    /* the bound: K = max(1, lambda1 ||Wo Wv||) (no score terms when q = k = 0), M = 1,
     * P_ij = a_ij for j < i (one layer) */
    SensWeights w;
    sensitivity_weights(&m, &w);
    assert_close(w.wo_wv[0][0], svd_max(WoWv, C), 1e-9, 1e-9);
    double rmax = 0;
    for (int a = 0; a <= i; a++) rmax = fmax(rmax, ws->ln1_rstd[0][a]);
    SensBound bd;
    sensitivity_bound(&m, ws, &w, i, &bd);
    assert_close(bd.K[0], fmax(1.0, lam_gamma * rmax * w.wo_wv[0][0]), 1e-9, 1e-9);
    assert_close(bd.M[0], 1.0, 0, 0);
    for (int j = 0; j < i; j++) assert_true(norms[j] <= bd.factor / T);
    workspace_free(ws);
    model_free(&m);
}

/* The reverse-mode Jacobian of a random 2-layer, 2-head model with MLPs against central
 * differences of the forward pass (the sequence's tokens are distinct, so moving one
 * embedding row wte[x_j] moves the input at position j only); the bound holds. */
static void test_jacobian_matches_finite_differences(void **state) {
    (void)state;
    enum { T = 6, C = 8, L = 2 };
    ModelConfig c = tiny_config(L, 2, C, T);
    Model m;
    build_ok(&m, &c);
    const int in[T] = {TBOS, 3, 1, 4, 6, 5}, i = T - 1;
    Workspace *ws = workspace_alloc(&m, 1, T);
    sensitivity_forward(&m, ws, in, 1, 0);
    double norms[T];
    float jac[T * C * C];
    sensitivity_jacobian(&m, ws, i, norms, jac);
    SensWeights w;
    sensitivity_weights(&m, &w);
    SensBound bd;
    sensitivity_bound(&m, ws, &w, i, &bd);
    double A[L * T * T] = {0}, P[T * T];
    for (int l = 0; l < L; l++)
        for (int h = 0; h < c.H; h++)
            for (int k = 0; k < T * T; k++) A[l * T * T + k] += ws->att[l][h * T * T + k] / c.H;
    sensitivity_path_sum(P, A, L, T);

    const float eps = 1e-2f;
    double fd[C * C], got[C * C];
    for (int j = 0; j < i; j++) {
        float *row = m.p.wte + (size_t)in[j] * C;
        for (int d = 0; d < C; d++) {
            const float keep = row[d];
            double hp[C], hm[C];
            row[d] = keep + eps;
            sensitivity_forward(&m, ws, in, 1, 0);
            for (int a = 0; a < C; a++) hp[a] = ws->resid[L][i * C + a];
            row[d] = keep - eps;
            sensitivity_forward(&m, ws, in, 1, 0);
            for (int a = 0; a < C; a++) hm[a] = ws->resid[L][i * C + a];
            row[d] = keep;
            for (int a = 0; a < C; a++) fd[a * C + d] = (hp[a] - hm[a]) / (2.0 * eps);
        }
        for (int k = 0; k < C * C; k++) got[k] = jac[j * C * C + k];
        assert_allclose(got, fd, C * C, 2e-4, 2e-3);
        assert_true(norms[j] > 0);
        assert_true(norms[j] <= bd.factor * P[i * T + j]);
    }
    workspace_free(ws);
    model_free(&m);
}

static void write_summary(const char *out, const char *run, double intact, double nosink, int held, int pairs) {
    char p[512];
    snprintf(p, sizeof p, "%s/runs/%s/sensitivity", out, run);
    BbError err;
    assert_int_equal(bb_mkdirs(p, &err), 0);
    snprintf(p, sizeof p, "%s/runs/%s/sensitivity/summary.tsv", out, run);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "# bbsim\nlayer\thead\tmetric\tvalue\n-1\t-1\tseqs\t4\n-1\t-1\tquery_pos\t15\n"
               "-1\t-1\tspread_intact\t%g\n-1\t-1\tspread_nosink\t%g\n-1\t-1\tpairs\t%d\n-1\t-1\tbound_held\t%d\n"
               "-1\t-1\tbound_ratio_max\t0.01\n-1\t-1\tpearson_log\t0.8\n-1\t-1\tspearman_log\t0.7\n",
            intact, nosink, pairs, held);
    fclose(f);
}

static void test_claim_section_refuses_missing_input_and_decides(void **state) {
    (void)state;
    char *d = make_tempdir();
    ClaimList l = {0};
    BbError err = {{0}};
    assert_int_not_equal(claims_overmixing(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "runs/3L/sensitivity/summary.tsv"));
    write_summary(d, "3L", 0.01, 0.02, 60, 60);
    l.n = 0;
    assert_int_not_equal(claims_overmixing(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "runs/1L/sensitivity/summary.tsv"));
    write_summary(d, "1L", 0.02, 0.01, 59, 60); /* spread smaller without the sink, one pair broken */
    l.n = 0;
    assert_int_equal(claims_overmixing(d, &l, &err), 0);
    assert_int_equal(l.n, 4);
    for (int k = 0; k < 4; k++) assert_string_equal(l.c[k].id, "C17");
    assert_close(l.c[0].measured, 2.0, 1e-12, 0);
    assert_int_equal(l.c[0].pass, 1);
    assert_close(l.c[1].measured, 1.0, 0, 0);
    assert_int_equal(l.c[1].pass, 1);
    assert_close(l.c[2].measured, 0.5, 1e-12, 0);
    assert_int_equal(l.c[2].pass, 0);
    assert_int_equal(l.c[3].pass, 0);
    assert_non_null(strstr(l.c[3].fit, "59 of 60"));
    remove_tempdir(d);
}

static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_cli_bad_flags_exit_2_with_one_line(void **state) {
    (void)state;
    char *out = NULL;
    const char *cases[] = {"sensitivity", "sensitivity /nonexistent --nosuch 1", "sensitivity /nonexistent --seqs 0",
                           "sensitivity /nonexistent --pos x", "sensitivity /nonexistent --ckpt soon", "sensitivity a b"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rc = run_bbsim(&out, "%s", cases[k]);
        if (rc != 2 || lines(out) != 1) fail_msg("'%s': exit %d, output '%s'", cases[k], rc, out);
        assert_non_null(strstr(out, "bbsim sensitivity:"));
        free(out);
    }
}

/* A tiny trained run end to end: the three files, --pos out of range refused, and the
 * same numbers with 1 and 2 threads. */
static void test_cli_on_a_tiny_run(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    int rc = run_bbsim(&out, "train --table synthetic --vocab 12 --seq 12 --dim 16 --layers 2 --batch 8 --lr 3e-3 --steps 20 "
                             "--eval-batch 8 --quiet --threads 1 --out %s/run", d);
    if (rc) fail_msg("train: %s", out);
    free(out);
    rc = run_bbsim(&out, "sensitivity %s/run --pos 12", d);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "--pos 12"));
    free(out);
    const char *files[] = {"spread.tsv", "jacobian.tsv", "summary.tsv"};
    char *text[2][3];
    for (int t = 0; t < 2; t++) {
        rc = run_bbsim(&out, "sensitivity %s/run --seqs 3 --threads %d --out %s/s%d --quiet", d, t + 1, d, t);
        if (rc) fail_msg("sensitivity: %s", out);
        free(out);
        for (int k = 0; k < 3; k++) { /* the table without the provenance lines */
            char p[512], cmd[600];
            snprintf(p, sizeof p, "%s/s%d/%s", d, t, files[k]);
            struct stat st;
            if (stat(p, &st)) fail_msg("missing %s", p);
            snprintf(cmd, sizeof cmd, "grep -v '^#' %s", p);
            FILE *f = popen(cmd, "r");
            text[t][k] = calloc(1, 1 << 16);
            size_t n = fread(text[t][k], 1, (1 << 16) - 1, f);
            pclose(f);
            assert_true(n > 20);
        }
    }
    for (int k = 0; k < 3; k++) {
        assert_string_equal(text[0][k], text[1][k]);
        free(text[0][k]);
        free(text[1][k]);
    }
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_sum_is_the_sum_over_attention_paths),
        cmocka_unit_test(test_forward_equals_model_forward_and_removes_the_sink),
        cmocka_unit_test(test_jacobian_of_one_layer_with_hand_set_attention),
        cmocka_unit_test(test_jacobian_matches_finite_differences),
        cmocka_unit_test(test_claim_section_refuses_missing_input_and_decides),
        cmocka_unit_test(test_cli_bad_flags_exit_2_with_one_line),
        cmocka_unit_test(test_cli_on_a_tiny_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
