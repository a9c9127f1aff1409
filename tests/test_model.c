/* Unit tests for the model: parameter table and initialisation, configuration errors,
 * whole-model gradients against central finite differences (every attention activation,
 * every ablation, the simplified model), interventions, determinism and workspace reuse.
 * BBSIM_TEST_VERBOSE=1 prints every tensor's worst gradient entry; BBSIM_TEST_SEED=n
 * changes the gradient checks' data batch (robustness sweeps). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "bbsim/common.h"
#include "bbsim/model.h"

/* ------------------------------------------------------------ helpers */

/* tiny shapes: V = 7 (token 6 is BOS, 1 and 2 are triggers) */
enum { TV = 7, TBOS = 6 };

static ModelConfig tiny_config(int attn) {
    ModelConfig c;
    model_config_default(&c);
    c.L = 2;
    c.H = 2;
    c.C = 8;
    c.attn = attn;
    c.V = TV;
    c.maxT = 6;
    c.bos_id = TBOS;
    c.triggers.n = 2;
    c.triggers.v[0] = 1;
    c.triggers.v[1] = 2;
    c.simple_hidden = 5;
    return c;
}

static void build_ok(Model *m, const ModelConfig *c) {
    BbError err;
    int rc = model_build(m, c, &err);
    if (rc) print_error("model_build: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

/* BOS first, then random tokens; targets random (what matters here is the gradient) */
static void random_batch(int *inputs, int *targets, int B, int T, int V, int bos, uint64_t seed) {
    gsl_rng *r = bb_rng_alloc(seed);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            inputs[b * T + t] = t == 0 && bos >= 0 ? bos : (int)gsl_rng_uniform_int(r, (unsigned long)(bos >= 0 ? bos : V));
            targets[b * T + t] = (int)gsl_rng_uniform_int(r, (unsigned long)V);
        }
    gsl_rng_free(r);
}

static double loss_sum(const Workspace *ws, int N) {
    double s = 0;
    for (int i = 0; i < N; i++) s += ws->losses[i];
    return s;
}

/* ------------------------------------------------------------ gradient check */

/* Compare model_backward with finite differences of the summed token losses, for every
 * parameter. The loss is piecewise smooth: ReLU kinks (relu MLP, relu attention, the
 * simplified model's MLP and relu attention) make differences across a kink meaningless.
 * So every perturbed forward records the sign pattern of every ReLU input and compares it
 * with the unperturbed one: central differences (f(x+h) - f(x-h)) / 2h when the pattern
 * holds on [x-h, x+h]; else the second-order one-sided difference on a side where it
 * holds on [x, x+-2h] (the analytic gradient is the derivative of the current piece);
 * else (kinks on both sides, rare) the entry is skipped and counted. An entry passes
 * when |analytic - fd| <= atol + rtol |fd|, with 2 atol for one-sided differences: the
 * float32 loss has a noise of ~3e-7, which the one-sided formula amplifies by 2.5/h
 * against the central one's 0.7/h. Returns the number of failing entries; when
 * corrupt_at >= 0 that analytic entry is first scaled by 1.05 (the checker's meta-test). */
typedef struct {
    int B, T;
    float eps;
    double atol, rtol;
    long corrupt_at;
    int verbose;
} GradCheck;

static long largest_entry(const float *g, size_t n) {
    long k = 0;
    for (size_t i = 1; i < n; i++)
        if (fabsf(g[i]) > fabsf(g[k])) k = (long)i;
    return k;
}

/* Signs of every ReLU input of the last forward, as bytes into out (NULL: count). */
static size_t relu_pattern(const Model *m, const Workspace *ws, unsigned char *out) {
    const ModelConfig *c = &m->cfg;
    const size_t N = (size_t)ws->B * ws->T, TT = (size_t)ws->B * ws->T * ws->T;
    size_t k = 0;
#define SIGNS(ptr, n)                                                                        \
    do {                                                                                     \
        for (size_t i_ = 0; i_ < (n); i_++, k++)                                             \
            if (out) out[k] = (ptr)[i_] > 0.0f;                                              \
    } while (0)
    if (c->kind == MODEL_SIMPLE) {
        SIGNS(ws->s_hidden, (size_t)c->V * c->simple_hidden);
        if (c->attn == ATTN_RELU) SIGNS(ws->preatt[0], TT);
        return k;
    }
    for (int l = 0; l < c->L; l++) {
        if (ws->fch[l] && !intlist_has(&c->linear_mlp, l)) SIGNS(ws->fch[l], N * 4 * c->C);
        if (ws->preatt[l] && c->attn == ATTN_RELU) SIGNS(ws->preatt[l], TT * c->H);
    }
#undef SIGNS
    return k;
}

typedef struct {
    Model *m;
    Workspace *ws;
    const int *in, *tg;
    unsigned char *base_pattern, *pattern;
    size_t npattern;
} Probe;

/* The summed loss with *x = value; *same says whether the ReLU pattern is unchanged. */
static double loss_at(Probe *pr, float *x, float value, int *same) {
    const float keep = *x;
    *x = value;
    model_forward(pr->m, pr->ws, pr->in, pr->tg, pr->ws->B, NULL);
    *x = keep;
    relu_pattern(pr->m, pr->ws, pr->pattern);
    *same = memcmp(pr->pattern, pr->base_pattern, pr->npattern) == 0;
    return loss_sum(pr->ws, pr->ws->B * pr->ws->T);
}

static int grad_check_model(Model *m, const GradCheck *gc, uint64_t data_seed, long *largest) {
    const ModelConfig *cfg = &m->cfg;
    const int B = gc->B, T = gc->T, N = B * T;
    Workspace *ws = workspace_alloc(m, B, T);
    int *in = bb_malloc(N * sizeof(int)), *tg = bb_malloc(N * sizeof(int));
    random_batch(in, tg, B, T, cfg->V, cfg->bos_id, data_seed);
    float *grads = bb_calloc(m->nparams, sizeof(float));
    model_forward(m, ws, in, tg, B, NULL);
    const double f0 = loss_sum(ws, N);
    Probe pr = {m, ws, in, tg, NULL, NULL, relu_pattern(m, ws, NULL)};
    pr.base_pattern = bb_malloc(pr.npattern + 1);
    pr.pattern = bb_malloc(pr.npattern + 1);
    relu_pattern(m, ws, pr.base_pattern);
    model_backward(m, ws, grads, 1.0f);
    if (largest) *largest = largest_entry(grads, m->nparams);
    if (gc->corrupt_at >= 0) grads[gc->corrupt_at] *= 1.05f;
    int bad = 0, one_sided = 0, skipped = 0;
    for (int t = 0; t < m->ntensors; t++) {
        const TensorInfo *ti = &m->tensors[t];
        double worst = -INFINITY, worst_fd = 0, worst_an = 0;
        size_t worst_k = 0;
        for (size_t k = 0; k < ti->size; k++) {
            float *x = m->params + ti->offset + k;
            const float x0 = *x, h = gc->eps;
            int okp, okm, okp2, okm2;
            const double fp = loss_at(&pr, x, x0 + h, &okp), fm = loss_at(&pr, x, x0 - h, &okm);
            double fd, atol = gc->atol;
            if (okp && okm) {
                fd = (fp - fm) / ((double)(x0 + h) - (double)(x0 - h));
            } else {
                /* one-sided, second order, with the steps actually taken in float: the
                 * slope at x0 of the parabola through (x0, f0), (x0+a, f1), (x0+2a, f2) */
                const double fp2 = loss_at(&pr, x, x0 + 2 * h, &okp2), fm2 = loss_at(&pr, x, x0 - 2 * h, &okm2);
                const double a1 = (double)(x0 + h) - x0, a2 = (double)(x0 + 2 * h) - x0;
                const double b1 = (double)(x0 - h) - x0, b2 = (double)(x0 - 2 * h) - x0;
                if (okp && okp2)
                    fd = ((fp - f0) / a1 * a2 - (fp2 - f0) / a2 * a1) / (a2 - a1);
                else if (okm && okm2)
                    fd = ((fm - f0) / b1 * b2 - (fm2 - f0) / b2 * b1) / (b2 - b1);
                else {
                    skipped++;
                    continue;
                }
                one_sided++;
                atol *= 2;
            }
            const double an = grads[ti->offset + k], excess = fabs(an - fd) - (atol + gc->rtol * fabs(fd));
            if (excess > worst) worst = excess, worst_k = k, worst_fd = fd, worst_an = an;
            if (excess > 0) bad++;
        }
        if (gc->verbose || worst > 0)
            print_message("  %-14s worst [%zu]: analytic %.6g fd %.6g (excess over tolerance %.3g)\n", ti->name,
                          worst_k, worst_an, worst_fd, worst);
    }
    if (gc->verbose || skipped)
        print_message("  (%d entries by one-sided differences, %d of %zu skipped: ReLU kinks within 2h)\n", one_sided,
                      skipped, m->nparams);
    assert_true(skipped <= (int)(m->nparams / 50)); /* a few percent at most */
    /* loss_at restored every parameter: the forward is unchanged */
    model_forward(m, ws, in, tg, B, NULL);
    assert_true(loss_sum(ws, N) == f0);
    free(in), free(tg), free(grads), free(pr.base_pattern), free(pr.pattern);
    workspace_free(ws);
    return bad;
}

static int grad_check(const ModelConfig *cfg, const GradCheck *gc, long *largest) {
    Model m;
    build_ok(&m, cfg);
    int bad = grad_check_model(&m, gc, getenv("BBSIM_TEST_SEED") ? strtoull(getenv("BBSIM_TEST_SEED"), NULL, 10) : 3, largest);
    model_free(&m);
    return bad;
}

static const GradCheck GC_DEFAULT = {2, 5, 2e-3f, 1e-3, 1e-2, -1, 0};

static void expect_grads_ok(const ModelConfig *c, const char *what) {
    GradCheck gc = GC_DEFAULT;
    gc.verbose = getenv("BBSIM_TEST_VERBOSE") != NULL;
    if (gc.verbose) print_message("%s\n", what);
    int bad = grad_check(c, &gc, NULL);
    if (bad) print_error("%s: %d gradient entries disagree with finite differences\n", what, bad);
    assert_int_equal(bad, 0);
}

/* backward accumulates; a smaller B in a larger workspace gives the same gradient */
static void test_backward_accumulates_and_reuse(void **state) {
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        ModelConfig c = tiny_config(ATTN_SOFTMAX_KEYBIAS);
        c.kind = kind;
        if (kind == MODEL_SIMPLE) c.attn = ATTN_SOFTMAX;
        Model m;
        build_ok(&m, &c);
        int in[24], tg[24];
        random_batch(in, tg, 4, 6, TV, TBOS, 9);
        Workspace *big = workspace_alloc(&m, 4, 6), *small = workspace_alloc(&m, 2, 6);
        float *g1 = bb_calloc(m.nparams, sizeof(float)), *g2 = bb_calloc(m.nparams, sizeof(float));
        model_forward(&m, big, in, tg, 4, NULL);  /* fill the big workspace first */
        model_forward(&m, big, in, tg, 2, NULL);
        model_backward(&m, big, g1, 0.5f);
        model_forward(&m, small, in, tg, 2, NULL);
        model_backward(&m, small, g2, 0.5f);
        assert_memory_equal(g1, g2, m.nparams * sizeof(float));
        model_backward(&m, small, g2, 0.5f); /* accumulates: now twice */
        double *a = bb_malloc(m.nparams * sizeof(double)), *e = bb_malloc(m.nparams * sizeof(double));
        int nonzero = 0;
        for (size_t i = 0; i < m.nparams; i++) a[i] = g2[i], e[i] = 2.0 * g1[i], nonzero += g1[i] != 0;
        assert_allclose(a, e, m.nparams, 0, 1e-6);
        assert_true(nonzero > (int)m.nparams / 2);
        free(a), free(e), free(g1), free(g2);
        workspace_free(big);
        workspace_free(small);
        model_free(&m);
    }
}

static void test_grad_attn_kinds(void **state) {
    (void)state;
    for (int a = 0; a < ATTN_NKINDS; a++) {
        ModelConfig c = tiny_config(a);
        expect_grads_ok(&c, attn_kind_names[a]);
    }
}

static void test_grad_ablations(void **state) {
    (void)state;
    ModelConfig c = tiny_config(ATTN_SOFTMAX);
    c.no_attn.n = 1, c.no_attn.v[0] = 1;
    expect_grads_ok(&c, "no-attn 1");
    c = tiny_config(ATTN_SOFTMAX);
    c.no_mlp.n = 1, c.no_mlp.v[0] = 0;
    expect_grads_ok(&c, "no-mlp 0");
    c = tiny_config(ATTN_SOFTMAX);
    c.linear_mlp.n = 1, c.linear_mlp.v[0] = 1;
    expect_grads_ok(&c, "linear-mlp 1");
    /* the paper's "Attn, TF, MLP": 3 layers, --no-attn 2 --no-mlp 0 */
    c = tiny_config(ATTN_SOFTMAX);
    c.L = 3;
    c.no_attn.n = 1, c.no_attn.v[0] = 2;
    c.no_mlp.n = 1, c.no_mlp.v[0] = 0;
    expect_grads_ok(&c, "3 layers, no-attn 2, no-mlp 0");
    /* a layer with neither */
    c = tiny_config(ATTN_RELU);
    c.no_attn.n = 1, c.no_attn.v[0] = 0;
    c.no_mlp.n = 1, c.no_mlp.v[0] = 0;
    expect_grads_ok(&c, "relu, layer 0 empty");
}

static void test_grad_simple(void **state) {
    (void)state;
    ModelConfig c = tiny_config(ATTN_SOFTMAX);
    c.kind = MODEL_SIMPLE;
    expect_grads_ok(&c, "simple softmax");
    c.attn = ATTN_RELU;
    expect_grads_ok(&c, "simple relu");
}

/* The simplified model starts at a = c = 0 and w = 1, where relu attention has no
 * gradient on a and c; move them (both signs; the relu model needs some positive) and
 * check again, asserting their gradients are exercised. */
static void test_grad_simple_moved(void **state) {
    (void)state;
    for (int a = ATTN_SOFTMAX; a <= ATTN_RELU; a++) {
        ModelConfig c = tiny_config(a);
        c.kind = MODEL_SIMPLE;
        Model m;
        build_ok(&m, &c);
        gsl_rng *r = bb_rng_alloc(3);
        for (int v = 0; v < TV; v++) {
            m.p.s_bos_logit[v] = (float)(2 * gsl_rng_uniform(r) - (v % 3 ? 0.5 : 1.5));
            m.p.s_prev_logit[v] = (float)(2 * gsl_rng_uniform(r) - (v % 3 ? 0.5 : 1.5));
            m.p.s_value[v] = (float)(0.5 + gsl_rng_uniform(r));
        }
        gsl_rng_free(r);
        GradCheck gc = GC_DEFAULT;
        gc.B = 4, gc.T = 6;
        gc.verbose = getenv("BBSIM_TEST_VERBOSE") != NULL;
        assert_int_equal(grad_check_model(&m, &gc, 11, NULL), 0);
        /* the same batch: the gradients of a, c, w are exercised */
        Workspace *ws = workspace_alloc(&m, 4, 6);
        int in[24], tg[24];
        random_batch(in, tg, 4, 6, TV, TBOS, 11);
        float *g = bb_calloc(m.nparams, sizeof(float));
        model_forward(&m, ws, in, tg, 4, NULL);
        model_backward(&m, ws, g, 1.0f);
        ParamPtrs gp;
        model_point(&m, g, &gp);
        int nz_a = 0, nz_c = 0, nz_w = 0;
        for (int v = 0; v < TV; v++) nz_a += gp.s_bos_logit[v] != 0, nz_c += gp.s_prev_logit[v] != 0, nz_w += gp.s_value[v] != 0;
        print_message("%s: nonzero gradients: a %d, c %d, w %d\n", attn_kind_names[a], nz_a, nz_c, nz_w);
        assert_true(nz_a >= 2 && nz_c >= 2 && nz_w >= 4);
        free(g);
        workspace_free(ws);
        model_free(&m);
    }
}

/* The checker itself: a 5% error in the largest gradient entry must be reported. */
static void test_grad_check_catches_errors(void **state) {
    (void)state;
    ModelConfig cfgs[2] = {tiny_config(ATTN_SOFTMAX), tiny_config(ATTN_RELU)};
    cfgs[1].kind = MODEL_SIMPLE;
    for (int i = 0; i < 2; i++) {
        GradCheck gc = GC_DEFAULT;
        long largest;
        assert_int_equal(grad_check(&cfgs[i], &gc, &largest), 0);
        gc.corrupt_at = largest;
        print_message("(meta-test: the next line must report a disagreement)\n");
        assert_true(grad_check(&cfgs[i], &gc, NULL) >= 1);
    }
}

/* ------------------------------------------------------------ table, init, config */

static void test_param_table(void **state) {
    (void)state;
    ModelConfig c;
    model_config_default(&c);
    c.V = 67, c.maxT = 256; /* the paper's 1-layer model: d 256, V 67, N 256 */
    Model m;
    build_ok(&m, &c);
    const size_t C = 256, V = 67, T = 256;
    const size_t expect = V * C + T * C + (2 * C + 3 * C * C + C * C + 2 * C + 4 * C * C + 4 * C * C) + 2 * C + V * C;
    assert_int_equal(m.nparams, expect);
    assert_int_equal(m.nparams, 887808);
    const char *names[] = {"wte", "wpe", "l0.ln1_w", "l0.ln1_b", "l0.wqkv", "l0.wo", "l0.ln2_w", "l0.ln2_b",
                           "l0.w1", "l0.w2", "lnf_w", "lnf_b", "wout"};
    const size_t sizes[] = {V * C, T * C, C, C, 3 * C * C, C * C, C, C, 4 * C * C, 4 * C * C, C, C, V * C};
    assert_int_equal(m.ntensors, 13);
    size_t off = 0;
    for (int t = 0; t < 13; t++) {
        assert_string_equal(m.tensors[t].name, names[t]);
        assert_int_equal(m.tensors[t].size, sizes[t]);
        assert_int_equal(m.tensors[t].offset, off);
        assert_int_equal(m.tensors[t].layer, strncmp(names[t], "l0.", 3) ? -1 : 0);
        off += sizes[t];
    }
    /* named pointers agree with the table; absent tensors are NULL */
    assert_ptr_equal(m.p.wqkv[0], m.params + m.tensors[4].offset);
    assert_ptr_equal(m.p.wout, m.params + m.tensors[12].offset);
    assert_null(m.p.keyslot[0]);
    assert_null(m.p.wqkv[1]);
    assert_null(m.p.s_wo);
    /* initialisation: LN gains 1, biases 0, linear weights within 1/sqrt(fan_in),
     * embeddings N(0,1) */
    for (size_t i = 0; i < C; i++) assert_true(m.p.ln1_w[0][i] == 1.0f && m.p.lnf_b[i] == 0.0f);
    double bound = 1 / sqrt(256.0), mx = 0, mean = 0;
    for (size_t i = 0; i < 3 * C * C; i++) mx = fmax(mx, fabs(m.p.wqkv[0][i])), mean += m.p.wqkv[0][i];
    assert_true(mx <= bound && mx > 0.99 * bound);
    assert_true(fabs(mean / (3 * C * C)) < 0.01 * bound); /* symmetric around 0 */
    mx = 0;
    for (size_t i = 0; i < 4 * C * C; i++) mx = fmax(mx, fabs(m.p.w2[0][i]));
    assert_true(mx <= 1 / sqrt(1024.0) && mx > 0.99 / sqrt(1024.0));
    double s = 0, s2 = 0;
    for (size_t i = 0; i < V * C; i++) s += m.p.wte[i], s2 += (double)m.p.wte[i] * m.p.wte[i];
    s /= (double)(V * C), s2 /= (double)(V * C);
    assert_true(fabs(s) < 0.03 && fabs(s2 - 1) < 0.05);
    /* model_point on another buffer: same offsets */
    float *other = bb_calloc(m.nparams, sizeof(float));
    ParamPtrs p;
    model_point(&m, other, &p);
    assert_ptr_equal(p.w1[0], other + m.tensors[8].offset);
    assert_null(p.w1[1]);
    free(other);
    model_free(&m);

    /* multi-layer names, keyslot, linear MLP, simplified model */
    c.L = 2, c.H = 4, c.C = 16, c.attn = ATTN_SOFTMAX_KEYBIAS;
    c.linear_mlp.n = 1, c.linear_mlp.v[0] = 1;
    build_ok(&m, &c);
    int found = 0;
    for (int t = 0; t < m.ntensors; t++) {
        if (!strcmp(m.tensors[t].name, "l1.keyslot")) found |= 1, assert_int_equal(m.tensors[t].size, 16);
        if (!strcmp(m.tensors[t].name, "l1.w1")) found |= 2, assert_int_equal(m.tensors[t].size, 16 * 16);
        if (!strcmp(m.tensors[t].name, "l1.w2")) found |= 4;
        if (!strcmp(m.tensors[t].name, "l0.w2")) found |= 8;
    }
    assert_int_equal(found, 1 | 2 | 8);
    model_free(&m);
    c = tiny_config(ATTN_SOFTMAX);
    c.kind = MODEL_SIMPLE;
    build_ok(&m, &c);
    assert_int_equal(m.ntensors, 7);
    assert_string_equal(m.tensors[0].name, "s_bos_logit");
    assert_int_equal(m.nparams, 4 * TV + TV * TV + 2 * 5 * TV);
    /* a, c, w, b start N(0,1) (the paper's code): their 4 V draws have mean ~0, variance ~1,
     * and no two of the vectors are equal */
    double sum = 0, sq = 0;
    const float *abwc[4] = {m.p.s_bos_logit, m.p.s_prev_logit, m.p.s_value, m.p.s_bos_value};
    for (int k = 0; k < 4; k++)
        for (int v = 0; v < TV; v++) sum += abwc[k][v], sq += (double)abwc[k][v] * abwc[k][v];
    const double n = 4.0 * TV, mu = sum / n, var0 = sq / n - mu * mu;
    if (fabs(mu) > 4 / sqrt(n) || var0 < 0.4 || var0 > 2.0) fail_msg("a, c, w, b: mean %g, variance %g", mu, var0);
    assert_true(memcmp(m.p.s_bos_logit, m.p.s_prev_logit, TV * sizeof(float)) != 0);
    assert_null(m.p.wte);
    model_free(&m);
}

static void test_init_deterministic(void **state) {
    (void)state;
    ModelConfig c = tiny_config(ATTN_SOFTMAX);
    Model a, b;
    build_ok(&a, &c);
    build_ok(&b, &c);
    assert_memory_equal(a.params, b.params, a.nparams * sizeof(float));
    model_free(&b);
    c.init_seed = 43;
    build_ok(&b, &c);
    assert_true(memcmp(a.params, b.params, a.nparams * sizeof(float)) != 0);
    model_free(&b);
    /* layer 0 of a deeper model starts like layer 0 of the shallower one */
    c.init_seed = 42, c.L = 3;
    build_ok(&b, &c);
    assert_memory_equal(a.p.wqkv[0], b.p.wqkv[0], 3 * 8 * 8 * sizeof(float));
    assert_memory_equal(a.p.w2[1], b.p.w2[1], 4 * 8 * 8 * sizeof(float));
    model_free(&b);
    model_free(&a);
}

static void expect_build_error(const ModelConfig *c, const char *needle) {
    Model m;
    BbError err = {{0}};
    int rc = model_build(&m, c, &err);
    assert_int_equal(rc, BB_EINPUT);
    if (!strstr(err.msg, needle)) print_error("message '%s' lacks '%s'\n", err.msg, needle);
    assert_non_null(strstr(err.msg, needle));
}

static void test_config_errors(void **state) {
    (void)state;
    ModelConfig c = tiny_config(ATTN_SOFTMAX);
    c.H = 3;
    expect_build_error(&c, "not divisible by --heads 3");
    c = tiny_config(ATTN_SOFTMAX);
    c.no_attn.n = 1, c.no_attn.v[0] = 2;
    expect_build_error(&c, "--no-attn 2: layers are numbered 0..1");
    c = tiny_config(ATTN_SOFTMAX);
    c.linear_mlp.n = 1, c.linear_mlp.v[0] = 5;
    expect_build_error(&c, "--linear-mlp 5");
    c = tiny_config(ATTN_SOFTMAX);
    c.linear_mlp.n = c.no_mlp.n = 1, c.linear_mlp.v[0] = c.no_mlp.v[0] = 0;
    expect_build_error(&c, "both --no-mlp and --linear-mlp");
    c = tiny_config(ATTN_SOFTMAX);
    c.L = BB_MAXL + 1;
    expect_build_error(&c, "--layers");
    c = tiny_config(ATTN_SOFTMAX);
    c.H = BB_MAXH + 1, c.C = 8 * (BB_MAXH + 1);
    expect_build_error(&c, "--heads");
    c = tiny_config(ATTN_SOFTMAX);
    c.V = 0;
    expect_build_error(&c, "vocabulary");
    c = tiny_config(ATTN_SIGMOID);
    c.kind = MODEL_SIMPLE;
    expect_build_error(&c, "--model simple supports");
    c = tiny_config(ATTN_SOFTMAX);
    c.kind = MODEL_SIMPLE;
    c.triggers.v[1] = 7;
    expect_build_error(&c, "trigger token 7");
}

static void test_opts(void **state) {
    (void)state;
    ModelConfig c;
    model_config_default(&c);
    assert_int_equal(c.L, 1);
    assert_int_equal(c.C, 256);
    assert_int_equal(c.simple_hidden, 128);
    assert_true(c.init_seed == 42);
    Opt o[MODEL_NOPTS];
    int n = model_opts(&c, o), npos;
    assert_true(n <= MODEL_NOPTS);
    char *argv[] = {"--model", "simple", "--layers", "3", "--heads", "2", "--dim", "64", "--attn", "softmax-keybias",
                    "--no-attn", "0,2", "--no-mlp", "1", "--linear-mlp", "2", "--simple-hidden", "32",
                    "--init-seed", "7"};
    BbError err;
    assert_int_equal(opts_parse(o, n, 20, argv, NULL, 0, &npos, &err), 0);
    assert_int_equal(c.kind, MODEL_SIMPLE);
    assert_int_equal(c.L, 3);
    assert_int_equal(c.H, 2);
    assert_int_equal(c.C, 64);
    assert_int_equal(c.attn, ATTN_SOFTMAX_KEYBIAS);
    assert_int_equal(c.no_attn.n, 2);
    assert_int_equal(c.no_attn.v[1], 2);
    assert_int_equal(c.no_mlp.v[0], 1);
    assert_int_equal(c.linear_mlp.v[0], 2);
    assert_int_equal(c.simple_hidden, 32);
    assert_true(c.init_seed == 7);
    char *bad[] = {"--attn", "tanh"};
    assert_int_equal(opts_parse(o, n, 2, bad, NULL, 0, &npos, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "sigmoid-norm"));
    assert_string_equal(attn_kind_names[ATTN_SOFTMAX1], "softmax1");
    assert_string_equal(model_kind_names[MODEL_SIMPLE], "simple");
}

static void test_flops(void **state) {
    (void)state;
    ModelConfig c;
    model_config_default(&c);
    c.V = 67, c.maxT = 256;
    /* docs/method.md#flops: 1, 256, 256, 512 -> 735 GFLOP per step = 3 x forward */
    assert_close(3 * model_forward_flops(&c, 512, 256) / 1e9, 735, 1, 0);
    c.L = 3;
    assert_close(3 * model_forward_flops(&c, 512, 256) / 1e9, 2178, 1, 0);
    c.L = 1, c.C = 64;
    assert_close(3 * model_forward_flops(&c, 32, 64) / 1e9, 0.76, 0.01, 0);
    /* ablations remove their share */
    c.C = 256, c.L = 3;
    double full = model_forward_flops(&c, 512, 256);
    c.no_attn.n = 1, c.no_attn.v[0] = 2;
    double n = 512.0 * 256, d = 256;
    assert_close(model_forward_flops(&c, 512, 256), full - (8 * n * d * d + 4 * 512.0 * 256 * 256 * d), 1, 1e-12);
}

/* ------------------------------------------------------------ forward behaviour */

typedef struct {
    Model m;
    Workspace *ws;
    int B, T;
    int in[64], tg[64];
} Fixture;

static void fixture_init(Fixture *f, const ModelConfig *c, int B, int T) {
    build_ok(&f->m, c);
    f->B = B, f->T = T;
    f->ws = workspace_alloc(&f->m, B, T);
    random_batch(f->in, f->tg, B, T, c->V, c->bos_id, 5);
    /* make sure triggers occur */
    f->in[2] = 1, f->in[T + 3] = 2;
}

static void fixture_free(Fixture *f) {
    workspace_free(f->ws);
    model_free(&f->m);
}

static void copy_floats(float *dst, const float *src, size_t n) { memcpy(dst, src, n * sizeof(float)); }

static void test_forward_deterministic_and_reuse(void **state) {
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        ModelConfig c = tiny_config(ATTN_SOFTMAX);
        c.kind = kind;
        Fixture f;
        fixture_init(&f, &c, 4, 6);
        const int N = 4 * 6, V = TV;
        float l1 = model_forward(&f.m, f.ws, f.in, f.tg, 4, NULL);
        float *logits = bb_malloc(N * V * sizeof(float)), *att = bb_malloc(4 * 2 * 36 * sizeof(float));
        copy_floats(logits, f.ws->logits, N * V);
        copy_floats(att, f.ws->att[kind == MODEL_SIMPLE ? 0 : 1], 4 * (kind ? 1 : 2) * 36);
        /* a fresh workspace, and the mean loss */
        Workspace *ws2 = workspace_alloc(&f.m, 4, 6);
        float l2 = model_forward(&f.m, ws2, f.in, f.tg, 4, NULL);
        assert_true(l1 == l2);
        assert_memory_equal(ws2->logits, logits, N * V * sizeof(float));
        double mean = 0;
        for (int i = 0; i < N; i++) mean += ws2->losses[i];
        assert_close(l1, mean / N, 1e-6, 1e-6);
        assert_true(l1 > 0);
        /* the same workspace with a smaller B: sequences 2..3 alone give the same numbers */
        model_forward(&f.m, f.ws, f.in + 2 * 6, f.tg + 2 * 6, 2, NULL);
        assert_int_equal(f.ws->B, 2);
        assert_memory_equal(f.ws->logits, logits + 2 * 6 * V, 2 * 6 * V * sizeof(float));
        const int H = kind ? 1 : 2;
        assert_memory_equal(f.ws->att[kind ? 0 : 1], att + 2 * H * 36, 2 * H * 36 * sizeof(float));
        /* no targets: probabilities, loss 0 */
        assert_true(model_forward(&f.m, f.ws, f.in, NULL, 4, NULL) == 0.0f);
        for (int v = 0; v < V; v++) assert_true(f.ws->logits[v] == logits[v]);
        double ps = 0;
        for (int v = 0; v < V; v++) ps += f.ws->probs[v];
        assert_close(ps, 1, 1e-6, 0);
        /* a workspace shorter than maxT: position i of a prefix is the same (causal) */
        Workspace *ws3 = workspace_alloc(&f.m, 4, 3);
        int in3[12];
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < 3; t++) in3[b * 3 + t] = f.in[b * 6 + t];
        model_forward(&f.m, ws3, in3, NULL, 4, NULL);
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < 3; t++)
                for (int v = 0; v < V; v++)
                    assert_close(ws3->logits[(b * 3 + t) * V + v], logits[(b * 6 + t) * V + v], 1e-5, 1e-5);
        workspace_free(ws3);
        workspace_free(ws2);
        free(logits), free(att);
        fixture_free(&f);
    }
}

/* attention rows: causal, and summing to one for the normalised activations */
static void test_attention_rows(void **state) {
    (void)state;
    for (int a = 0; a < ATTN_NKINDS; a++) {
        ModelConfig c = tiny_config(a);
        Fixture f;
        fixture_init(&f, &c, 2, 6);
        model_forward(&f.m, f.ws, f.in, f.tg, 2, NULL);
        for (int l = 0; l < 2; l++)
            for (int bh = 0; bh < 4; bh++)
                for (int i = 0; i < 6; i++) {
                    const float *row = f.ws->att[l] + (bh * 6 + i) * 6;
                    double s = f.ws->att_slot[l] ? f.ws->att_slot[l][bh * 6 + i] : 0;
                    for (int j = 0; j < 6; j++) {
                        if (j > i) assert_true(row[j] == 0.0f);
                        s += row[j];
                    }
                    if (attn_kind_normalised(a)) assert_close(s, 1, 1e-5, 0);
                    if (a == ATTN_SOFTPICK) assert_true(s <= 1 + 1e-6); /* P / (P + N) */
                    if (attn_kind_has_slot(a)) assert_true(f.ws->att_slot[l][bh * 6 + i] > 0);
                    if (a == ATTN_RELU) /* a_ij = relu(s_ij)/(i+1) */
                        for (int j = 0; j <= i; j++) {
                            float sc = f.ws->preatt[l][(bh * 6 + i) * 6 + j];
                            assert_close(row[j], sc > 0 ? sc / (i + 1) : 0, 1e-7, 1e-6);
                        }
                }
        fixture_free(&f);
    }
}

static Intervention no_iv(const unsigned char *is_trigger) {
    Intervention iv;
    memset(&iv, 0, sizeof iv);
    iv.is_trigger = is_trigger;
    return iv;
}

static const unsigned char tiny_is_trigger[TV] = {0, 1, 1, 0, 0, 0, 0};

static void test_interventions(void **state) {
    (void)state;
    ModelConfig c = tiny_config(ATTN_SOFTMAX);
    Fixture f;
    fixture_init(&f, &c, 2, 6);
    const int B = 2, T = 6, C = 8, N = B * T, V = TV, hs = 4;
    float *base = bb_malloc(N * V * sizeof(float)), *tmp = bb_malloc(N * V * sizeof(float));
    const float loss0 = model_forward(&f.m, f.ws, f.in, f.tg, B, NULL);
    copy_floats(base, f.ws->logits, N * V);

    /* an all-zero intervention reproduces the plain forward exactly */
    Intervention iv = no_iv(tiny_is_trigger);
    assert_true(model_forward(&f.m, f.ws, f.in, f.tg, B, &iv) == loss0);
    assert_memory_equal(f.ws->logits, base, N * V * sizeof(float));

    /* zero_head[1][1] == a model whose Wo columns of head 1 are zero */
    iv.zero_head[1][1] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv);
    copy_floats(tmp, f.ws->logits, N * V);
    assert_true(memcmp(tmp, base, N * V * sizeof(float)) != 0);
    float saved[64];
    for (int r = 0; r < C; r++)
        for (int e = 0; e < hs; e++) saved[r * hs + e] = f.m.p.wo[1][r * C + hs + e], f.m.p.wo[1][r * C + hs + e] = 0;
    model_forward(&f.m, f.ws, f.in, f.tg, B, NULL);
    {
        double *a = bb_malloc(N * V * sizeof(double)), *e = bb_malloc(N * V * sizeof(double));
        for (int i = 0; i < N * V; i++) a[i] = tmp[i], e[i] = f.ws->logits[i];
        assert_allclose(a, e, N * V, 1e-6, 1e-6);
        free(a), free(e);
    }
    for (int r = 0; r < C; r++)
        for (int e = 0; e < hs; e++) f.m.p.wo[1][r * C + hs + e] = saved[r * hs + e];

    /* no_mlp[0] == a model whose W2 in layer 0 is zero */
    iv = no_iv(tiny_is_trigger);
    iv.no_mlp[0] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv);
    copy_floats(tmp, f.ws->logits, N * V);
    float *w2 = bb_malloc(4 * C * C * sizeof(float));
    copy_floats(w2, f.m.p.w2[0], 4 * C * C);
    memset(f.m.p.w2[0], 0, 4 * C * C * sizeof(float));
    model_forward(&f.m, f.ws, f.in, f.tg, B, NULL);
    assert_memory_equal(tmp, f.ws->logits, N * V * sizeof(float));
    copy_floats(f.m.p.w2[0], w2, 4 * C * C);
    free(w2);

    /* all_bos: every row of that head one-hot on key 0; the other head untouched */
    iv = no_iv(tiny_is_trigger);
    iv.all_bos[0][1] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const float *row = f.ws->att[0] + ((b * 2 + 1) * T + i) * T;
            for (int j = 0; j < T; j++) assert_true(row[j] == (j == 0 ? 1.0f : 0.0f));
            /* head output = v_0 */
            for (int e = 0; e < hs; e++)
                assert_true(f.ws->atty[0][(b * T + i) * C + hs + e] == f.ws->qkv[0][(b * T) * 3 * C + 2 * C + hs + e]);
        }
    assert_true(f.ws->att[0][(0 * T + 3) * T + 1] != 0.0f || f.ws->att[0][(0 * T + 3) * T + 2] != 0.0f);

    /* all_bos + zero_bos_value == zero_head (the head adds nothing) */
    iv.zero_bos_value[0][1] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv);
    copy_floats(tmp, f.ws->logits, N * V);
    for (int b = 0; b < B; b++)
        for (int e = 0; e < hs; e++) assert_true(f.ws->qkv[0][(b * T) * 3 * C + 2 * C + hs + e] == 0.0f);
    Intervention iv2 = no_iv(tiny_is_trigger);
    iv2.zero_head[0][1] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv2);
    assert_memory_equal(tmp, f.ws->logits, N * V * sizeof(float));

    /* oracle: trigger rows one-hot on i-1, others on key 0 */
    iv = no_iv(tiny_is_trigger);
    iv.oracle_attn[1][0] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv);
    int ntrig = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const int trig = tiny_is_trigger[f.in[b * T + i]];
            const int key = trig && i > 0 ? i - 1 : 0;
            ntrig += trig && i > 0;
            const float *row = f.ws->att[1] + ((b * 2 + 0) * T + i) * T;
            for (int j = 0; j < T; j++) assert_true(row[j] == (j == key ? 1.0f : 0.0f));
        }
    assert_true(ntrig >= 2);

    /* zero_bos_resid: h_0 = 0 after that layer, the other positions as before */
    model_forward(&f.m, f.ws, f.in, f.tg, B, NULL);
    float *res = bb_malloc(N * C * sizeof(float));
    copy_floats(res, f.ws->resid[1], N * C);
    iv = no_iv(tiny_is_trigger);
    iv.zero_bos_resid[0] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, B, &iv);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int e = 0; e < C; e++) {
                float v = f.ws->resid[1][(b * T + t) * C + e];
                assert_true(t == 0 ? v == 0.0f : v == res[(b * T + t) * C + e]);
            }
    /* interventions leave the next plain forward untouched */
    model_forward(&f.m, f.ws, f.in, f.tg, B, NULL);
    assert_memory_equal(f.ws->logits, base, N * V * sizeof(float));
    free(res), free(base), free(tmp);
    fixture_free(&f);
}

static void test_simple_forward(void **state) {
    (void)state;
    ModelConfig c = tiny_config(ATTN_SOFTMAX);
    c.kind = MODEL_SIMPLE;
    Fixture f;
    fixture_init(&f, &c, 2, 6);
    const int T = 6, V = TV, S = 5;
    ParamPtrs *p = &f.m.p;
    p->s_bos_logit[3] = 2.0f, p->s_prev_logit[1] = 1.5f, p->s_value[4] = 0.7f;
    f.in[0] = TBOS, f.in[1] = 3, f.in[2] = 1, f.in[3] = 4, f.in[4] = 3, f.in[5] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, 2, NULL);
    /* the definitions, by hand, in double, for sequence 0 */
    double v0[TV];
    for (int v = 0; v < V; v++) {
        v0[v] = 0;
        for (int u = 0; u < V; u++) v0[v] += (double)p->s_wo[v * V + u] * p->s_bos_value[u];
    }
    for (int i = 0; i < T; i++) {
        const int x = f.in[i], trig = x == 1 || x == 2, key = trig && i > 0 ? i - 1 : 0;
        double s[6] = {0}, a[6], z = 0;
        s[key] = trig ? p->s_prev_logit[x] : p->s_bos_logit[x];
        for (int j = 0; j <= i; j++) z += exp(s[j]);
        for (int j = 0; j <= i; j++) a[j] = exp(s[j]) / z;
        for (int j = 0; j < T; j++) {
            assert_close(f.ws->att[0][i * T + j], j <= i ? a[j] : 0, 1e-6, 1e-5);
            assert_close(f.ws->preatt[0][i * T + j], j <= i ? s[j] : 0, 0, 0);
        }
        for (int v = 0; v < V; v++) {
            double out = a[0] * v0[v];
            for (int j = 1; j <= i; j++)
                if (f.in[j] == v) out += a[j] * p->s_value[v];
            for (int k = 0; k < S; k++) {
                double h = p->s_w1[k * V + x];
                out += p->s_w2[v * S + k] * (h > 0 ? h : 0);
            }
            assert_close(f.ws->logits[i * V + v], out, 1e-5, 1e-5);
        }
    }
    /* interventions: zero_head leaves only the MLP; no_mlp only attention */
    Intervention iv = no_iv(tiny_is_trigger);
    iv.zero_head[0][0] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, 2, &iv);
    for (int v = 0; v < V; v++) assert_true(f.ws->logits[2 * V + v] == f.ws->s_mlp[1 * V + v]);
    iv = no_iv(tiny_is_trigger);
    iv.all_bos[0][0] = 1;
    model_forward(&f.m, f.ws, f.in, f.tg, 2, &iv);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) assert_true(f.ws->att[0][i * T + j] == (j == 0 ? 1.0f : 0.0f));
    fixture_free(&f);
}

static void test_workspace_memory(void **state) {
    (void)state;
    ModelConfig c;
    model_config_default(&c);
    c.V = 67, c.maxT = 256, c.L = 3;
    Model m;
    build_ok(&m, &c);
    Workspace *ws = workspace_alloc(&m, 64, 256);
    size_t bytes = workspace_bytes(ws);
    print_message("paper scale L=3 C=256 T=256, 64 sequences: workspace %.1f MiB (activations %.1f, gradients %.1f)\n",
                  bytes / 1048576.0, ws->acts_size * 4 / 1048576.0, ws->grad_size * 4 / 1048576.0);
    assert_true(bytes < (size_t)1600 << 20); /* two fit in well under 8 GB */
    /* every layer's tensors are distinct and inside the buffer */
    for (int l = 0; l < 3; l++) {
        assert_true(ws->att[l] >= ws->acts_mem && ws->att[l] + 64 * 256 * 256 <= ws->acts_mem + ws->acts_size);
        assert_true(ws->resid[l + 1] > ws->resid[l]);
    }
    assert_null(ws->att_slot[0]);
    workspace_free(ws);
    model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_table),
        cmocka_unit_test(test_init_deterministic),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_flops),
        cmocka_unit_test(test_forward_deterministic_and_reuse),
        cmocka_unit_test(test_attention_rows),
        cmocka_unit_test(test_interventions),
        cmocka_unit_test(test_simple_forward),
        cmocka_unit_test(test_workspace_memory),
        cmocka_unit_test(test_backward_accumulates_and_reuse),
        cmocka_unit_test(test_grad_attn_kinds),
        cmocka_unit_test(test_grad_ablations),
        cmocka_unit_test(test_grad_simple),
        cmocka_unit_test(test_grad_simple_moved),
        cmocka_unit_test(test_grad_check_catches_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
