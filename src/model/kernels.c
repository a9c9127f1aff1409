/* The transformer's kernels (see kernels.h): forward/backward pairs, heavy products
 * through CBLAS sgemm, elementwise passes fused and over contiguous memory; then the
 * plain-loop references (`*_ref`) the tests hold the fast kernels to. */
#include "bbsim/kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <gsl/gsl_cblas.h>
#include "bbsim/common.h" /* BB_CHECK */

/* ------------------------------------------------------------ attention kinds */

#define BB_ATTN_NAME(id, name, normalised, slot, gate) name,
const char *const attn_kind_names[] = {BB_ATTN_KINDS(BB_ATTN_NAME) NULL};

#define BB_ATTN_COLUMNS(id, name, normalised, slot, gate) {normalised, ATTN_SLOT_##slot, ATTN_GATE_##gate},
static const struct {
    int normalised;
    AttnSlot slot;
    AttnGate gate;
} attn_kinds[ATTN_NKINDS] = {BB_ATTN_KINDS(BB_ATTN_COLUMNS)};

int attn_kind_normalised(int kind) {
    BB_CHECK(kind >= 0 && kind < ATTN_NKINDS);
    return attn_kinds[kind].normalised;
}

static AttnSlot attn_kind_slot(int kind) {
    BB_CHECK(kind >= 0 && kind < ATTN_NKINDS);
    return attn_kinds[kind].slot;
}

int attn_kind_has_slot(int kind) { return attn_kind_slot(kind) != ATTN_SLOT_NONE; }
int attn_kind_has_keyslot(int kind) { return attn_kind_slot(kind) == ATTN_SLOT_KEY; }
int attn_kind_has_sink(int kind) { return attn_kind_slot(kind) == ATTN_SLOT_SINK; }

int attn_gate_width(int kind, int C, int H) {
    BB_CHECK(kind >= 0 && kind < ATTN_NKINDS);
    return attn_kinds[kind].gate == ATTN_GATE_HEAD ? H : attn_kinds[kind].gate == ATTN_GATE_ELEM ? C : 0;
}

/* ------------------------------------------------------------ embedding */

void encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C) {
    // out (B,T,C), inp (B,T), wte (V,C), wpe (maxT,C)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *e = wte + (size_t)inp[b * T + t] * C, *p = wpe + (size_t)t * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
        }
}

void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T, int C) {
    // dwte (V,C), dwpe (maxT,C), dout (B,T,C), inp (B,T)
    // forward: o[c] = e[c] + p[c]
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *de = dwte + (size_t)inp[b * T + t] * C, *dp = dwpe + (size_t)t * C;
            for (int c = 0; c < C; c++) {
                de[c] += d[c];
                dp[c] += d[c];
            }
        }
}

/* ------------------------------------------------------------ row helpers */

/* Row reductions keep LANES independent partial sums, added in a fixed order at the end:
 * the compiler vectorises them without reassociating (strict IEEE, no -ffast-math), and
 * the result is deterministic. */
#define LANES 16

static float lanes_total(const float *acc) {
    float s = 0.0f;
    for (int k = 0; k < LANES; k++) s += acc[k];
    return s;
}

static float row_sum(const float *x, int n) {
    float acc[LANES] = {0};
    int c = 0;
    for (; c + LANES <= n; c += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[c + k];
    for (int k = 0; c + k < n; k++) acc[k] += x[c + k];
    return lanes_total(acc);
}

static float row_max(const float *x, int n) {
    float acc[LANES];
    for (int k = 0; k < LANES; k++) acc[k] = -INFINITY;
    int c = 0;
    for (; c + LANES <= n; c += LANES)
        for (int k = 0; k < LANES; k++) acc[k] = x[c + k] > acc[k] ? x[c + k] : acc[k];
    for (int k = 0; c + k < n; k++) acc[k] = x[c + k] > acc[k] ? x[c + k] : acc[k];
    float m = acc[0];
    for (int k = 1; k < LANES; k++) m = acc[k] > m ? acc[k] : m;
    return m;
}

/* exp(x) in plain float arithmetic so that loops over it vectorise (glibc's expf does
 * not without -ffast-math): x = k ln2 + r, |r| <= ln2/2, exp(r) by its Taylor series to
 * r^7 (truncation < 1e-8 relative), times 2^k built in the exponent bits. Relative error
 * < 1e-7 on [-87, 88]; arguments outside are clamped (exp(-87) ~ 1.6e-38 stands for 0). */
static inline float exp_approx(float x) {
    x = x < -87.0f ? -87.0f : x; /* NaN passes through both and gives NaN */
    x = x > 88.0f ? 88.0f : x;
    /* k = round(x / ln2): adding 1.5 * 2^23 rounds to an integer (default rounding mode)
     * and leaves k in the low mantissa bits, so 2^k needs no float-to-int conversion */
    union {
        float f;
        uint32_t u;
    } shifted, two_k;
    shifted.f = x * 1.44269504f + 12582912.0f;
    const float k = shifted.f - 12582912.0f;
    const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f; /* ln2 in two parts */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    two_k.u = (shifted.u - 0x4B400000u + 127u) << 23; /* exponent field k + 127 in [1, 254] */
    return p * two_k.f;
}

static inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

void vec_exp(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = exp_approx(inp[i]);
}

/* out[j] = exp(x[j] - m) for j < n; returns their sum. */
static float exp_shifted(float *restrict out, const float *restrict x, int n, float m) {
    for (int j = 0; j < n; j++) out[j] = exp_approx(x[j] - m);
    return row_sum(out, n);
}

static float row_dot(const float *x, const float *y, int n) {
    float acc[LANES] = {0};
    int c = 0;
    for (; c + LANES <= n; c += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[c + k] * y[c + k];
    for (int k = 0; c + k < n; k++) acc[k] += x[c + k] * y[c + k];
    return lanes_total(acc);
}

/* ------------------------------------------------------------ layernorm */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C) {
    // out (N,C), mean (N), rstd (N), inp (N,C), weight (C), bias (C)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        const float m = row_sum(x, C) / (float)C;
        float acc2[LANES] = {0};
        int c = 0;
        for (; c + LANES <= C; c += LANES)
            for (int k = 0; k < LANES; k++) acc2[k] += (x[c + k] - m) * (x[c + k] - m);
        for (int k = 0; c + k < C; k++) acc2[k] += (x[c + k] - m) * (x[c + k] - m);
        const float v = lanes_total(acc2) / (float)C; /* biased variance */
        const float s = 1.0f / sqrtf(v + BB_LN_EPS);
        for (c = 0; c < C; c++) o[c] = (x[c] - m) * s * weight[c] + bias[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

void layernorm_backward(float *restrict dinp, float *restrict dweight, float *restrict dbias,
                        const float *restrict dout, const float *restrict inp, const float *restrict weight,
                        const float *restrict mean, const float *restrict rstd, int N, int C) {
    // dinp (N,C), dweight (C), dbias (C), dout (N,C), inp (N,C), weight (C), mean (N), rstd (N)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        const float m = mean[n], s = rstd[n];
        /* forward: o[c] = (x[c] - m) * s * weight[c] + bias[c], with norm = (x - m) s;
         * dnorm = weight * dout; dx = s (dnorm - mean(dnorm) - norm mean(dnorm norm)) */
        float acc[LANES] = {0}, acc2[LANES] = {0};
        int c = 0;
        for (; c + LANES <= C; c += LANES)
            for (int k = 0; k < LANES; k++) {
                const float dnorm = weight[c + k] * d[c + k];
                acc[k] += dnorm;
                acc2[k] += dnorm * ((x[c + k] - m) * s);
            }
        for (int k = 0; c + k < C; k++) {
            const float dnorm = weight[c + k] * d[c + k];
            acc[k] += dnorm;
            acc2[k] += dnorm * ((x[c + k] - m) * s);
        }
        const float dnorm_mean = lanes_total(acc) / (float)C, dnorm_norm_mean = lanes_total(acc2) / (float)C;
        if (dweight) {
            for (c = 0; c < C; c++) {
                const float norm = (x[c] - m) * s, dnorm = weight[c] * d[c];
                dbias[c] += d[c];
                dweight[c] += norm * d[c];
                dx[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
            }
        } else { /* input gradient only */
            for (c = 0; c < C; c++) {
                const float norm = (x[c] - m) * s, dnorm = weight[c] * d[c];
                dx[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
            }
        }
    }
}

/* ------------------------------------------------------------ matmul */

void matmul_forward(float *out, const float *inp, const float *weight, int N, int C, int OC) {
    // out (N,OC), inp (N,C), weight (OC,C)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
}

void matmul_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                     int N, int C, int OC) {
    // dinp (N,C), dweight (OC,C), dout (N,OC), inp (N,C), weight (OC,C)
    // forward: out = inp weight^T
    // dinp += dout weight
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
    // dweight += dout^T inp (dweight NULL: not wanted)
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
}

/* ------------------------------------------------------------ elementwise */

void residual_forward(float *out, const float *inp1, const float *inp2, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp1[i] + inp2[i];
}

void residual_backward(float *dinp1, float *dinp2, const float *dout, size_t n) {
    // forward: out[i] = inp1[i] + inp2[i]
    for (size_t i = 0; i < n; i++) {
        dinp1[i] += dout[i];
        dinp2[i] += dout[i];
    }
}

void relu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    // forward: out[i] = inp[i] > 0 ? inp[i] : 0
    for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}

/* ------------------------------------------------------------ attention */

/* Queries are processed in row blocks [r0, r1) against keys [0, r1): the causal
 * lower triangle plus slivers, instead of the dense T x T products. Blocks of ~T/4 rows
 * (a multiple of 16) measured fastest (T 64: 16, T 256: 64). */
static int att_block(int T) {
    int b = (T / 4 + 15) / 16 * 16;
    return b < 16 ? 16 : b;
}

static int imin(int a, int b) { return a < b ? a : b; }

/* softpick's shifted numerators p[j] = e^(s_j - m) - e^-m (j <= i); returns
 * D = sum_j |p_j| + eps. All scores <= 0 give p <= 0 (an empty row); m < -87 may give
 * D = inf (exp_approx clamps), and still weights 0, never NaN. */
static float softpick_shifted(float *p, const float *s, int i, float m) {
    const float c = exp_approx(-m);
    exp_shifted(p, s, i + 1, m);
    float D = 0.0f;
    for (int j = 0; j <= i; j++) {
        p[j] -= c;
        D += fabsf(p[j]);
    }
    return D + BB_SOFTPICK_EPS;
}

/* One query row: weights a[0..T) from scores s[0..T) (row i sees keys 0..i). Masked
 * scores are set to 0 so preatt holds no stale values. slot_logit: the key slot's score
 * (softmax-keybias: q_i.k_s/sqrt(hs); softmax1: 0; softmax-sink: S_h). force >= 0:
 * one-hot on that key. The gated kinds' rows are softmax's. */
static void attn_row_forward(float *a, float *slot, float *s, int i, int T, int kind, float slot_logit,
                             int force) {
    for (int j = i + 1; j < T; j++) s[j] = a[j] = 0.0f;
    if (slot) *slot = 0.0f;
    if (force >= 0) {
        for (int j = 0; j <= i; j++) a[j] = 0.0f;
        a[force] = 1.0f;
        return;
    }
    switch (kind) {
    case ATTN_SOFTMAX:
    case ATTN_SOFTMAX_KEYBIAS:
    case ATTN_SOFTMAX1:
    case ATTN_SOFTMAX_SINK:
    case ATTN_GATED_HEAD:
    case ATTN_GATED_ELEM: {
        // a_ij = exp(s_ij) / (sum_j' exp(s_ij') [+ exp(slot_logit)])
        const int has_slot = attn_kind_has_slot(kind);
        float m = row_max(s, i + 1);
        m = has_slot && slot_logit > m ? slot_logit : m;
        float sum = exp_shifted(a, s, i + 1, m);
        const float es = has_slot ? exp_approx(slot_logit - m) : 0.0f;
        sum += es;
        const float inv = 1.0f / sum;
        for (int j = 0; j <= i; j++) a[j] *= inv;
        if (slot) *slot = es * inv;
        break;
    }
    case ATTN_RELU: {
        // a_ij = relu(s_ij) / (i+1), no renormalisation
        const float n = (float)(i + 1);
        for (int j = 0; j <= i; j++) a[j] = s[j] > 0.0f ? s[j] / n : 0.0f;
        break;
    }
    case ATTN_SIGMOID:
        // a_ij = sigmoid(s_ij), no normalisation
        for (int j = 0; j <= i; j++) a[j] = sigmoid_approx(s[j]);
        break;
    case ATTN_SIGMOID_NORM: {
        // a_ij = sigmoid(s_ij) / sum_j' sigmoid(s_ij')
        for (int j = 0; j <= i; j++) a[j] = sigmoid_approx(s[j]);
        const float inv = 1.0f / row_sum(a, i + 1);
        for (int j = 0; j <= i; j++) a[j] *= inv;
        break;
    }
    case ATTN_SOFTPICK: {
        // a_ij = relu(e^s_ij - 1) / (sum_j' |e^s_ij' - 1| + eps), shifted by m = max_j s_ij:
        // p_j = e^(s_ij - m) - e^-m, a_ij = max(p_j, 0) / D, D = sum_j' |p_j'| + eps
        const float m = row_max(s, i + 1), D = softpick_shifted(a, s, i, m), inv = 1.0f / D;
        for (int j = 0; j <= i; j++) a[j] = a[j] > 0.0f ? a[j] * inv : 0.0f;
        break;
    }
    }
}

/* One query row backward: ds[0..T) holds dL/da on entry, dL/ds on exit (0 for j > i).
 * Returns dL/d(slot logit) (softmax-keybias; the slot's value is 0 so dL/da_slot = 0). */
static float attn_row_backward(float *ds, const float *a, const float *s, float a_slot, int i, int T,
                               int kind) {
    for (int j = i + 1; j < T; j++) ds[j] = 0.0f;
    float dslot = 0.0f;
    switch (kind) {
    case ATTN_SOFTMAX:
    case ATTN_SOFTMAX_KEYBIAS:
    case ATTN_SOFTMAX1:
    case ATTN_SOFTMAX_SINK:
    case ATTN_GATED_HEAD:
    case ATTN_GATED_ELEM: {
        // forward: a_ij = exp(s_ij) / (sum_j' exp(s_ij') [+ exp(slot_logit)])
        // ds_ij = a_ij (da_ij - sum_j' a_ij' da_ij'); the slot has da = 0
        const float dot = row_dot(a, ds, i + 1);
        for (int j = 0; j <= i; j++) ds[j] = a[j] * (ds[j] - dot);
        dslot = -a_slot * dot;
        break;
    }
    case ATTN_RELU: {
        // forward: a_ij = relu(s_ij) / (i+1)
        const float n = (float)(i + 1);
        for (int j = 0; j <= i; j++) ds[j] = s[j] > 0.0f ? ds[j] / n : 0.0f;
        break;
    }
    case ATTN_SIGMOID:
        // forward: a_ij = sigmoid(s_ij)
        for (int j = 0; j <= i; j++) ds[j] *= a[j] * (1.0f - a[j]);
        break;
    case ATTN_SIGMOID_NORM: {
        // forward: a_ij = g_ij / G_i, g = sigmoid(s), G_i = sum_j' g_ij'
        // dg_ij = (da_ij - sum_j' a_ij' da_ij') / G_i; ds_ij = dg_ij g_ij (1 - g_ij)
        /* G_i as in the forward: g_ij = a_ij G_i, G_i = sum of the recomputed sigmoids */
        const float dot = row_dot(a, ds, i + 1);
        float G = 0.0f;
        for (int j = 0; j <= i; j++) G += sigmoid_approx(s[j]);
        const float inv = 1.0f / G;
        for (int j = 0; j <= i; j++) {
            const float g = sigmoid_approx(s[j]);
            ds[j] = (ds[j] - dot) * inv * g * (1.0f - g);
        }
        break;
    }
    case ATTN_SOFTPICK: {
        // forward: a_ij = max(p_j, 0) / D, p_j = e^(s_ij - m) - e^-m, D = sum_j' |p_j'| + eps
        // ds_k = (u_k / D) ([p_k > 0] da_k - sgn(p_k) dot), u_k = e^(s_ik - m), dot = sum_j a_ij da_ij
        // (the kinks at p = 0 get derivative 0); p, m and D recomputed as in the forward
        const float dot = row_dot(a, ds, i + 1), m = row_max(s, i + 1), c = exp_approx(-m);
        float D = 0.0f;
        for (int j = 0; j <= i; j++) D += fabsf(exp_approx(s[j] - m) - c);
        const float inv = 1.0f / (D + BB_SOFTPICK_EPS);
        for (int j = 0; j <= i; j++) {
            const float u = exp_approx(s[j] - m), pj = u - c;
            ds[j] = pj > 0.0f ? u * inv * (ds[j] - dot) : pj < 0.0f ? u * inv * dot : 0.0f;
        }
        break;
    }
    }
    return dslot;
}

void attention_forward(float *atty, float *preatt, float *att, float *att_slot, const float *qkv,
                       const float *slotp, const int *const *force_key, int B, int T, int C, int H,
                       int attn_kind) {
    // atty (B,T,C), preatt (B,H,T,T), att (B,H,T,T), att_slot (B,H,T), qkv (B,T,3C),
    // slotp: keyslot (H,hs) or sink (H)
    const int hs = C / H, C3 = 3 * C, bs = att_block(T);
    const float scale = 1.0f / sqrtf((float)hs);
    const int key_slot = attn_kind_has_keyslot(attn_kind), sink = attn_kind_has_sink(attn_kind);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
            float *S = preatt + ((size_t)b * H + h) * T * T, *A = att + ((size_t)b * H + h) * T * T;
            float *slot = att_slot ? att_slot + ((size_t)b * H + h) * T : NULL;
            float *y = atty + (size_t)b * T * C + h * hs;
            const int *force = force_key && force_key[h] ? force_key[h] + (size_t)b * T : NULL;
            // s_ij = q_i . k_j / sqrt(hs)
            for (int r0 = 0; r0 < T; r0 += bs) {
                int r1 = imin(T, r0 + bs);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, scale, q + (size_t)r0 * C3,
                            C3, k, C3, 0.0f, S + (size_t)r0 * T, T);
            }
            // a_i. = act(s_i.) over j <= i
            for (int i = 0; i < T; i++) {
                float sl = 0.0f;
                if (key_slot) {
                    // slot logit = q_i . k_s / sqrt(hs)
                    const float *qi = q + (size_t)i * C3, *ks = slotp + h * hs;
                    for (int d = 0; d < hs; d++) sl += qi[d] * ks[d];
                    sl *= scale;
                }
                if (sink) sl = slotp[h]; // slot logit = S_h
                attn_row_forward(A + (size_t)i * T, slot ? slot + i : NULL, S + (size_t)i * T, i, T, attn_kind,
                                 sl, force ? force[i] : -1);
            }
            // y_i = sum_j a_ij v_j
            for (int r0 = 0; r0 < T; r0 += bs) {
                int r1 = imin(T, r0 + bs);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1.0f, A + (size_t)r0 * T, T,
                            v, C3, 0.0f, y + (size_t)r0 * C, C);
            }
        }
}

void attention_backward(float *dqkv, float *dslotp, float *scratch, const float *datty, const float *qkv,
                        const float *slotp, const float *preatt, const float *att, const float *att_slot,
                        int B, int T, int C, int H, int attn_kind) {
    // dqkv (B,T,3C), dslotp (as slotp), scratch (T,T), datty (B,T,C), qkv (B,T,3C),
    // slotp: keyslot (H,hs) or sink (H), preatt (B,H,T,T), att (B,H,T,T), att_slot (B,H,T)
    const int hs = C / H, C3 = 3 * C, bs = att_block(T);
    const float scale = 1.0f / sqrtf((float)hs);
    const int key_slot = attn_kind_has_keyslot(attn_kind), sink = attn_kind_has_sink(attn_kind);
    float *dA = scratch; /* dL/da, then dL/ds, of one (b, h) */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + (size_t)b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
            const float *S = preatt + ((size_t)b * H + h) * T * T, *A = att + ((size_t)b * H + h) * T * T;
            const float *slot = att_slot ? att_slot + ((size_t)b * H + h) * T : NULL;
            const float *dy = datty + (size_t)b * T * C + h * hs;
            for (int r0 = 0; r0 < T; r0 += bs) {
                int r1 = imin(T, r0 + bs);
                // forward: y_i = sum_j a_ij v_j
                // da_ij = dy_i . v_j
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, 1.0f, dy + (size_t)r0 * C, C,
                            v, C3, 0.0f, dA + (size_t)r0 * T, T);
                // dv_j += sum_i a_ij dy_i
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, r1 - r0, 1.0f, A + (size_t)r0 * T, T,
                            dy + (size_t)r0 * C, C, 1.0f, dv, C3);
            }
            // forward: a_i. = act(s_i.)
            for (int i = 0; i < T; i++) {
                float dsl = attn_row_backward(dA + (size_t)i * T, A + (size_t)i * T, S + (size_t)i * T,
                                              slot ? slot[i] : 0.0f, i, T, attn_kind);
                if (key_slot) {
                    // forward: slot logit = q_i . k_s / sqrt(hs)
                    const float *qi = q + (size_t)i * C3, *ks = slotp + h * hs;
                    float *dqi = dq + (size_t)i * C3, *dks = dslotp + h * hs;
                    for (int d = 0; d < hs; d++) {
                        dqi[d] += scale * dsl * ks[d];
                        dks[d] += scale * dsl * qi[d];
                    }
                }
                // forward: slot logit = S_h
                if (sink && dslotp) dslotp[h] += dsl;
            }
            for (int r0 = 0; r0 < T; r0 += bs) {
                int r1 = imin(T, r0 + bs);
                // forward: s_ij = q_i . k_j / sqrt(hs)
                // dq_i += sum_j ds_ij k_j / sqrt(hs)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, scale, dA + (size_t)r0 * T,
                            T, k, C3, 1.0f, dq + (size_t)r0 * C3, C3);
                // dk_j += sum_i ds_ij q_i / sqrt(hs)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, r1 - r0, scale, dA + (size_t)r0 * T, T,
                            q + (size_t)r0 * C3, C3, 1.0f, dk, C3);
            }
        }
}

/* ------------------------------------------------------------ the output gate */

void gate_forward(float *out, float *gate, const float *y, const float *u, const float *wgate, const float *bgate,
                  int N, int C, int G) {
    // out (N,C), gate (N,G), y (N,C), u (N,C), wgate (G,C), bgate (G)
    const int per = C / G; /* channels per gate: hs (gated-head) or 1 (gated-elem) */
    // z = u wgate^T + bgate; g = sigmoid(z)
    matmul_forward(gate, u, wgate, N, C, G);
    for (int n = 0; n < N; n++) {
        float *g = gate + (size_t)n * G;
        for (int k = 0; k < G; k++) g[k] = sigmoid_approx(g[k] + bgate[k]);
        // out = y * g (each gate over its channels)
        const float *yn = y + (size_t)n * C;
        float *on = out + (size_t)n * C;
        for (int c = 0; c < C; c++) on[c] = yn[c] * g[c / per];
    }
}

void gate_backward(float *dy, float *du, float *dwgate, float *dbgate, float *dz, const float *dout,
                   const float *y, const float *gate, const float *u, const float *wgate, int N, int C, int G) {
    // dy (N,C), du (N,C), dwgate (G,C), dbgate (G), dz (N,G), dout (N,C), y (N,C), gate (N,G), u (N,C)
    const int per = C / G;
    for (int n = 0; n < N; n++) {
        const float *g = gate + (size_t)n * G, *don = dout + (size_t)n * C, *yn = y + (size_t)n * C;
        float *dyn = dy + (size_t)n * C, *dzn = dz + (size_t)n * G;
        // forward: out[c] = y[c] g[c/per]
        // dy[c] += dout[c] g[c/per]; dg[k] = sum_{c in gate k} dout[c] y[c]
        for (int k = 0; k < G; k++) dzn[k] = 0.0f;
        for (int c = 0; c < C; c++) {
            dyn[c] += don[c] * g[c / per];
            dzn[c / per] += don[c] * yn[c];
        }
        // forward: g = sigmoid(z); dz = dg g (1 - g)
        for (int k = 0; k < G; k++) dzn[k] *= g[k] * (1.0f - g[k]);
    }
    // forward: z = u wgate^T + bgate
    if (dbgate)
        for (int n = 0; n < N; n++)
            for (int k = 0; k < G; k++) dbgate[k] += dz[(size_t)n * G + k];
    matmul_backward(du, dwgate, dz, u, wgate, N, C, G);
}

/* ------------------------------------------------------------ cross-entropy */

void crossentropy_forward(float *losses, float *probs, const float *logits, const int *targets, int N, int V) {
    // losses (N), probs (N,V), logits (N,V), targets (N) or NULL
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        const float m = row_max(z, V), sum = exp_shifted(p, z, V, m), inv = 1.0f / sum;
        for (int v = 0; v < V; v++) p[v] *= inv;
        // loss = log sum_v exp(z_v) - z_target
        if (targets) losses[n] = logf(sum) - (z[targets[n]] - m);
    }
}

void crossentropy_backward(float *dlogits, const float *probs, const int *targets, float dloss, int N, int V) {
    // dlogits (N,V), probs (N,V), targets (N)
    // forward: loss = log sum_v exp(z_v) - z_target
    for (int n = 0; n < N; n++) {
        const float *p = probs + (size_t)n * V;
        float *dz = dlogits + (size_t)n * V;
        for (int v = 0; v < V; v++) dz[v] += dloss * (p[v] - (v == targets[n] ? 1.0f : 0.0f));
    }
}

/* ------------------------------------------------------------ plain-loop references */

void matmul_forward_ref(float *out, const float *inp, const float *weight, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double acc = 0.0;
            for (int c = 0; c < C; c++) acc += (double)inp[(size_t)n * C + c] * weight[(size_t)o * C + c];
            out[(size_t)n * OC + o] = (float)acc;
        }
}

void matmul_backward_ref(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double acc = 0.0;
            for (int o = 0; o < OC; o++) acc += (double)dout[(size_t)n * OC + o] * weight[(size_t)o * C + c];
            dinp[(size_t)n * C + c] += (float)acc;
        }
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++) {
            double acc = 0.0;
            for (int n = 0; n < N; n++) acc += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c];
            dweight[(size_t)o * C + c] += (float)acc;
        }
}

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

void gate_forward_ref(float *out, float *gate, const float *y, const float *u, const float *wgate,
                      const float *bgate, int N, int C, int G) {
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < G; k++) {
            double z = bgate[k];
            for (int c = 0; c < C; c++) z += (double)u[(size_t)n * C + c] * wgate[(size_t)k * C + c];
            gate[(size_t)n * G + k] = (float)sigmoid_d(z);
        }
        for (int c = 0; c < C; c++)
            out[(size_t)n * C + c] = (float)((double)y[(size_t)n * C + c] * gate[(size_t)n * G + c / (C / G)]);
    }
}

/* The reference works in double, row by row, straight from the definitions. */
void attention_forward_ref(float *atty, float *preatt, float *att, float *att_slot, const float *qkv,
                           const float *slotp, const int *const *force_key, int B, int T, int C, int H,
                           int attn_kind) {
    const int hs = C / H, C3 = 3 * C;
    const double scale = 1.0 / sqrt((double)hs);
    const int key_slot = attn_kind_has_keyslot(attn_kind), sink = attn_kind_has_sink(attn_kind);
    double s[T + 1], a[T + 1];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const float *qi = qkv + ((size_t)b * T + i) * C3 + h * hs;
                size_t row = (((size_t)b * H + h) * T + i) * T;
                for (int j = 0; j <= i; j++) {
                    const float *kj = qkv + ((size_t)b * T + j) * C3 + C + h * hs;
                    double d = 0;
                    for (int e = 0; e < hs; e++) d += (double)qi[e] * kj[e];
                    s[j] = d * scale;
                }
                double sl = 0, aslot = 0; /* slot logit and weight */
                if (key_slot) {
                    for (int e = 0; e < hs; e++) sl += (double)qi[e] * slotp[h * hs + e];
                    sl *= scale;
                }
                if (sink) sl = slotp[h];
                int force = force_key && force_key[h] ? force_key[h][b * T + i] : -1;
                if (force >= 0) {
                    for (int j = 0; j <= i; j++) a[j] = j == force;
                } else if (attn_kind == ATTN_RELU) {
                    for (int j = 0; j <= i; j++) a[j] = (s[j] > 0 ? s[j] : 0) / (i + 1);
                } else if (attn_kind == ATTN_SIGMOID) {
                    for (int j = 0; j <= i; j++) a[j] = sigmoid_d(s[j]);
                } else if (attn_kind == ATTN_SIGMOID_NORM) {
                    double z = 0;
                    for (int j = 0; j <= i; j++) z += sigmoid_d(s[j]);
                    for (int j = 0; j <= i; j++) a[j] = sigmoid_d(s[j]) / z;
                } else if (attn_kind == ATTN_SOFTPICK) {
                    double m = s[0], z = BB_SOFTPICK_EPS;
                    for (int j = 1; j <= i; j++) m = s[j] > m ? s[j] : m;
                    for (int j = 0; j <= i; j++) z += fabs(exp(s[j] - m) - exp(-m));
                    for (int j = 0; j <= i; j++) a[j] = fmax(exp(s[j] - m) - exp(-m), 0.0) / z;
                } else {
                    double z = attn_kind_has_slot(attn_kind) ? exp(sl) : 0;
                    for (int j = 0; j <= i; j++) z += exp(s[j]);
                    for (int j = 0; j <= i; j++) a[j] = exp(s[j]) / z;
                    if (attn_kind_has_slot(attn_kind)) aslot = exp(sl) / z;
                }
                for (int j = 0; j < T; j++) {
                    preatt[row + j] = j <= i ? (float)s[j] : 0.0f;
                    att[row + j] = j <= i ? (float)a[j] : 0.0f;
                }
                if (att_slot) att_slot[((size_t)b * H + h) * T + i] = (float)aslot;
                for (int e = 0; e < hs; e++) {
                    double y = 0;
                    for (int j = 0; j <= i; j++) y += a[j] * qkv[((size_t)b * T + j) * C3 + 2 * C + h * hs + e];
                    atty[((size_t)b * T + i) * C + h * hs + e] = (float)y;
                }
            }
}

void attention_backward_ref(float *dqkv, float *dslotp, const float *datty, const float *qkv,
                            const float *slotp, const float *preatt, const float *att,
                            const float *att_slot, int B, int T, int C, int H, int attn_kind) {
    const int hs = C / H, C3 = 3 * C;
    const double scale = 1.0 / sqrt((double)hs);
    const int key_slot = attn_kind_has_keyslot(attn_kind), sink = attn_kind_has_sink(attn_kind);
    double da[T], ds[T];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                size_t row = (((size_t)b * H + h) * T + i) * T;
                const float *a = att + row, *s = preatt + row;
                const float *dyi = datty + ((size_t)b * T + i) * C + h * hs;
                const float *qi = qkv + ((size_t)b * T + i) * C3 + h * hs;
                double dot = 0;
                for (int j = 0; j <= i; j++) {
                    const float *vj = qkv + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    float *dvj = dqkv + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    double d = 0;
                    for (int e = 0; e < hs; e++) {
                        d += (double)dyi[e] * vj[e];
                        dvj[e] += (float)((double)a[j] * dyi[e]);
                    }
                    da[j] = d;
                    dot += (double)a[j] * d;
                }
                double dsl = 0;
                if (attn_kind == ATTN_RELU) {
                    for (int j = 0; j <= i; j++) ds[j] = s[j] > 0 ? da[j] / (i + 1) : 0;
                } else if (attn_kind == ATTN_SIGMOID) {
                    for (int j = 0; j <= i; j++) ds[j] = da[j] * a[j] * (1.0 - a[j]);
                } else if (attn_kind == ATTN_SIGMOID_NORM) {
                    double z = 0;
                    for (int j = 0; j <= i; j++) z += sigmoid_d(s[j]);
                    for (int j = 0; j <= i; j++) {
                        double g = sigmoid_d(s[j]);
                        ds[j] = g * (1 - g) * (da[j] - dot) / z;
                    }
                } else if (attn_kind == ATTN_SOFTPICK) {
                    double m = s[0], z = BB_SOFTPICK_EPS;
                    for (int j = 1; j <= i; j++) m = s[j] > m ? s[j] : m;
                    for (int j = 0; j <= i; j++) z += fabs(exp(s[j] - m) - exp(-m));
                    for (int j = 0; j <= i; j++) {
                        const double u = exp(s[j] - m), pj = u - exp(-m);
                        ds[j] = u / z * ((pj > 0 ? da[j] : 0) - (pj > 0 ? dot : pj < 0 ? -dot : 0));
                    }
                } else {
                    for (int j = 0; j <= i; j++) ds[j] = a[j] * (da[j] - dot);
                    if (att_slot) dsl = -(double)att_slot[((size_t)b * H + h) * T + i] * dot;
                }
                float *dqi = dqkv + ((size_t)b * T + i) * C3 + h * hs;
                for (int j = 0; j <= i; j++) {
                    const float *kj = qkv + ((size_t)b * T + j) * C3 + C + h * hs;
                    float *dkj = dqkv + ((size_t)b * T + j) * C3 + C + h * hs;
                    for (int e = 0; e < hs; e++) {
                        dqi[e] += (float)(ds[j] * scale * kj[e]);
                        dkj[e] += (float)(ds[j] * scale * qi[e]);
                    }
                }
                if (key_slot)
                    for (int e = 0; e < hs; e++) {
                        dqi[e] += (float)(dsl * scale * slotp[h * hs + e]);
                        dslotp[h * hs + e] += (float)(dsl * scale * qi[e]);
                    }
                if (sink && dslotp) dslotp[h] += (float)dsl;
            }
}

/* ------------------------------------------------------------ the sink removed */

void attention_remove_key0(float *atty, float *att, const float *preatt, const float *qkv, int h, int B, int T,
                           int C, int H) {
    // atty (B,T,C), att (B,H,T,T), preatt (B,H,T,T), qkv (B,T,3C); head h only
    const int hs = C / H, C3 = 3 * C;
    for (int b = 0; b < B; b++) {
        const size_t slab = ((size_t)b * H + h) * T * T;
        const float *S = preatt + slab;
        float *A = att + slab;
        // a_ij = exp(s_ij - max) / sum_{k=1..i} exp(s_ik - max) for 1 <= j <= i, a_i0 = 0
        for (int i = 1; i < T; i++) {
            const float *s = S + (size_t)i * T;
            float *a = A + (size_t)i * T;
            double mx = s[1], sum = 0.0;
            for (int k = 2; k <= i; k++) mx = s[k] > mx ? s[k] : mx;
            for (int k = 1; k <= i; k++) sum += exp((double)s[k] - mx);
            a[0] = 0.0f;
            for (int k = 1; k <= i; k++) a[k] = (float)(exp((double)s[k] - mx) / sum);
        }
        // y_i = sum_j a_ij v_j with the renormalised weights
        const float *v = qkv + (size_t)b * T * C3 + 2 * C + h * hs;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, A, T, v, C3, 0.0f,
                    atty + (size_t)b * T * C + h * hs, C);
    }
}
