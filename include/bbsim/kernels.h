/* The transformer's numerical kernels (docs/method.md#the-model) as matched forward/backward pairs
 * over flat row-major float buffers, plus plain-loop reference versions the tests check
 * the fast (CBLAS) ones against. N = B*T rows. Backward kernels ACCUMULATE (+=) into
 * their gradients, so the caller zeroes a gradient buffer once before its first use.
 * matmul_backward and layernorm_backward skip their weight gradients when given NULL. */
#ifndef BBSIM_KERNELS_H
#define BBSIM_KERNELS_H

#include <stddef.h>

#define BB_LN_EPS 1e-5f

/* The attention activations (--attn NAME; docs/method.md#attention-activations): ONE
 * X-macro lists every kind; it generates the AttnKind enum (ATTN_<id>, in table order,
 * ATTN_NKINDS after the last), attn_kind_names and the per-kind predicates below.
 * Columns: X(id, name, normalised, slot, gate)
 *   normalised: 1 if every row sums to 1 (slot included), 0 if rows carry free mass.
 *   slot:       the extra key each row also attends to, with value 0 (its weight in
 *               att_slot): NONE, KEY (a learnable key k_s per head, the keyslot tensor),
 *               ZERO (a fixed logit 0) or SINK (a learnable logit S_h per head, the sink
 *               tensor).
 *   gate:       NONE, or a sigmoid gate on the attention output read from LN1's output
 *               at the query position (gate_forward): HEAD (one per head) or ELEM (one
 *               per channel); the rows are then softmax's.
 * How row i of scores s_ij (j <= i) becomes weights a_ij is attn_row_forward (kernels.c). */
#define BB_ATTN_KINDS(X)                                                                                  \
    X(SOFTMAX, "softmax", 1, NONE, NONE)                /* exp(s_ij) / sum_j' exp(s_ij') */                  \
    X(RELU, "relu", 0, NONE, NONE)                      /* relu(s_ij) / (i+1) */                              \
    X(SIGMOID, "sigmoid", 0, NONE, NONE)                /* sigmoid(s_ij) */                                   \
    X(SIGMOID_NORM, "sigmoid-norm", 1, NONE, NONE)      /* sigmoid(s_ij) / sum_j' sigmoid(s_ij') */           \
    X(SOFTMAX_KEYBIAS, "softmax-keybias", 1, KEY, NONE) /* softmax over the keys and q_i.k_s/sqrt(hs) */      \
    X(SOFTMAX1, "softmax1", 1, ZERO, NONE)              /* softmax over the keys and a logit 0 */             \
    X(SOFTMAX_SINK, "softmax-sink", 1, SINK, NONE)      /* softmax over the keys and a learned logit S_h */   \
    X(SOFTPICK, "softpick", 0, NONE, NONE)              /* relu(e^s_ij - 1) / (sum_j' |e^s_ij' - 1| + eps) */ \
    X(GATED_HEAD, "gated-head", 1, NONE, HEAD)          /* softmax; y^h *= sigmoid(u.w_g^h + b_g^h) */        \
    X(GATED_ELEM, "gated-elem", 1, NONE, ELEM)          /* softmax; y *= sigmoid(W_g u + b_g) per channel */

#define BB_ATTN_ENUM(id, name, normalised, slot, gate) ATTN_##id,
typedef enum { BB_ATTN_KINDS(BB_ATTN_ENUM) ATTN_NKINDS } AttnKind;
typedef enum { ATTN_SLOT_NONE, ATTN_SLOT_KEY, ATTN_SLOT_ZERO, ATTN_SLOT_SINK } AttnSlot;
typedef enum { ATTN_GATE_NONE, ATTN_GATE_HEAD, ATTN_GATE_ELEM } AttnGate;

/* softpick's eps, added after the shift by the row maximum (docs/method.md) */
#define BB_SOFTPICK_EPS 1e-8f

extern const char *const attn_kind_names[]; /* the --attn names by AttnKind, then NULL */
/* The table's columns of a kind (0..ATTN_NKINDS-1): rows sum to 1; a key slot of any
 * sort (att_slot is then (B,H,T), else NULL); the learnable key k_s (keyslot (H,hs));
 * the learnable slot logit S_h (sink (H)); the gate's width G: 0 (no gate), H or C. */
int attn_kind_normalised(int kind);
int attn_kind_has_slot(int kind);
int attn_kind_has_keyslot(int kind);
int attn_kind_has_sink(int kind);
int attn_gate_width(int kind, int C, int H);

/* exp of an array, vectorisable (relative error < 1e-7 on [-87, 88], clamped outside):
 * the exponential every kernel here uses (softmaxes, sigmoids, cross-entropy). */
void vec_exp(float *out, const float *inp, size_t n);

/* ---- embedding: out[b,t] = wte[inp[b,t]] + wpe[t] ---- */
void encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C);
void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T, int C);

/* ---- LayerNorm over the last axis (eps 1e-5, biased variance) ---- */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C);
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, const float *mean, const float *rstd, int N, int C);

/* ---- bias-free linear map: out = inp weight^T (one sgemm) ---- */
void matmul_forward(float *out, const float *inp, const float *weight, int N, int C, int OC);
void matmul_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                     int N, int C, int OC);
void matmul_forward_ref(float *out, const float *inp, const float *weight, int N, int C, int OC);
void matmul_backward_ref(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, int N, int C, int OC);

/* ---- elementwise ---- */
void residual_forward(float *out, const float *inp1, const float *inp2, size_t n);
void residual_backward(float *dinp1, float *dinp2, const float *dout, size_t n);
void relu_forward(float *out, const float *inp, size_t n);
void relu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* ---- causal multi-head attention (the activations of AttnKind above) ----
 * qkv (B,T,3C) holds q | k | v; head h uses columns h*hs..(h+1)*hs-1 of each, hs = C/H.
 * preatt (B,H,T,T): s_ij = q_i.k_j / sqrt(hs) for j <= i, 0 for j > i.
 * att (B,H,T,T): the weights a_ij (0 for j > i).
 * att_slot (B,H,T): weight on the extra key slot (softmax-keybias: the learnable key
 *   slotp = keyslot (H,hs); softmax1: a fixed zero logit; softmax-sink: the learnable
 *   logit slotp = sink (H)); every slot carries the value 0. NULL for the other
 *   activations, as is slotp except for softmax-keybias and softmax-sink.
 * force_key: NULL, or H pointers each NULL or (B,T): row i of sequence b of head h is
 *   then one-hot on key force_key[h][b*T+i] (interventions; preatt still holds the
 *   real scores, att_slot 0). Forward only.
 * atty (B,T,C): concat_heads(sum_j a_ij v_j). */
void attention_forward(float *atty, float *preatt, float *att, float *att_slot, const float *qkv,
                       const float *slotp, const int *const *force_key, int B, int T, int C, int H,
                       int attn_kind);
/* scratch: T*T floats. */
void attention_backward(float *dqkv, float *dslotp, float *scratch, const float *datty, const float *qkv,
                        const float *slotp, const float *preatt, const float *att, const float *att_slot,
                        int B, int T, int C, int H, int attn_kind);
void attention_forward_ref(float *atty, float *preatt, float *att, float *att_slot, const float *qkv,
                           const float *slotp, const int *const *force_key, int B, int T, int C, int H,
                           int attn_kind);
void attention_backward_ref(float *dqkv, float *dslotp, const float *datty, const float *qkv,
                            const float *slotp, const float *preatt, const float *att,
                            const float *att_slot, int B, int T, int C, int H, int attn_kind);

/* ---- the output gate of gated-head / gated-elem (G = H or C gates per position) ----
 * z = u wgate^T + bgate (N,G), g = sigmoid(z) (kept in gate); out[n,c] = y[n,c] g[n, c/(C/G)].
 * u (N,C) is LN1's output, y (N,C) the attention output, wgate (G,C), bgate (G). */
void gate_forward(float *out, float *gate, const float *y, const float *u, const float *wgate, const float *bgate,
                  int N, int C, int G);
/* dy += dout * g; dz (N,G, scratch) = g (1 - g) sum over the gate's channels of dout * y;
 * du += dz wgate, dwgate += dz^T u, dbgate += sum_n dz (dwgate, dbgate may be NULL). */
void gate_backward(float *dy, float *du, float *dwgate, float *dbgate, float *dz, const float *dout,
                   const float *y, const float *gate, const float *u, const float *wgate, int N, int C, int G);
/* plain loops in double: out and gate as gate_forward */
void gate_forward_ref(float *out, float *gate, const float *y, const float *u, const float *wgate,
                      const float *bgate, int N, int C, int G);

/* The attention of head h with its first-key sink removed (softmax only; forward only; the
 * intervention no_key0): rows i >= 1 of att re-formed from preatt as the softmax over keys
 * 1..i (a_i0 = 0; row 0 kept), then the head's columns of atty recomputed from them. */
void attention_remove_key0(float *atty, float *att, const float *preatt, const float *qkv, int h, int B, int T,
                           int C, int H);

/* ---- softmax + cross-entropy over V classes ----
 * probs = softmax(logits); losses[n] = -log probs[n, targets[n]] (targets may be NULL:
 * probs only, losses untouched). */
void crossentropy_forward(float *losses, float *probs, const float *logits, const int *targets, int N, int V);
/* dlogits += dloss * (probs - onehot(targets)) */
void crossentropy_backward(float *dlogits, const float *probs, const int *targets, float dloss, int N, int V);

#endif
