/* The interventions (docs/method.md#interventions) as hooks of the transformer's forward
 * pass (hooks.h): each edits one layer's activations in place at the point where the
 * quantity is made, so no analysis re-implements the model. The simplified model applies
 * its own (simple.c). */
#include "hooks.h"

#include <string.h>
#include "bbsim/kernels.h"

int hook_active(const Intervention *iv) {
    if (!iv) return 0;
    const unsigned char *parts[] = {&iv->zero_head[0][0], &iv->zero_bos_value[0][0], &iv->oracle_attn[0][0],
                                    &iv->all_bos[0][0], iv->no_mlp, iv->zero_bos_resid, &iv->no_key0[0][0]};
    const size_t sizes[] = {sizeof iv->zero_head, sizeof iv->zero_bos_value, sizeof iv->oracle_attn,
                            sizeof iv->all_bos, sizeof iv->no_mlp, sizeof iv->zero_bos_resid, sizeof iv->no_key0};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (size_t i = 0; i < sizes[k]; i++)
            if (parts[k][i]) return 1;
    return 0;
}

void hook_qkv(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B) {
    // qkv (B,T,3C): v_0 := 0 in head h's columns of v
    const int T = ws->T, C = c->C, hs = c->C / c->H;
    for (int h = 0; h < c->H; h++)
        if (iv->zero_bos_value[l][h])
            for (int b = 0; b < B; b++) {
                float *v0 = ws->qkv[l] + (size_t)b * T * 3 * C + 2 * C + h * hs;
                memset(v0, 0, hs * sizeof(float));
            }
}

const int *const *hook_forced_keys(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B,
                                   const int **force) {
    const int T = ws->T;
    int any = 0;
    const size_t N = (size_t)B * T;
    int *bos_keys = ws->int_mem + 2 * (size_t)ws->Bmax * T, *oracle_keys = bos_keys + (size_t)ws->Bmax * T;
    for (int h = 0; h < c->H; h++) {
        force[h] = NULL;
        if (iv->all_bos[l][h]) {
            memset(bos_keys, 0, N * sizeof(int));
            force[h] = bos_keys;
        } else if (iv->oracle_attn[l][h]) {
            BB_CHECK(iv->is_trigger);
            for (int b = 0; b < B; b++)
                for (int i = 0; i < T; i++)
                    oracle_keys[b * T + i] = iv->is_trigger[ws->inputs[b * T + i]] && i > 0 ? i - 1 : 0;
            force[h] = oracle_keys;
        }
        any |= force[h] != NULL;
    }
    return any ? force : NULL;
}

void hook_attention(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B) {
    const int T = ws->T, C = c->C, H = c->H, hs = c->C / c->H;
    for (int h = 0; h < H; h++)
        if (iv->no_key0[l][h]) {
            BB_CHECK(c->attn == ATTN_SOFTMAX);
            attention_remove_key0(ws->atty[l], ws->att[l], ws->preatt[l], ws->qkv[l], h, B, T, C, H);
        }
    // atty (B,T,C): y_i := 0 in head h's columns
    const size_t N = (size_t)B * T;
    for (int h = 0; h < H; h++)
        if (iv->zero_head[l][h])
            for (size_t n = 0; n < N; n++) memset(ws->atty[l] + n * C + h * hs, 0, hs * sizeof(float));
}

void hook_layer(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B) {
    const size_t T = (size_t)ws->T, C = (size_t)c->C;
    // resid[l+1] := resid_mid[l]: the residual add of the MLP undone (a layer without an
    // MLP has resid[l+1] = resid_mid[l] already)
    if (iv->no_mlp[l]) memcpy(ws->resid[l + 1], ws->resid_mid[l], (size_t)B * T * C * sizeof(float));
    // h_0 := 0 in every sequence
    if (iv->zero_bos_resid[l])
        for (int b = 0; b < B; b++) memset(ws->resid[l + 1] + (size_t)b * T * C, 0, C * sizeof(float));
}
