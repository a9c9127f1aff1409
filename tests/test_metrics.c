/* Unit tests for the metric layer (src/analysis/metrics.c) on hand-built arrays: risks, the
 * attention-sink numbers, dlogit<s>, value and residual norms, importance scores and
 * the sink rate (with the proxy for unnormalised weights), the head classifier. Links
 * only the metric and task code: no model is run. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/metrics.h"
#include "bbsim/task.h"

enum { T = 8, V = 6 };

/* All positions non-trigger, except those listed (< 0 ends the list). */
static void make_dom(unsigned char *dom, int n, const int *trig) {
    for (int i = 0; i < n; i++) dom[i] = DOM_BIT(DOM_ALL) | DOM_BIT(DOM_NONTRIGGER);
    for (; *trig >= 0; trig++) dom[*trig] = DOM_BIT(DOM_ALL) | DOM_BIT(DOM_TRIGGER);
}

static void test_cross_entropy(void **state) {
    (void)state;
    float logits[4] = {1.0f, 2.0f, -1.0f, 0.5f};
    double z = exp(1.0) + exp(2.0) + exp(-1.0) + exp(0.5);
    double pstar[4] = {0.25, 0.5, 0.0, 0.25};
    double expect = -(0.25 * log(exp(1.0) / z) + 0.5 * log(exp(2.0) / z) + 0.25 * log(exp(0.5) / z));
    assert_close(metrics_cross_entropy(pstar, logits, 4), expect, 1e-12, 1e-6);
    assert_close(metrics_target_loss(logits, 4, 2), -log(exp(-1.0) / z), 1e-12, 1e-6);
    /* huge logits: no overflow */
    float big[3] = {1000.0f, 1000.0f, -1000.0f};
    double onehot[3] = {1, 0, 0};
    assert_close(metrics_cross_entropy(onehot, big, 3), log(2.0), 1e-12, 1e-9);
}

static void test_risk_finish(void **state) {
    (void)state;
    RiskAcc acc;
    memset(&acc, 0, sizeof acc);
    unsigned char nt = DOM_BIT(DOM_ALL) | DOM_BIT(DOM_NONTRIGGER);
    unsigned char tr = DOM_BIT(DOM_ALL) | DOM_BIT(DOM_TRIGGER);
    metrics_risk_add(&acc, nt, 2.0, 1.5, 2.5);
    metrics_risk_add(&acc, nt, 3.0, 1.5, 3.5);
    metrics_risk_add(&acc, tr, 0.5, 0.0, 0.25);
    RiskAcc other;
    memset(&other, 0, sizeof other);
    metrics_risk_add(&other, tr, 1.5, 0.0, 0.75);
    metrics_risk_merge(&acc, &other);
    Risks r;
    metrics_risks(&acc, &r);
    assert_int_equal(r.n[DOM_ALL], 4);
    assert_int_equal(r.n[DOM_TRIGGER], 2);
    assert_close(r.risk[DOM_ALL], 7.0 / 4, 0, 1e-15);
    assert_close(r.risk[DOM_NONTRIGGER], 2.5, 0, 1e-15);  /* bigram risk */
    assert_close(r.risk[DOM_TRIGGER], 1.0, 0, 1e-15);     /* backcopy risk */
    assert_close(r.oracle[DOM_NONTRIGGER], 1.5, 0, 1e-15);
    assert_close(r.excess[DOM_NONTRIGGER], 1.0, 0, 1e-15);
    assert_close(r.excess[DOM_TRIGGER], 1.0, 0, 1e-15);
    assert_close(r.loss[DOM_ALL], 7.0 / 4, 0, 1e-15);
    assert_int_equal(r.n[DOM_TOKENS], 0);
    assert_true(isnan(r.risk[DOM_TOKENS]));
}

/* a_ij = 1/(i+1): the importance of key 0 is H_N / N, the chance level. */
static void test_uniform_importance(void **state) {
    (void)state;
    enum { N = 37 };
    float *att = calloc(N * N, sizeof *att);
    int inputs[N];
    unsigned char dom[N];
    for (int i = 0; i < N; i++) {
        inputs[i] = i % 3;
        for (int j = 0; j <= i; j++) att[i * N + j] = 1.0f / (float)(i + 1);
    }
    make_dom(dom, N, (int[]){-1});
    double h = 0;
    for (int n = 1; n <= N; n++) h += 1.0 / n;
    assert_close(metrics_sink_chance(N), h / N, 1e-15, 1e-12);
    assert_close(metrics_importance(att, NULL, N, 0), h / N, 1e-7, 1e-6);
    /* key k: (1/(N-k)) sum_{i>=k} 1/(i+1) */
    double e5 = 0;
    for (int i = 5; i < N; i++) e5 += 1.0 / (i + 1);
    assert_close(metrics_importance(att, NULL, N, 5), e5 / (N - 5), 1e-7, 1e-6);

    HeadAcc a;
    metrics_head_init(&a, V, N);
    metrics_head_attention(&a, att, NULL, NULL, inputs, dom, N, 0, 0.3);
    assert_int_equal(a.sink_hits, (h / N > 0.3) ? 1 : 0);
    metrics_head_attention(&a, att, NULL, NULL, inputs, dom, N, 0, 0.01); /* below chance: a hit */
    assert_int_equal(a.nseq, 2);
    assert_int_equal(a.sink_hits, 1);
    HeadMetrics m;
    unsigned char is_trig[V] = {0};
    metrics_head_finish(&a, is_trig, V, &m, NULL, NULL);
    assert_close(m.importance, h / N, 1e-7, 1e-6);
    assert_close(m.sink_frac, 0.5, 0, 1e-15);
    assert_close(metrics_sink_rate(&a, 1), 50.0, 0, 1e-12);
    /* Attn<s> = mean_i 1/(i+1) = H_N/N too; mass 1 per row */
    assert_close(m.attn_bos[DOM_NONTRIGGER], h / N, 1e-7, 1e-6);
    assert_close(m.attn_mass[DOM_ALL], 1.0, 1e-6, 0);
    assert_close(m.attn_slot[DOM_ALL], 0.0, 0, 0);
    /* key profile over the N rows: key j gets (1/N) sum_{i>=j} 1/(i+1); key 0 on top */
    double *prof = malloc(DOM_N * N * sizeof *prof);
    metrics_head_finish(&a, is_trig, V, &m, NULL, prof);
    assert_int_equal(m.top_key, 0);
    assert_close(m.top_key_share, h / N, 1e-7, 1e-6);
    assert_close(prof[DOM_ALL * N + 5], e5 / N, 1e-7, 1e-6);
    free(prof);
    metrics_head_free(&a);
    free(att);
}

/* Every row one-hot on key 0: Attn<s> = 1 on every domain, importance of key 0 = 1. */
static void test_bos_onehot(void **state) {
    (void)state;
    float att[T * T] = {0};
    int inputs[T] = {5, 1, 2, 0, 1, 2, 3, 0};
    unsigned char dom[T];
    for (int i = 0; i < T; i++) att[i * T] = 1.0f;
    make_dom(dom, T, (int[]){3, 7, -1});
    HeadAcc a;
    metrics_head_init(&a, V, T);
    metrics_head_attention(&a, att, NULL, NULL, inputs, dom, T, 0, 0.3);
    HeadMetrics m;
    unsigned char is_trig[V] = {1, 0, 0, 0, 0, 0};
    metrics_head_finish(&a, is_trig, V, &m, NULL, NULL);
    assert_close(m.attn_bos[DOM_NONTRIGGER], 1.0, 0, 1e-15);
    assert_close(m.attn_bos[DOM_TRIGGER], 1.0, 0, 1e-15);
    assert_close(m.attn_bos[DOM_ALL], 1.0, 0, 1e-15);
    assert_int_equal(m.n[DOM_TRIGGER], 2);
    assert_int_equal(m.n[DOM_NONTRIGGER], 6);
    assert_close(m.attn_prev, 0.0, 0, 0); /* trigger positions 3 and 7: key i-1 != 0 */
    assert_close(m.importance, 1.0, 0, 1e-15);
    assert_close(m.sink_frac, 1.0, 0, 0);
    assert_true(isnan(m.dlogit_mean)); /* no scores given */
    metrics_head_free(&a);
}

/* The active/dormant pattern: trigger rows one-hot on i-1, the others on key 0. */
static void test_prev_token(void **state) {
    (void)state;
    float att[T * T] = {0};
    int inputs[T] = {5, 1, 0, 2, 0, 3, 1, 0};
    int trig[] = {2, 4, 7, -1};
    unsigned char dom[T];
    make_dom(dom, T, trig);
    for (int i = 0; i < T; i++) att[i * T + ((dom[i] & DOM_BIT(DOM_TRIGGER)) ? i - 1 : 0)] = 1.0f;
    HeadAcc a;
    metrics_head_init(&a, V, T);
    metrics_head_attention(&a, att, NULL, NULL, inputs, dom, T, 0, 0.3);
    HeadMetrics m;
    unsigned char is_trig[V] = {1, 0, 0, 0, 0, 0};
    metrics_head_finish(&a, is_trig, V, &m, NULL, NULL);
    assert_close(m.attn_prev, 1.0, 0, 1e-15);
    assert_close(m.attn_bos[DOM_NONTRIGGER], 1.0, 0, 1e-15);
    assert_close(m.attn_bos[DOM_TRIGGER], 0.0, 0, 0);
    assert_close(m.attn_bos[DOM_ALL], 5.0 / 8, 0, 1e-15);
    /* alpha_0 = 5 rows on key 0 out of 8 */
    assert_close(m.importance, 5.0 / 8, 0, 1e-15);
    /* key profile: non-trigger rows all on key 0; trigger rows 2, 4, 7 on keys 1, 3, 6 */
    double prof[DOM_N * T];
    metrics_head_finish(&a, is_trig, V, &m, NULL, prof);
    assert_int_equal(m.top_key, 0);
    assert_close(m.top_key_share, 1.0, 0, 1e-15);
    double expect_trig[T] = {0, 1.0 / 3, 0, 1.0 / 3, 0, 0, 1.0 / 3, 0};
    assert_allclose(prof + DOM_TRIGGER * T, expect_trig, T, 1e-15, 0);
    assert_true(isnan(prof[DOM_TOKENS * T]));
    metrics_head_free(&a);
}

/* Unnormalised weights (relu, sigmoid) use the share |a_ij| / sum_j' |a_ij'|; a slot
 * (keybias, softmax1) counts in the denominator. */
static void test_share_proxy(void **state) {
    (void)state;
    float att[T * T] = {0}, slot[T];
    int inputs[T] = {5, 1, 2, 3, 1, 2, 3, 1};
    unsigned char dom[T];
    make_dom(dom, T, (int[]){-1});
    /* relu-like: a_i0 = 0.2, a_ij = 0.05 (j >= 1), row 3 has no mass at all */
    for (int i = 0; i < T; i++) {
        if (i == 3) continue;
        att[i * T] = 0.2f;
        for (int j = 1; j <= i; j++) att[i * T + j] = 0.05f;
    }
    double expect_alpha = 0, expect_mass = 0;
    for (int i = 0; i < T; i++) {
        if (i == 3) continue;
        expect_alpha += 0.2 / (0.2 + 0.05 * i);
        expect_mass += 0.2 + 0.05 * i;
    }
    assert_close(metrics_attn_share(att + 2 * T, 0.0f, 2, 0), 0.2 / 0.3, 1e-7, 1e-6);
    assert_close(metrics_attn_share(att + 3 * T, 0.0f, 3, 0), 0.0, 0, 0);
    assert_close(metrics_importance(att, NULL, T, 0), expect_alpha / T, 1e-7, 1e-6);
    HeadAcc a;
    metrics_head_init(&a, V, T);
    /* share of key 0 averages 0.56 > 0.3 though no raw weight exceeds 0.2 */
    metrics_head_attention(&a, att, NULL, NULL, inputs, dom, T, 0, 0.3);
    assert_int_equal(a.sink_hits, 1);
    HeadMetrics m;
    unsigned char is_trig[V] = {0};
    metrics_head_finish(&a, is_trig, V, &m, NULL, NULL);
    assert_close(m.attn_bos[DOM_ALL], expect_alpha / T, 1e-7, 1e-6);
    assert_close(m.attn_mass[DOM_ALL], expect_mass / T, 1e-7, 1e-6);

    /* a slot that takes 0.6 of each row, the rest uniform: share of key 0 = 0.4/(i+1) */
    memset(att, 0, sizeof att);
    for (int i = 0; i < T; i++) {
        slot[i] = 0.6f;
        for (int j = 0; j <= i; j++) att[i * T + j] = 0.4f / (float)(i + 1);
    }
    metrics_head_clear(&a, V);
    metrics_head_attention(&a, att, slot, NULL, inputs, dom, T, 0, 0.3);
    metrics_head_finish(&a, is_trig, V, &m, NULL, NULL);
    assert_close(m.attn_slot[DOM_ALL], 0.6, 1e-6, 0);
    double h = 0;
    for (int n = 1; n <= T; n++) h += 1.0 / n;
    assert_close(m.attn_bos[DOM_ALL], 0.4 * h / T, 1e-6, 0);
    assert_close(m.attn_mass[DOM_ALL], 0.4, 1e-6, 0);
    assert_int_equal(a.sink_hits, 0);
    metrics_head_free(&a);
}

/* The sink rate over several heads and sequences, in percent. */
static void test_sink_rate(void **state) {
    (void)state;
    float sink[T * T] = {0}, uni[T * T] = {0};
    int inputs[T] = {5, 1, 2, 3, 1, 2, 3, 1};
    unsigned char dom[T];
    make_dom(dom, T, (int[]){-1});
    for (int i = 0; i < T; i++) {
        sink[i * T] = 1.0f;
        for (int j = 0; j <= i; j++) uni[i * T + j] = 1.0f / (float)(i + 1);
    }
    /* 2 heads x 3 sequences: head 0 sinks on sequences 0 and 1, head 1 on sequence 0 */
    HeadAcc h[2];
    metrics_head_init(&h[0], V, T);
    metrics_head_init(&h[1], V, T);
    const float *pattern[2][3] = {{sink, sink, uni}, {sink, uni, uni}};
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 3; s++) metrics_head_attention(&h[k], pattern[k][s], NULL, NULL, inputs, dom, T, 0, 0.5);
    /* per sequence: 100%, 50%, 0% -> 50% */
    assert_close(metrics_sink_rate(h, 2), 50.0, 0, 1e-12);
    assert_true(isnan(metrics_sink_rate(h, 0)));
    metrics_head_free(&h[0]);
    metrics_head_free(&h[1]);
}

/* dlogit<s> on hand-set scores: s_i0 = 5 + i, s_ij = j (1 <= j < i), diagonal 100 (must
 * be ignored). dlogit_i = 5 + i - i/2. */
static void test_dlogit(void **state) {
    (void)state;
    float preatt[T * T], att[T * T] = {0};
    for (int i = 0; i < T; i++) {
        att[i * T] = 1.0f;
        for (int j = 0; j < T; j++) preatt[i * T + j] = j > i ? -7.0f : j == i ? 100.0f : j == 0 ? 5.0f + i : (float)j;
    }
    for (int i = 2; i < T; i++) assert_close(metrics_dlogit(preatt + i * T, i), 5.0 + i - i / 2.0, 0, 1e-12);
    /* token types at positions 2..7: 1, 2, 3, 1, 0 (trigger), 4 */
    int inputs[T] = {5, 2, 1, 2, 3, 1, 0, 4};
    unsigned char dom[T];
    make_dom(dom, T, (int[]){6, -1});
    HeadAcc a;
    metrics_head_init(&a, V, T);
    metrics_head_attention(&a, att, NULL, preatt, inputs, dom, T, 0, 0.3);
    HeadMetrics m;
    unsigned char is_trig[V] = {1, 0, 0, 0, 0, 0};
    double per_type[V];
    metrics_head_finish(&a, is_trig, V, &m, per_type, NULL);
    /* d_i = 5 + i/2: d2 6, d3 6.5, d4 7, d5 7.5, d6 8, d7 8.5 */
    double expect[V - 1] = {8.0, (6.0 + 7.5) / 2, 6.5, 7.0, 8.5};
    assert_allclose(per_type, expect, V - 1, 0, 1e-12);
    assert_true(isnan(per_type[5])); /* BOS only at position 0 */
    /* non-trigger types 1..4, sorted: 6.5, 6.75, 7, 8.5 */
    assert_int_equal(m.dlogit_ntypes, 4);
    assert_close(m.dlogit_mean, (6.5 + 6.75 + 7.0 + 8.5) / 4, 0, 1e-12);
    /* GSL quantile at f: x[k] + d (x[k+1] - x[k]), (n-1) f = k + d: 0.3 and 2.7 */
    assert_close(m.dlogit_p10, 6.5 + 0.3 * 0.25, 0, 1e-12);
    assert_close(m.dlogit_p90, 7.0 + 0.7 * 1.5, 0, 1e-12);
    metrics_head_free(&a);
}

/* ||Wo_h v_j|| by hand (C = 4, two heads of size 2), and the sgemm path against the loop. */
static void test_value_norms(void **state) {
    (void)state;
    enum { C = 4, H = 2, TT = 3 };
    /* Wo (C,C): out = Wo x. Head 1's block = columns 2, 3. */
    float wo[C * C] = {
        1, 0, 2, 0,
        0, 1, 0, 3,
        0, 0, 1, 1,
        5, 5, 0, 0,
    };
    float v[2] = {1.0f, -2.0f};
    /* Wo_1 v = (2*1, 3*-2, 1 - 2, 0) = (2, -6, -1, 0) -> sqrt(41) */
    assert_close(metrics_value_norm(wo, C, 2, 1, v), sqrt(41.0), 0, 1e-12);
    /* head 0: columns 0, 1: (1, -2, 0, 5 - 10) -> sqrt(30) */
    assert_close(metrics_value_norm(wo, C, 2, 0, v), sqrt(30.0), 0, 1e-12);

    float qkv[TT * 3 * C] = {0};
    for (int j = 0; j < TT; j++) {
        qkv[j * 3 * C + 2 * C + 2] = (float)(j + 1); /* head 1 value = (j+1, 0) */
        qkv[j * 3 * C + 2 * C + 3] = 0.0f;
        qkv[j * 3 * C] = 99.0f; /* q: must not be read */
    }
    /* Wo_1 (a, 0) = (2a, 0, a, 0) -> sqrt(5) a */
    HeadAcc a;
    metrics_head_init(&a, 1, 1);
    double norms[TT];
    metrics_head_values(&a, wo, qkv, TT, C, H, 1, norms);
    for (int j = 0; j < TT; j++) assert_close(norms[j], sqrt(5.0) * (j + 1), 0, 1e-12);
    HeadMetrics m;
    unsigned char is_trig[1] = {0};
    metrics_head_finish(&a, is_trig, 1, &m, NULL, NULL);
    assert_close(m.val_bos, sqrt(5.0), 0, 1e-12);
    assert_close(m.val_other, sqrt(5.0) * 2.5, 0, 1e-12);
    assert_close(m.val_ratio, 1.0 / 2.5, 0, 1e-12);

    /* gemm path on random data, two sequences */
    enum { CB = 16, HB = 4, TB = 5, BB = 2 };
    float *wo2 = malloc(CB * CB * sizeof *wo2), *qkv2 = malloc(BB * TB * 3 * CB * sizeof *qkv2);
    float *scratch = malloc(BB * TB * CB * sizeof *scratch);
    unsigned s = 12345;
    for (int k = 0; k < CB * CB; k++)
        wo2[k] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
    for (int k = 0; k < BB * TB * 3 * CB; k++)
        qkv2[k] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0x7fff) / 16384.0f - 1.0f;
    for (int h = 0; h < HB; h++) {
        double ref[BB * TB], fast[BB * TB];
        HeadAcc ar, af;
        metrics_head_init(&ar, 1, 1);
        metrics_head_init(&af, 1, 1);
        for (int b = 0; b < BB; b++) metrics_head_values(&ar, wo2, qkv2 + b * TB * 3 * CB, TB, CB, HB, h, ref + b * TB);
        metrics_head_values_gemm(&af, wo2, qkv2, BB, TB, CB, HB, h, scratch, fast);
        assert_allclose(fast, ref, BB * TB, 1e-5, 1e-5);
        assert_int_equal(af.nval_bos, 2);
        assert_int_equal(af.nval_other, 8);
        assert_close(af.val_bos, ar.val_bos, 1e-5, 1e-5);
        assert_close(af.val_other, ar.val_other, 1e-5, 1e-5);
        metrics_head_free(&ar);
        metrics_head_free(&af);
    }
    free(wo2);
    free(qkv2);
    free(scratch);
    metrics_head_free(&a);
}

static void test_resid(void **state) {
    (void)state;
    enum { C = 2, TT = 3 };
    float resid[TT * C] = {30, 40, 3, 4, 6, 8}; /* norms 50, 5, 10 */
    ResidAcc a = {0}, b = {0};
    double norms[TT];
    metrics_resid(&a, resid, TT, C, norms);
    assert_close(norms[0], 50.0, 0, 1e-12);
    assert_close(norms[2], 10.0, 0, 1e-12);
    metrics_resid(&b, resid, TT, C, NULL);
    metrics_resid_merge(&a, &b);
    ResidMetrics m;
    metrics_resid_finish(&a, &m);
    assert_close(m.bos, 50.0, 0, 1e-12);
    assert_close(m.other, 7.5, 0, 1e-12);
    assert_close(m.gap, 42.5, 0, 1e-12);
    assert_close(m.ratio, 50.0 / 7.5, 0, 1e-12);
}

/* The classifier on synthetic heads, alone and from attention patterns. */
static void test_classify(void **state) {
    (void)state;
    assert_int_equal(metrics_classify(0.95, 0.001, 0.9, 0.01), HEAD_DORMANT);
    assert_int_equal(metrics_classify(0.95, -0.005, 0.9, 0.01), HEAD_DORMANT);
    assert_int_equal(metrics_classify(0.05, 2.0, 0.9, 0.01), HEAD_ACTIVE);
    assert_int_equal(metrics_classify(0.95, 0.5, 0.9, 0.01), HEAD_MIXED);  /* sinks but matters */
    assert_int_equal(metrics_classify(0.6, 0.5, 0.9, 0.01), HEAD_MIXED);   /* half on BOS */
    assert_int_equal(metrics_classify(0.05, 0.001, 0.9, 0.01), HEAD_MIXED); /* elsewhere, useless */
    assert_int_equal(metrics_classify(0.05, -0.5, 0.9, 0.01), HEAD_MIXED); /* removal helps */
    assert_int_equal(metrics_classify(NAN, 0.5, 0.9, 0.01), HEAD_EMPTY);
    assert_string_equal(head_label_names[HEAD_DORMANT], "dormant");
    assert_string_equal(head_label_names[HEAD_ACTIVE], "active");
    assert_string_equal(head_label_names[HEAD_MIXED], "mixed");

    /* three synthetic heads on one sequence: the BB head (prev on triggers, BOS
     * elsewhere), a head always on BOS, a head spread uniformly. Removal effects as a
     * model would show them: the BB head matters on triggers only; the BOS head
     * matters on triggers (mixed: it sinks but removing it hurts). */
    float bb[T * T] = {0}, bos[T * T] = {0}, uni[T * T] = {0};
    int inputs[T] = {5, 1, 0, 2, 0, 3, 1, 0};
    unsigned char dom[T];
    make_dom(dom, T, (int[]){2, 4, 7, -1});
    for (int i = 0; i < T; i++) {
        bb[i * T + ((dom[i] & DOM_BIT(DOM_TRIGGER)) ? i - 1 : 0)] = 1.0f;
        bos[i * T] = 1.0f;
        for (int j = 0; j <= i; j++) uni[i * T + j] = 1.0f / (float)(i + 1);
    }
    const float *heads[3] = {bb, bos, uni};
    double delta[3][2] = {{3.0, 0.001}, {0.5, 0.0}, {0.2, 0.3}}; /* [head][trigger, nontrigger] */
    HeadLabel expect[3][2] = {{HEAD_ACTIVE, HEAD_DORMANT}, {HEAD_MIXED, HEAD_DORMANT}, {HEAD_ACTIVE, HEAD_ACTIVE}};
    unsigned char is_trig[V] = {1, 0, 0, 0, 0, 0};
    for (int k = 0; k < 3; k++) {
        HeadAcc a;
        metrics_head_init(&a, V, T);
        metrics_head_attention(&a, heads[k], NULL, NULL, inputs, dom, T, 0, 0.3);
        HeadMetrics m;
        metrics_head_finish(&a, is_trig, V, &m, NULL, NULL);
        HeadLabel lt = metrics_classify(m.attn_bos[DOM_TRIGGER], delta[k][0], 0.9, 0.01);
        HeadLabel ln = metrics_classify(m.attn_bos[DOM_NONTRIGGER], delta[k][1], 0.9, 0.01);
        if (lt != expect[k][0] || ln != expect[k][1])
            fail_msg("head %d: trigger %s (expected %s), nontrigger %s (expected %s)", k, head_label_names[lt],
                     head_label_names[expect[k][0]], head_label_names[ln], head_label_names[expect[k][1]]);
        metrics_head_free(&a);
    }
}

/* Accumulators merge exactly like one pass over all data (the chunked drivers rely on it). */
static void test_merge(void **state) {
    (void)state;
    float att[T * T] = {0}, preatt[T * T];
    int inputs[T] = {5, 1, 0, 2, 0, 3, 1, 0};
    unsigned char dom[T];
    make_dom(dom, T, (int[]){2, 4, 7, -1});
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            preatt[i * T + j] = (float)((i * 7 + j * 3) % 5) - 2.0f;
            if (j <= i) att[i * T + j] = (float)(1 + (i + j) % 3);
        }
    HeadAcc one, a, b;
    metrics_head_init(&one, V, T);
    metrics_head_init(&a, V, T);
    metrics_head_init(&b, V, T);
    metrics_head_attention(&one, att, NULL, preatt, inputs, dom, T, 1, 0.2);
    metrics_head_attention(&one, att, NULL, preatt, inputs, dom, T, 1, 0.2);
    metrics_head_attention(&a, att, NULL, preatt, inputs, dom, T, 1, 0.2);
    metrics_head_attention(&b, att, NULL, preatt, inputs, dom, T, 1, 0.2);
    metrics_head_merge(&a, &b, V);
    HeadMetrics m1, m2;
    unsigned char is_trig[V] = {1, 0, 0, 0, 0, 0};
    metrics_head_finish(&one, is_trig, V, &m1, NULL, NULL);
    metrics_head_finish(&a, is_trig, V, &m2, NULL, NULL);
    assert_memory_equal(&m1, &m2, sizeof m1);
    metrics_head_free(&one);
    metrics_head_free(&a);
    metrics_head_free(&b);
}

/* With the task: domain bits follow task_is_trigger_pos; logits = log p* give zero
 * excess risk, uniform logits give log V. */
static void test_task_risks(void **state) {
    (void)state;
    TaskConfig cfg;
    task_config_default(&cfg);
    cfg.seq = 24;
    cfg.table = TASK_TABLE_SYNTHETIC;
    cfg.vbase = 16;
    Task t;
    BbError err;
    if (task_build(&t, &cfg, &err)) fail_msg("task_build: %s", err.msg);
    enum { B = 4 };
    int N = cfg.seq, Vt = t.V;
    int *inputs = malloc(B * N * sizeof *inputs), *targets = malloc(B * N * sizeof *targets);
    task_eval_batch(&t, B, inputs, targets);
    unsigned char *dom = malloc(B * N), *set = calloc(Vt, 1);
    set[inputs[1]] = 1;
    metrics_domains(&t, inputs, B, N, set, dom);
    long ntrig = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < N; i++) {
            unsigned char d = dom[b * N + i];
            int trig = task_is_trigger_pos(&t, inputs + b * N, i);
            assert_true(d & DOM_BIT(DOM_ALL));
            assert_int_equal(!!(d & DOM_BIT(DOM_TRIGGER)), trig);
            assert_int_equal(!!(d & DOM_BIT(DOM_NONTRIGGER)), !trig);
            assert_int_equal(!!(d & DOM_BIT(DOM_TOKENS)), inputs[b * N + i] == inputs[1]);
            ntrig += trig;
        }
    float *logits = malloc((size_t)B * N * Vt * sizeof *logits);
    double *p = malloc(Vt * sizeof *p);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < N; i++) {
            task_oracle(&t, inputs + b * N, i, p);
            for (int v = 0; v < Vt; v++) logits[((size_t)b * N + i) * Vt + v] = p[v] > 0 ? (float)log(p[v]) : -1e30f;
        }
    RiskAcc acc;
    memset(&acc, 0, sizeof acc);
    metrics_risk_accumulate(&acc, &t, inputs, targets, logits, dom, B, N, Vt, p);
    Risks r;
    metrics_risks(&acc, &r);
    assert_int_equal(r.n[DOM_ALL], B * N);
    assert_int_equal(r.n[DOM_TRIGGER], ntrig);
    for (int d = 0; d < DOM_N; d++) {
        if (!r.n[d]) continue;
        assert_close(r.excess[d], 0.0, 1e-5, 0);
        assert_true(r.oracle[d] >= 0);
    }
    if (ntrig) assert_close(r.oracle[DOM_TRIGGER], 0.0, 1e-12, 0); /* backcopy is deterministic */
    for (size_t k = 0; k < (size_t)B * N * Vt; k++) logits[k] = 0.5f;
    RiskAcc u;
    memset(&u, 0, sizeof u);
    metrics_risk_accumulate(&u, &t, inputs, NULL, logits, dom, B, N, Vt, p);
    metrics_risks(&u, &r);
    assert_close(r.risk[DOM_ALL], log((double)Vt), 1e-9, 1e-9);
    assert_close(r.loss[DOM_ALL], 0.0, 0, 0);
    free(logits);
    free(p);
    free(dom);
    free(set);
    free(inputs);
    free(targets);
    task_free(&t);
}

/* The sink on a token type (no BOS): non-trigger rows park on the first token of type 4,
 * at position 3 in one sequence and 1 in the other. Rows before that first token cannot
 * see it and are left out; a type seen by a single row (type 5, last position, row 7 of
 * sequence A entirely on itself) is below the 10% floor and cannot win. */
static void test_sink_type(void **state) {
    (void)state;
    const int in_a[T] = {1, 2, 3, 4, 2, 0, 4, 5}, in_b[T] = {2, 4, 1, 3, 1, 2, 0, 3};
    float att_a[T * T] = {0}, att_b[T * T] = {0};
    unsigned char dom_a[T], dom_b[T];
    make_dom(dom_a, T, (int[]){5, -1});
    make_dom(dom_b, T, (int[]){6, -1});
    /* A: rows 0, 1 on key 0; row 2 half on 0 and 2; row 3 on itself (the first 4); rows 4, 6
     * 0.75 on key 3 and 0.25 on themselves; trigger row 5 on key 4; row 7 on itself */
    att_a[0 * T + 0] = 1; att_a[1 * T + 0] = 1; att_a[2 * T + 0] = 0.5f; att_a[2 * T + 2] = 0.5f;
    att_a[3 * T + 3] = 1; att_a[4 * T + 3] = 0.75f; att_a[4 * T + 4] = 0.25f; att_a[5 * T + 4] = 1;
    att_a[6 * T + 3] = 0.75f; att_a[6 * T + 6] = 0.25f; att_a[7 * T + 7] = 1;
    /* B: row 0 on key 0; row 1 on itself (the first 4); rows 2-5 and 7 0.75 on key 1 and
     * 0.25 on themselves; trigger row 6 on key 5 */
    att_b[0] = 1; att_b[1 * T + 1] = 1; att_b[6 * T + 5] = 1;
    for (int i = 2; i < T; i++)
        if (i != 6) { att_b[i * T + 1] = 0.75f; att_b[i * T + i] = 0.25f; }
    unsigned char is_trig[V] = {1, 0, 0, 0, 0, 0};
    HeadAcc one, part[2];
    metrics_head_init(&one, V, T);
    metrics_head_attention(&one, att_a, NULL, NULL, in_a, dom_a, T, 0, 0.3);
    metrics_head_attention(&one, att_b, NULL, NULL, in_b, dom_b, T, 0, 0.3);
    HeadMetrics m;
    metrics_head_finish(&one, is_trig, V, &m, NULL, NULL);
    /* type 4: A rows 3, 4, 6, 7 (shares 1, .75, .75, 0), B rows 1-5, 7 (1, .75 x 5) */
    assert_int_equal(m.sink_type, 4);
    assert_int_equal(m.sink_type_rows, 10);
    assert_close(m.sink_type_share, 7.25 / 10, 0, 1e-15);
    assert_close(m.sink_type_argmax, 9.0 / 10, 0, 1e-15); /* all but A's row 7 */
    /* the key-position metric finds B's position 1 with 4.75 / 14 of the non-trigger rows */
    assert_int_equal(m.top_key, 1);
    assert_close(m.top_key_share, 4.75 / 14, 0, 1e-15);
    double share[V], argmax[V];
    long rows[V];
    metrics_head_types(&one, share, argmax, rows);
    assert_int_equal(rows[5], 1); /* type 5: one row, share 1, excluded by the floor */
    assert_close(share[5], 1.0, 0, 1e-15);
    assert_int_equal(rows[1], 12); /* A: rows 0-4, 6, 7 from position 0; B: rows 2-5, 7 */
    assert_close(share[1], 2.75 / 12, 0, 1e-15);
    assert_close(share[2], 1.0 / 13, 0, 1e-15);
    assert_close(argmax[2], 1.0 / 13, 0, 1e-15);  /* B's row 0 */
    assert_close(argmax[1], 3.0 / 12, 0, 1e-15);  /* A's rows 0-2 (row 2's tie goes to the earlier key) */
    /* chunks merged give the same */
    metrics_head_init(&part[0], V, T);
    metrics_head_init(&part[1], V, T);
    metrics_head_attention(&part[0], att_a, NULL, NULL, in_a, dom_a, T, 0, 0.3);
    metrics_head_attention(&part[1], att_b, NULL, NULL, in_b, dom_b, T, 0, 0.3);
    metrics_head_merge(&part[0], &part[1], V);
    HeadMetrics mm;
    metrics_head_finish(&part[0], is_trig, V, &mm, NULL, NULL);
    assert_int_equal(mm.sink_type, 4);
    assert_close(mm.sink_type_share, m.sink_type_share, 0, 0);
    /* cleared: no row, no type */
    metrics_head_clear(&part[0], V);
    metrics_head_finish(&part[0], is_trig, V, &mm, NULL, NULL);
    assert_int_equal(mm.sink_type, -1);
    assert_true(isnan(mm.sink_type_share));
    metrics_head_free(&one);
    metrics_head_free(&part[0]);
    metrics_head_free(&part[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy),   cmocka_unit_test(test_risk_finish),
        cmocka_unit_test(test_uniform_importance), cmocka_unit_test(test_bos_onehot),
        cmocka_unit_test(test_prev_token),      cmocka_unit_test(test_share_proxy),
        cmocka_unit_test(test_sink_rate),       cmocka_unit_test(test_dlogit),
        cmocka_unit_test(test_value_norms),     cmocka_unit_test(test_resid),
        cmocka_unit_test(test_classify),        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_task_risks),  cmocka_unit_test(test_sink_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
