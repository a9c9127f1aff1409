/* The paper's simplified one-layer model (docs/method.md#simplified-model):
 * frozen one-hot embeddings (d = V), one BOS logit a and one previous-token logit c per
 * token type, value scales w, a learned BOS value Wo b, and a V -> S -> V ReLU MLP; no
 * residual, no LayerNorm. It exposes the theory's two quantities, a and Wo b, directly. */
#include <math.h>
#include <string.h>
#include "bbsim/kernels.h"
#include "simple.h"

/* Query i with input x attends with logit c[x] to key i-1 if x is a trigger (key 0 when
 * i = 0), else with logit a[x] to key 0; every other visible key has logit 0.
 * The one place the paper's code differs: it writes c[x_i] on the sub-diagonal of every row
 * before masking, so row 1's key 0 gets a[x_1] + c[x_1]. From the same init and batches on
 * the paper's table the two give the same |Wo b|, Attn<s> and risk curves (0.21 vs 0.32 at
 * step 2000), so bbsim keeps the definition of docs/method.md. */
static int special_key(int trig, int i) { return trig && i > 0 ? i - 1 : 0; }

void model_simple_bos_value(const Model *m, float *v0) {
    const int V = m->cfg.V;
    // v0 = Wo b: (Wo b)_v = sum_u Wo[v,u] b_u
    for (int v = 0; v < V; v++) {
        float s = 0.0f;
        for (int u = 0; u < V; u++) s += m->p.s_wo[(size_t)v * V + u] * m->p.s_bos_value[u];
        v0[v] = s;
    }
}

void simple_forward(const Model *m, Workspace *ws, int B, const Intervention *iv) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int T = ws->T, V = c->V, S = c->simple_hidden;
    const int *in = ws->inputs;
    const int zero_head = iv && iv->zero_head[0][0], zero_bos_value = iv && iv->zero_bos_value[0][0],
              all_bos = iv && iv->all_bos[0][0], oracle = iv && iv->oracle_attn[0][0], no_mlp = iv && iv->no_mlp[0];
    BB_CHECK(!oracle || iv->is_trigger);

    /* tables per token type, shared by every position */
    model_simple_bos_value(m, ws->s_v0);
    if (zero_bos_value) memset(ws->s_v0, 0, (size_t)V * sizeof(float));
    // hidden_x = W1 e_x (column x of W1); mlp_x = W2 relu(hidden_x)
    for (int x = 0; x < V; x++) {
        float *hid = ws->s_hidden + (size_t)x * S, *out = ws->s_mlp + (size_t)x * V;
        for (int s = 0; s < S; s++) hid[s] = p->s_w1[(size_t)s * V + x];
        for (int v = 0; v < V; v++) {
            float acc = 0.0f;
            for (int s = 0; s < S; s++) acc += p->s_w2[(size_t)v * S + s] * (hid[s] > 0.0f ? hid[s] : 0.0f);
            out[v] = acc;
        }
    }

    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const int x = in[b * T + i], trig = intlist_has(&c->triggers, x), key = special_key(trig, i);
            const float logit = trig ? p->s_prev_logit[x] : p->s_bos_logit[x];
            float *srow = ws->preatt[0] + ((size_t)b * T + i) * T, *arow = ws->att[0] + ((size_t)b * T + i) * T;
            memset(srow, 0, T * sizeof(float));
            memset(arow, 0, T * sizeof(float));
            srow[key] = logit;
            if (all_bos || oracle) { // intervention: one-hot rows
                arow[all_bos ? 0 : special_key(iv->is_trigger[x], i)] = 1.0f;
            } else if (c->attn == ATTN_RELU) {
                // a_ij = relu(s_ij) / (i+1): only the special key can be non-zero
                arow[key] = logit > 0.0f ? logit / (float)(i + 1) : 0.0f;
            } else if (i == 0) {
                arow[0] = 1.0f;
            } else {
                // softmax over i+1 keys: i of them with logit 0, the special one with `logit`
                const float mx = logit > 0.0f ? logit : 0.0f;
                const float e0 = expf(-mx), es = expf(logit - mx), inv = 1.0f / ((float)i * e0 + es);
                for (int j = 0; j <= i; j++) arow[j] = e0 * inv;
                arow[key] = es * inv;
            }
            // z_i = sum_j a_ij v_j + W2 relu(W1 e_{x_i}), v_0 = Wo b, v_j = w[x_j] e_{x_j}
            float *z = ws->logits + ((size_t)b * T + i) * V;
            if (no_mlp) memset(z, 0, V * sizeof(float));
            else memcpy(z, ws->s_mlp + (size_t)x * V, V * sizeof(float));
            if (!zero_head) {
                for (int v = 0; v < V; v++) z[v] += arow[0] * ws->s_v0[v];
                for (int j = 1; j <= i; j++) {
                    const int xj = in[b * T + j];
                    z[xj] += arow[j] * p->s_value[xj];
                }
            }
        }
}

void simple_backward(const Model *m, Workspace *ws, const ParamPtrs *grads, float dloss) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int B = ws->B, T = ws->T, V = c->V, S = c->simple_hidden;
    const int *in = ws->inputs;
    const ParamPtrs g = *grads;
    float *dlogits = ws->grad_mem;                      /* (B,T,V) */
    float *G = ws->scratch, *dv0 = G + (size_t)V * V;   /* (V,V) dz summed per input type, (V) */
    memset(dlogits, 0, (size_t)B * T * V * sizeof(float));
    memset(G, 0, ((size_t)V * V + V) * sizeof(float));
    crossentropy_backward(dlogits, ws->probs, ws->targets, dloss, B * T, V);

    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const int x = in[b * T + i], trig = intlist_has(&c->triggers, x), key = special_key(trig, i);
            const float logit = trig ? p->s_prev_logit[x] : p->s_bos_logit[x];
            const float *arow = ws->att[0] + ((size_t)b * T + i) * T;
            const float *dz = dlogits + ((size_t)b * T + i) * V;
            // forward: z_i = mlp_{x_i} + ...: collect dz per input type
            float *Gx = G + (size_t)x * V;
            for (int v = 0; v < V; v++) Gx[v] += dz[v];
            // forward: z_i += a_i0 v0 + sum_{j>=1} a_ij w[x_j] e_{x_j}
            float da0 = 0.0f;
            for (int v = 0; v < V; v++) {
                da0 += dz[v] * ws->s_v0[v];
                dv0[v] += arow[0] * dz[v];
            }
            float dot = arow[0] * da0, da_key = da0; /* sum_j a_ij da_ij, da at the special key */
            for (int j = 1; j <= i; j++) {
                const int xj = in[b * T + j];
                const float da = dz[xj] * p->s_value[xj];
                g.s_value[xj] += arow[j] * dz[xj];
                dot += arow[j] * da;
                if (j == key) da_key = da;
            }
            // forward: a_i. = softmax(s_i.) or relu(s_i.)/(i+1), with s_i,key = logit
            float ds;
            if (c->attn == ATTN_RELU) ds = logit > 0.0f ? da_key / (float)(i + 1) : 0.0f;
            else ds = arow[key] * (da_key - dot);
            if (trig) g.s_prev_logit[x] += ds;
            else g.s_bos_logit[x] += ds;
        }
    // forward: v0 = Wo b
    for (int v = 0; v < V; v++)
        for (int u = 0; u < V; u++) {
            g.s_wo[(size_t)v * V + u] += dv0[v] * p->s_bos_value[u];
            g.s_bos_value[u] += p->s_wo[(size_t)v * V + u] * dv0[v];
        }
    // forward: mlp_x = W2 relu(hidden_x), hidden_x = W1 e_x
    for (int x = 0; x < V; x++) {
        const float *Gx = G + (size_t)x * V, *hid = ws->s_hidden + (size_t)x * S;
        for (int s = 0; s < S; s++) {
            const float h = hid[s] > 0.0f ? hid[s] : 0.0f;
            float dh = 0.0f;
            for (int v = 0; v < V; v++) {
                g.s_w2[(size_t)v * S + s] += Gx[v] * h;
                dh += p->s_w2[(size_t)v * S + s] * Gx[v];
            }
            if (hid[s] > 0.0f) g.s_w1[(size_t)s * V + x] += dh;
        }
    }
}
