/* Unit tests for kernels.c: each fast kernel against its plain-loop reference, and each
 * backward against central finite differences of f = sum_k R_k out_k (R random). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "bbsim/common.h"
#include "bbsim/kernels.h"
#include "bbsim/model.h"

/* ------------------------------------------------------------ helpers */

static gsl_rng *g_rng;

static float *randu(size_t n, double lo, double hi) {
    float *x = bb_malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(g_rng));
    return x;
}

static float *zeros(size_t n) { return bb_calloc(n + 1, sizeof(float)); }

static double *to_double(const float *x, size_t n) {
    double *d = bb_malloc(n * sizeof(double) + 1);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static void assert_close_f(const float *a, const float *e, size_t n, double atol, double rtol, const char *what) {
    double *ad = to_double(a, n), *ed = to_double(e, n);
    allclose_impl(ad, ed, n, atol, rtol, what, __FILE__, __LINE__);
    free(ad);
    free(ed);
}

/* A forward pass under test: recompute the outputs from the current inputs. */
typedef void (*ForwardFn)(void *ctx);

static double objective(const float *out, const float *R, size_t n) {
    double f = 0;
    for (size_t i = 0; i < n; i++) f += (double)R[i] * out[i];
    return f;
}

/* Central differences of f = R.out with respect to x[0..n); compared to `analytic`. */
static void fd_check(float *x, size_t n, const float *analytic, ForwardFn fwd, void *ctx, const float *out,
                     const float *R, size_t nout, float eps, double atol, double rtol, const char *what) {
    double *fd = bb_malloc(n * sizeof(double) + 1), *an = to_double(analytic, n);
    for (size_t i = 0; i < n; i++) {
        const float x0 = x[i];
        x[i] = x0 + eps;
        fwd(ctx);
        double fp = objective(out, R, nout);
        x[i] = x0 - eps;
        fwd(ctx);
        double fm = objective(out, R, nout);
        x[i] = x0;
        fd[i] = (fp - fm) / ((double)(x0 + eps) - (double)(x0 - eps));
    }
    fwd(ctx);
    allclose_impl(an, fd, n, atol, rtol, what, __FILE__, __LINE__);
    free(fd);
    free(an);
}

/* ------------------------------------------------------------ exp */

static void test_vec_exp(void **state) {
    (void)state;
    const size_t n = 350001;
    float *x = bb_malloc(n * sizeof(float)), *y = bb_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(-87.0 + 175.0 * (double)i / (double)(n - 1));
    vec_exp(y, x, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - exp((double)x[i])) / exp((double)x[i]));
    print_message("vec_exp: worst relative error %.3g on [-87, 88]\n", worst);
    assert_true(worst < 2e-7);
    /* clamped outside: tiny but finite below, finite above, exact at 0 */
    float big[5] = {-1000.0f, -INFINITY, 0.0f, 1000.0f, NAN}, out[5];
    vec_exp(out, big, 5);
    assert_true(isnan(out[4])); /* a diverged model must not look finite */
    assert_true(out[0] >= 0 && out[0] < 1e-37f && out[1] >= 0 && out[1] < 1e-37f);
    assert_true(out[2] == 1.0f);
    assert_true(isfinite(out[3]) && out[3] > 1e38f);
    free(x), free(y);
}

/* ------------------------------------------------------------ encoder */

typedef struct {
    float *out, *wte, *wpe;
    int *inp;
    int B, T, C;
} EncCtx;

static void enc_fwd(void *p) {
    EncCtx *c = p;
    encoder_forward(c->out, c->inp, c->wte, c->wpe, c->B, c->T, c->C);
}

static void test_encoder(void **state) {
    (void)state;
    const int B = 2, T = 4, C = 3, V = 5;
    EncCtx c = {zeros(B * T * C), randu(V * C, -1, 1), randu(T * C, -1, 1), bb_malloc(B * T * sizeof(int)), B, T, C};
    for (int i = 0; i < B * T; i++) c.inp[i] = (int)gsl_rng_uniform_int(g_rng, V);
    c.inp[1] = c.inp[5]; /* a repeated token accumulates */
    enc_fwd(&c);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int k = 0; k < C; k++)
                assert_true(c.out[(b * T + t) * C + k] == c.wte[c.inp[b * T + t] * C + k] + c.wpe[t * C + k]);
    float *R = randu(B * T * C, -1, 1), *dwte = zeros(V * C), *dwpe = zeros(T * C);
    encoder_backward(dwte, dwpe, R, c.inp, B, T, C);
    fd_check(c.wte, V * C, dwte, enc_fwd, &c, c.out, R, B * T * C, 1e-2f, 1e-4, 1e-3, "dwte");
    fd_check(c.wpe, T * C, dwpe, enc_fwd, &c, c.out, R, B * T * C, 1e-2f, 1e-4, 1e-3, "dwpe");
    free(c.out), free(c.wte), free(c.wpe), free(c.inp), free(R), free(dwte), free(dwpe);
}

/* ------------------------------------------------------------ layernorm */

typedef struct {
    float *out, *mean, *rstd, *inp, *w, *b;
    int N, C;
} LnCtx;

static void ln_fwd(void *p) {
    LnCtx *c = p;
    layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C);
}

static void test_layernorm(void **state) {
    (void)state;
    const int N = 6, C = 10;
    LnCtx c = {zeros(N * C), zeros(N), zeros(N), randu(N * C, -2, 2), randu(C, 0.5, 1.5), randu(C, -1, 1), N, C};
    ln_fwd(&c);
    for (int n = 0; n < N; n++) { /* definition, in double */
        double m = 0, v = 0;
        for (int k = 0; k < C; k++) m += c.inp[n * C + k];
        m /= C;
        for (int k = 0; k < C; k++) v += (c.inp[n * C + k] - m) * (c.inp[n * C + k] - m);
        v /= C;
        for (int k = 0; k < C; k++) {
            double e = (c.inp[n * C + k] - m) / sqrt(v + 1e-5) * c.w[k] + c.b[k];
            assert_close(c.out[n * C + k], e, 1e-5, 1e-5);
        }
        assert_close(c.mean[n], m, 1e-6, 1e-5);
        assert_close(c.rstd[n], 1 / sqrt(v + 1e-5), 1e-6, 1e-5);
    }
    float *R = randu(N * C, -1, 1), *dinp = randu(N * C, -1, 1), *dw = zeros(C), *db = zeros(C);
    float *dinp0 = bb_malloc(N * C * sizeof(float));
    memcpy(dinp0, dinp, N * C * sizeof(float));
    layernorm_backward(dinp, dw, db, R, c.inp, c.w, c.mean, c.rstd, N, C);
    for (int i = 0; i < N * C; i++) dinp[i] -= dinp0[i]; /* backward accumulates onto what was there */
    fd_check(c.inp, N * C, dinp, ln_fwd, &c, c.out, R, N * C, 1e-2f, 1e-3, 1e-2, "dinp");
    fd_check(c.w, C, dw, ln_fwd, &c, c.out, R, N * C, 1e-2f, 1e-3, 1e-2, "dweight");
    fd_check(c.b, C, db, ln_fwd, &c, c.out, R, N * C, 1e-2f, 1e-3, 1e-2, "dbias");
    free(c.out), free(c.mean), free(c.rstd), free(c.inp), free(c.w), free(c.b);
    free(R), free(dinp), free(dinp0), free(dw), free(db);
}

/* ------------------------------------------------------------ matmul */

typedef struct {
    float *out, *inp, *w;
    int N, C, OC;
} MmCtx;

static void mm_fwd(void *p) {
    MmCtx *c = p;
    matmul_forward(c->out, c->inp, c->w, c->N, c->C, c->OC);
}

static void test_matmul(void **state) {
    (void)state;
    const int N = 13, C = 7, OC = 11;
    MmCtx c = {zeros(N * OC), randu(N * C, -1, 1), randu(OC * C, -1, 1), N, C, OC};
    float *ref = zeros(N * OC);
    mm_fwd(&c);
    matmul_forward_ref(ref, c.inp, c.w, N, C, OC);
    assert_close_f(c.out, ref, N * OC, 1e-6, 1e-5, "matmul_forward");
    float *R = randu(N * OC, -1, 1), *dinp = randu(N * C, -1, 1), *dw = randu(OC * C, -1, 1);
    float *dinp_ref = bb_malloc(N * C * sizeof(float)), *dw_ref = bb_malloc(OC * C * sizeof(float));
    memcpy(dinp_ref, dinp, N * C * sizeof(float));
    memcpy(dw_ref, dw, OC * C * sizeof(float));
    matmul_backward(dinp, dw, R, c.inp, c.w, N, C, OC);
    matmul_backward_ref(dinp_ref, dw_ref, R, c.inp, c.w, N, C, OC);
    assert_close_f(dinp, dinp_ref, N * C, 1e-5, 1e-5, "matmul_backward dinp");
    assert_close_f(dw, dw_ref, OC * C, 1e-5, 1e-5, "matmul_backward dweight");
    /* finite differences (from zero gradients) */
    memset(dinp, 0, N * C * sizeof(float));
    memset(dw, 0, OC * C * sizeof(float));
    matmul_backward(dinp, dw, R, c.inp, c.w, N, C, OC);
    fd_check(c.inp, N * C, dinp, mm_fwd, &c, c.out, R, N * OC, 1e-2f, 1e-3, 1e-3, "dinp");
    fd_check(c.w, OC * C, dw, mm_fwd, &c, c.out, R, N * OC, 1e-2f, 1e-3, 1e-3, "dweight");
    free(c.out), free(c.inp), free(c.w), free(ref), free(R), free(dinp), free(dw), free(dinp_ref), free(dw_ref);
}

/* ------------------------------------------------------------ elementwise */

typedef struct {
    float *out, *inp;
    size_t n;
} EwCtx;

static void relu_fwd(void *p) {
    EwCtx *c = p;
    relu_forward(c->out, c->inp, c->n);
}

static void test_relu_residual(void **state) {
    (void)state;
    const size_t n = 40;
    EwCtx c = {zeros(n), randu(n, 0.1, 1), n};
    for (size_t i = 0; i < n; i += 2) c.inp[i] = -c.inp[i]; /* |x| >= 0.1: no kink within eps */
    relu_fwd(&c);
    for (size_t i = 0; i < n; i++) assert_true(c.out[i] == (c.inp[i] > 0 ? c.inp[i] : 0.0f));
    float *R = randu(n, -1, 1), *dinp = zeros(n);
    relu_backward(dinp, R, c.inp, n);
    fd_check(c.inp, n, dinp, relu_fwd, &c, c.out, R, n, 1e-2f, 1e-4, 1e-3, "relu dinp");

    float *a = randu(n, -1, 1), *b = randu(n, -1, 1), *o = zeros(n), *da = randu(n, -1, 1), *db = zeros(n);
    residual_forward(o, a, b, n);
    for (size_t i = 0; i < n; i++) assert_true(o[i] == a[i] + b[i]);
    float da0 = da[3];
    residual_backward(da, db, R, n);
    assert_true(da[3] == da0 + R[3] && db[3] == R[3]);
    free(c.out), free(c.inp), free(R), free(dinp), free(a), free(b), free(o), free(da), free(db);
}

/* ------------------------------------------------------------ cross-entropy */

typedef struct {
    float *losses, *probs, *logits;
    int *targets;
    int N, V;
} CeCtx;

static void ce_fwd(void *p) {
    CeCtx *c = p;
    crossentropy_forward(c->losses, c->probs, c->logits, c->targets, c->N, c->V);
}

static void test_crossentropy(void **state) {
    (void)state;
    const int N = 5, V = 9;
    CeCtx c = {zeros(N), zeros(N * V), randu(N * V, -3, 3), bb_malloc(N * sizeof(int)), N, V};
    for (int n = 0; n < N; n++) c.targets[n] = (int)gsl_rng_uniform_int(g_rng, V);
    c.logits[2] = 80.0f; /* large logits must not overflow */
    ce_fwd(&c);
    for (int n = 0; n < N; n++) {
        double m = -INFINITY, z = 0;
        for (int v = 0; v < V; v++) m = fmax(m, c.logits[n * V + v]);
        for (int v = 0; v < V; v++) z += exp(c.logits[n * V + v] - m);
        for (int v = 0; v < V; v++) assert_close(c.probs[n * V + v], exp(c.logits[n * V + v] - m) / z, 1e-7, 1e-5);
        assert_close(c.losses[n], log(z) + m - c.logits[n * V + c.targets[n]], 1e-5, 1e-5);
    }
    /* no targets: probs only, losses untouched */
    float keep = c.losses[0];
    crossentropy_forward(c.losses, c.probs, c.logits, NULL, N, V);
    assert_true(c.losses[0] == keep);
    float *R = randu(N, 0.5, 1.5), *dl = zeros(N * V);
    /* f = sum_n R_n loss_n: per-row dloss; check one common dloss via R = const */
    for (int n = 0; n < N; n++) R[n] = 0.7f;
    crossentropy_backward(dl, c.probs, c.targets, 0.7f, N, V);
    fd_check(c.logits, N * V, dl, ce_fwd, &c, c.losses, R, N, 1e-2f, 1e-4, 1e-3, "dlogits");
    free(c.losses), free(c.probs), free(c.logits), free(c.targets), free(R), free(dl);
}

/* ------------------------------------------------------------ attention */

typedef struct {
    float *atty, *preatt, *att, *slot, *qkv, *keyslot;
    int B, T, C, H, kind;
} AttCtx;

static void att_fwd(void *p) {
    AttCtx *c = p;
    attention_forward(c->atty, c->preatt, c->att, c->slot, c->qkv, c->keyslot, NULL, c->B, c->T, c->C, c->H, c->kind);
}

/* the slot parameter's floats: keyslot (H,hs) = C, sink (H), else 0 */
static size_t slot_param_n(int kind, int C, int H) {
    return attn_kind_has_keyslot(kind) ? (size_t)C : attn_kind_has_sink(kind) ? (size_t)H : 0;
}
/* kinds with a kink at s = 0 (relu; softpick's relu and |.|) */
static int kind_has_kink(int k) { return k == ATTN_RELU || k == ATTN_SOFTPICK; }

static AttCtx att_make(int B, int T, int C, int H, int kind, int need_margin) {
    AttCtx c = {zeros((size_t)B * T * C), zeros((size_t)B * H * T * T), zeros((size_t)B * H * T * T),
                attn_kind_has_slot(kind) ? zeros((size_t)B * H * T) : NULL, NULL,
                slot_param_n(kind, C, H) ? randu(slot_param_n(kind, C, H), -1, 1) : NULL, B, T, C, H, kind};
    /* scores s_ij = q.k/sqrt(hs) ~ O(1); ReLU, softpick: resample until every visible score
     * is at least 0.005 away from the kink (the finite differences below move them by < 0.0015) */
    for (int tries = 0; tries < 1000; tries++) {
        free(c.qkv);
        c.qkv = randu((size_t)B * T * 3 * C, -1.2, 1.2);
        att_fwd(&c);
        if (!kind_has_kink(kind) || !need_margin) break;
        double closest = INFINITY;
        for (int bh = 0; bh < B * H; bh++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j <= i; j++) closest = fmin(closest, fabs(c.preatt[((size_t)bh * T + i) * T + j]));
        if (closest > 0.005) break;
        assert_true(tries < 999);
    }
    return c;
}

static void att_free(AttCtx *c) {
    free(c->atty), free(c->preatt), free(c->att), free(c->slot), free(c->qkv), free(c->keyslot);
}

/* forward vs the double-precision reference, with and without forced rows */
static void check_attention_forward(int B, int T, int C, int H, int kind) {
    AttCtx c = att_make(B, T, C, H, kind, 0);
    AttCtx r = att_make(B, T, C, H, kind, 0); /* buffers for the reference */
    memcpy(r.qkv, c.qkv, (size_t)B * T * 3 * C * sizeof(float));
    if (c.keyslot) memcpy(r.keyslot, c.keyslot, slot_param_n(kind, C, H) * sizeof(float));
    /* garbage in the outputs must not leak (masked entries are written) */
    for (size_t i = 0; i < (size_t)B * H * T * T; i++) c.preatt[i] = c.att[i] = NAN;
    att_fwd(&c);
    attention_forward_ref(r.atty, r.preatt, r.att, r.slot, r.qkv, r.keyslot, NULL, B, T, C, H, kind);
    char what[64];
    snprintf(what, sizeof what, "%s T=%d preatt", attn_kind_names[kind], T);
    assert_close_f(c.preatt, r.preatt, (size_t)B * H * T * T, 1e-5, 1e-4, what);
    snprintf(what, sizeof what, "%s T=%d att", attn_kind_names[kind], T);
    assert_close_f(c.att, r.att, (size_t)B * H * T * T, 1e-6, 1e-4, what);
    snprintf(what, sizeof what, "%s T=%d atty", attn_kind_names[kind], T);
    assert_close_f(c.atty, r.atty, (size_t)B * T * C, 1e-5, 1e-4, what);
    if (c.slot) assert_close_f(c.slot, r.slot, (size_t)B * H * T, 1e-6, 1e-4, "att_slot");
    /* masked part: exact zeros */
    for (int bh = 0; bh < B * H; bh++)
        for (int i = 0; i < T; i++)
            for (int j = i + 1; j < T; j++) {
                size_t at = ((size_t)bh * T + i) * T + j;
                assert_true(c.att[at] == 0.0f && c.preatt[at] == 0.0f);
            }
    /* forced rows: head 0 one-hot on key (i/2), head 1 free */
    int *keys = bb_malloc((size_t)B * T * sizeof(int));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) keys[b * T + i] = i / 2;
    const int *force[2] = {keys, NULL};
    attention_forward(c.atty, c.preatt, c.att, c.slot, c.qkv, c.keyslot, force, B, T, C, H, kind);
    attention_forward_ref(r.atty, r.preatt, r.att, r.slot, r.qkv, r.keyslot, force, B, T, C, H, kind);
    assert_close_f(c.atty, r.atty, (size_t)B * T * C, 1e-5, 1e-4, "forced atty");
    assert_close_f(c.att, r.att, (size_t)B * H * T * T, 1e-6, 1e-4, "forced att");
    const int hs = C / H;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const float *a = c.att + (((size_t)b * H + 0) * T + i) * T;
            for (int j = 0; j < T; j++) assert_true(a[j] == (j == i / 2 ? 1.0f : 0.0f));
            /* head 0's output is exactly v at key i/2 */
            for (int e = 0; e < hs; e++)
                assert_true(c.atty[((size_t)b * T + i) * C + e] == c.qkv[((size_t)b * T + i / 2) * 3 * C + 2 * C + e]);
        }
    free(keys);
    att_free(&c);
    att_free(&r);
}

static void test_attention_forward(void **state) {
    (void)state;
    for (int kind = 0; kind < ATTN_NKINDS; kind++) {
        check_attention_forward(2, 7, 8, 2, kind);
        check_attention_forward(1, 150, 8, 2, kind); /* several row blocks, a ragged last one */
    }
}

/* backward vs the reference and vs finite differences */
static void check_attention_backward(int B, int T, int C, int H, int kind, int do_fd) {
    AttCtx c = att_make(B, T, C, H, kind, do_fd);
    const size_t nqkv = (size_t)B * T * 3 * C, ny = (size_t)B * T * C;
    float *R = randu(ny, -1, 1), *dqkv = zeros(nqkv), *dks = zeros(C), *dqkv_ref = zeros(nqkv), *dks_ref = zeros(C);
    float *scratch = zeros((size_t)T * T);
    attention_backward(dqkv, dks, scratch, R, c.qkv, c.keyslot, c.preatt, c.att, c.slot, B, T, C, H, kind);
    attention_backward_ref(dqkv_ref, dks_ref, R, c.qkv, c.keyslot, c.preatt, c.att, c.slot, B, T, C, H, kind);
    char what[64];
    snprintf(what, sizeof what, "%s T=%d dqkv vs ref", attn_kind_names[kind], T);
    assert_close_f(dqkv, dqkv_ref, nqkv, 1e-5, 1e-4, what);
    const size_t nslot = slot_param_n(kind, C, H);
    if (c.keyslot) assert_close_f(dks, dks_ref, nslot, 1e-5, 1e-4, "dslotp vs ref");
    if (do_fd) {
        snprintf(what, sizeof what, "%s dqkv vs finite differences", attn_kind_names[kind]);
        fd_check(c.qkv, nqkv, dqkv, att_fwd, &c, c.atty, R, ny, kind_has_kink(kind) ? 2e-3f : 1e-2f, 1e-3, 1e-2,
                 what);
        if (c.keyslot) fd_check(c.keyslot, nslot, dks, att_fwd, &c, c.atty, R, ny, 1e-2f, 1e-3, 1e-2, "dslotp vs fd");
    }
    free(R), free(dqkv), free(dks), free(dqkv_ref), free(dks_ref), free(scratch);
    att_free(&c);
}

static void test_attention_backward(void **state) {
    (void)state;
    for (int kind = 0; kind < ATTN_NKINDS; kind++) {
        check_attention_backward(2, 6, 8, 2, kind, 1);
        check_attention_backward(1, 150, 8, 2, kind, 0);
    }
}

/* softmax-sink's limits: S_h = 0 is softmax1 bit for bit, S_h = -80 is softmax (the slot's
 * weight exp(-80) / ... is below float resolution of every row) */
static void test_softmax_sink_limits(void **state) {
    (void)state;
    const int B = 2, T = 9, C = 8, H = 2;
    AttCtx s = att_make(B, T, C, H, ATTN_SOFTMAX_SINK, 0), o = att_make(B, T, C, H, ATTN_SOFTMAX1, 0);
    memcpy(o.qkv, s.qkv, (size_t)B * T * 3 * C * sizeof(float));
    for (int h = 0; h < H; h++) s.keyslot[h] = 0.0f;
    att_fwd(&s), att_fwd(&o);
    assert_memory_equal(s.att, o.att, (size_t)B * H * T * T * sizeof(float));
    assert_memory_equal(s.slot, o.slot, (size_t)B * H * T * sizeof(float));
    AttCtx m = att_make(B, T, C, H, ATTN_SOFTMAX, 0);
    memcpy(m.qkv, s.qkv, (size_t)B * T * 3 * C * sizeof(float));
    for (int h = 0; h < H; h++) s.keyslot[h] = -80.0f;
    att_fwd(&s), att_fwd(&m);
    assert_close_f(s.att, m.att, (size_t)B * H * T * T, 0, 1e-6, "softmax-sink at S_h = -80 vs softmax");
    att_free(&s), att_free(&o), att_free(&m);
}

/* softpick: a row whose scores are all <= 0 has weights 0 and gradient 0; row 0 is 1 when
 * s_00 > 0 (up to eps) */
static void test_softpick_rows(void **state) {
    (void)state;
    const int B = 1, T = 5, C = 4, H = 1;
    AttCtx c = att_make(B, T, C, H, ATTN_SOFTPICK, 0);
    /* q = -k at every position with k = v = 1: s_ij = -hs/sqrt(hs) < 0 everywhere, but s_00 */
    for (int i = 0; i < T; i++)
        for (int e = 0; e < C; e++) {
            c.qkv[(size_t)i * 3 * C + e] = i == 0 ? 1.0f : -1.0f;
            c.qkv[(size_t)i * 3 * C + C + e] = 1.0f;
            c.qkv[(size_t)i * 3 * C + 2 * C + e] = 1.0f;
        }
    att_fwd(&c);
    assert_true(fabsf(c.att[0] - 1.0f) < 1e-6f); /* s_00 = +2: a_00 = 1 */
    for (int i = 1; i < T; i++)
        for (int j = 0; j <= i; j++) assert_true(c.att[(size_t)i * T + j] == 0.0f);
    float *R = randu((size_t)T * C, -1, 1), *dqkv = zeros((size_t)T * 3 * C), *scratch = zeros((size_t)T * T);
    attention_backward(dqkv, NULL, scratch, R, c.qkv, NULL, c.preatt, c.att, c.slot, B, T, C, H, ATTN_SOFTPICK);
    for (int i = 1; i < T; i++) /* the empty rows' queries get no gradient */
        for (int e = 0; e < C; e++) assert_true(dqkv[(size_t)i * 3 * C + e] == 0.0f);
    free(R), free(dqkv), free(scratch);
    att_free(&c);
}

/* ------------------------------------------------------------ the output gate */

typedef struct {
    float *out, *gate, *y, *u, *w, *b;
    int N, C, G;
} GateCtx;

static void gate_fwd(void *p) {
    GateCtx *c = p;
    gate_forward(c->out, c->gate, c->y, c->u, c->w, c->b, c->N, c->C, c->G);
}

static void check_gate(int N, int C, int G) {
    GateCtx c = {zeros((size_t)N * C), zeros((size_t)N * G), randu((size_t)N * C, -1, 1), randu((size_t)N * C, -1.5, 1.5),
                 randu((size_t)G * C, -0.5, 0.5), randu(G, -1, 1), N, C, G};
    float *out_ref = zeros((size_t)N * C), *gate_ref = zeros((size_t)N * G);
    gate_fwd(&c);
    gate_forward_ref(out_ref, gate_ref, c.y, c.u, c.w, c.b, N, C, G);
    char what[64];
    snprintf(what, sizeof what, "gate G=%d out vs ref", G);
    assert_close_f(c.out, out_ref, (size_t)N * C, 1e-6, 1e-5, what);
    assert_close_f(c.gate, gate_ref, (size_t)N * G, 1e-6, 1e-5, "gate values vs ref");
    float *R = randu((size_t)N * C, -1, 1), *dy = zeros((size_t)N * C), *du = zeros((size_t)N * C),
          *dw = zeros((size_t)G * C), *db = zeros(G), *dz = zeros((size_t)N * G);
    gate_backward(dy, du, dw, db, dz, R, c.y, c.gate, c.u, c.w, N, C, G);
    snprintf(what, sizeof what, "gate G=%d dy vs fd", G);
    fd_check(c.y, (size_t)N * C, dy, gate_fwd, &c, c.out, R, (size_t)N * C, 1e-2f, 1e-3, 1e-2, what);
    fd_check(c.u, (size_t)N * C, du, gate_fwd, &c, c.out, R, (size_t)N * C, 1e-2f, 1e-3, 1e-2, "gate du vs fd");
    fd_check(c.w, (size_t)G * C, dw, gate_fwd, &c, c.out, R, (size_t)N * C, 1e-2f, 1e-3, 1e-2, "gate dwgate vs fd");
    fd_check(c.b, G, db, gate_fwd, &c, c.out, R, (size_t)N * C, 1e-2f, 1e-3, 1e-2, "gate dbgate vs fd");
    free(c.out), free(c.gate), free(c.y), free(c.u), free(c.w), free(c.b), free(out_ref), free(gate_ref);
    free(R), free(dy), free(du), free(dw), free(db), free(dz);
}

static void test_gate(void **state) {
    (void)state;
    check_gate(6, 8, 2); /* gated-head: 2 heads of 4 channels */
    check_gate(6, 8, 8); /* gated-elem */
}

/* a kernel bug the checks above must catch: the reference and finite differences disagree
 * with a gradient that drops the softmax's normalisation term */
static void test_fd_detects_wrong_gradient(void **state) {
    (void)state;
    const int N = 4, C = 6;
    LnCtx c = {zeros(N * C), zeros(N), zeros(N), randu(N * C, -2, 2), randu(C, 0.5, 1.5), randu(C, -1, 1), N, C};
    ln_fwd(&c);
    float *R = randu(N * C, -1, 1), *dinp = zeros(N * C), *dw = zeros(C), *db = zeros(C);
    layernorm_backward(dinp, dw, db, R, c.inp, c.w, c.mean, c.rstd, N, C);
    /* recompute finite differences by hand and confirm a 5% error exceeds the tolerance */
    double worst_rel_ok = 0;
    int caught = 1;
    for (int i = 0; i < N * C; i++) {
        const float x0 = c.inp[i], eps = 1e-2f;
        c.inp[i] = x0 + eps;
        ln_fwd(&c);
        double fp = objective(c.out, R, N * C);
        c.inp[i] = x0 - eps;
        ln_fwd(&c);
        double fm = objective(c.out, R, N * C);
        c.inp[i] = x0;
        double fd = (fp - fm) / ((double)(x0 + eps) - (double)(x0 - eps)), tol = 1e-3 + 1e-2 * fabs(fd);
        worst_rel_ok = fmax(worst_rel_ok, fabs(dinp[i] - fd) - tol);
        if (fabs(fd) > 0.1 && fabs(1.05 * dinp[i] - fd) <= tol) caught = 0;
    }
    assert_true(worst_rel_ok <= 0); /* the correct gradient passes */
    assert_true(caught);            /* every 5% corruption of a sizeable entry fails */
    free(c.out), free(c.mean), free(c.rstd), free(c.inp), free(c.w), free(c.b), free(R), free(dinp), free(dw), free(db);
}

int main(void) {
    g_rng = bb_rng_alloc(12345);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_exp),          cmocka_unit_test(test_encoder),          cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_matmul),           cmocka_unit_test(test_relu_residual),
        cmocka_unit_test(test_crossentropy),     cmocka_unit_test(test_attention_forward),
        cmocka_unit_test(test_attention_backward), cmocka_unit_test(test_softmax_sink_limits),
        cmocka_unit_test(test_softpick_rows),    cmocka_unit_test(test_gate),
        cmocka_unit_test(test_fd_detects_wrong_gradient),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gsl_rng_free(g_rng);
    return rc;
}
