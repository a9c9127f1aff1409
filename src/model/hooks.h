/* Private to src/model/: the interventions of model.h's Intervention (docs/method.md#interventions)
 * as hooks the transformer's forward pass (model.c) calls at fixed points of a layer. Each
 * hook reads layer l's switches and edits that layer's activations in ws in place; the
 * forward calls them only when some switch is on. */
#ifndef BBSIM_MODEL_HOOKS_H
#define BBSIM_MODEL_HOOKS_H

#include "bbsim/model.h"

/* Whether iv (NULL: none) switches anything on. */
int hook_active(const Intervention *iv);
/* After the qkv map: zero_bos_value (v_0 := 0 for the head). */
void hook_qkv(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B);
/* The keys attention_forward forces per head (NULL: none; force holds BB_MAXH pointers):
 * all_bos rows on key 0, oracle_attn rows on i-1 for a trigger input (key 0 at i = 0),
 * else on key 0. */
const int *const *hook_forced_keys(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B,
                                   const int **force);
/* After the attention kernel, before Wo: no_key0 (the sink removed, softmax only), then
 * zero_head (the head's output := 0). */
void hook_attention(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B);
/* After the layer's last residual add: no_mlp (resid[l+1] := resid_mid[l], the MLP's
 * output dropped), then zero_bos_resid (h_0 := 0). */
void hook_layer(const ModelConfig *c, Workspace *ws, const Intervention *iv, int l, int B);

#endif
