/* The transformer of docs/method.md#the-model (and the simplified model), float32, over flat
 * buffers: one buffer of parameters, named pointers into it, a Workspace holding every
 * activation of a (B, T) chunk (attention weights included, for the analyses), matched
 * forward/backward passes, instrumentation and interventions. */
#ifndef BBSIM_MODEL_H
#define BBSIM_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "bbsim/common.h"
#include "bbsim/kernels.h" /* AttnKind, attn_kind_names */

#define BB_MAXL 16
#define BB_MAXH 16

typedef enum { MODEL_TRANSFORMER, MODEL_SIMPLE } ModelKind;
extern const char *const model_kind_names[]; /* "transformer","simple",NULL */

typedef struct ModelConfig {
    int kind;          /* ModelKind */
    int L, H, C;       /* layers, heads, width d (head size C/H) */
    int attn;          /* AttnKind */
    BbIntList no_attn, no_mlp, linear_mlp; /* per-layer ablations */
    int simple_hidden; /* simplified model's MLP width (128) */
    uint64_t init_seed;
    /* filled from the task, not flags: */
    int V, maxT;       /* vocabulary (specials included), context N */
    int bos_id;
    BbIntList triggers; /* simplified model: which token types use the previous-token logit */
} ModelConfig;

void model_config_default(ModelConfig *c);
#define MODEL_NOPTS 12
int model_opts(ModelConfig *c, Opt *out);

/* What layer l of a model of c holds (nothing when l is outside 0..L-1): attention (not
 * in --no-attn), an MLP (not in --no-mlp), a linear MLP (--linear-mlp). The simplified
 * model's one layer has attention and a (non-linear) MLP. */
int model_has_attn(const ModelConfig *c, int l);
int model_has_mlp(const ModelConfig *c, int l);
int model_has_linear_mlp(const ModelConfig *c, int l);

/* The parameter table: ONE X-macro lists every tensor; it generates ParamPtrs below,
 * the flat layout, the checkpoint names (TensorInfo) and the initialisation (src/model/model.c).
 * Columns: X(name, where, count, init, fan_in, present)
 *   where:   PRE (global, laid out before the layers), LAYER (one per layer l: field is
 *            an array [BB_MAXL], name "l<l>.<name>"), POST (global, after the layers).
 *   count:   elements, an expression in C, V, T (= maxT), H, F (MLP width of layer l:
 *            4C, or C for --linear-mlp), S (= simple_hidden).
 *   init:    INIT_NORMAL N(0,1) (embeddings), INIT_FANIN U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 *            (PyTorch's default for linear weights), INIT_ONE, INIT_ZERO.
 *   present: TF / SIMPLE (model kind), ATTN / MLP / LINEAR (layer l has attention, an
 *            MLP, a linear MLP), KEYBIAS (--attn softmax-keybias).
 * Layout and initialisation order: PRE rows in table order, then for l = 0..L-1 the
 * LAYER rows in table order, then POST rows; random draws from one bb_rng_alloc(init_seed)
 * stream in that order (so layer 0 of an L=1 and an L=3 model start equal). */
typedef enum { INIT_ZERO, INIT_ONE, INIT_NORMAL, INIT_FANIN } InitKind;

#define BB_PARAMS(X)                                                                                  \
    /* transformer */                                                                                 \
    X(wte, PRE, V * C, INIT_NORMAL, 0, TF)                       /* (V, C) token embedding E */       \
    X(wpe, PRE, T * C, INIT_NORMAL, 0, TF)                       /* (maxT, C) position embedding */   \
    X(ln1_w, LAYER, C, INIT_ONE, 0, TF && ATTN)                  /* (C) */                            \
    X(ln1_b, LAYER, C, INIT_ZERO, 0, TF && ATTN)                 /* (C) */                            \
    X(wqkv, LAYER, 3 * C * C, INIT_FANIN, C, TF && ATTN)         /* (3C, C): rows [q; k; v] */        \
    X(wo, LAYER, C * C, INIT_FANIN, C, TF && ATTN)               /* (C, C) */                         \
    X(keyslot, LAYER, C, INIT_ZERO, 0, TF && ATTN && KEYBIAS)    /* (H, C/H) learnable key k_s */     \
    X(sink, LAYER, H, INIT_ZERO, 0, TF && ATTN && SINK)          /* (H) learnable slot logit S_h */   \
    X(wgate, LAYER, G * C, INIT_ZERO, 0, TF && ATTN && G)        /* (G, C) output gate, G = H or C */ \
    X(bgate, LAYER, G, INIT_ZERO, 0, TF && ATTN && G)            /* (G) its bias */                   \
    X(ln2_w, LAYER, C, INIT_ONE, 0, TF && MLP)                   /* (C) */                            \
    X(ln2_b, LAYER, C, INIT_ZERO, 0, TF && MLP)                  /* (C) */                            \
    X(w1, LAYER, F * C, INIT_FANIN, C, TF && MLP)                /* (F, C): (4C, C) or (C, C) */      \
    X(w2, LAYER, C * F, INIT_FANIN, F, TF && MLP && !LINEAR)     /* (C, 4C); absent if linear */      \
    X(lnf_w, POST, C, INIT_ONE, 0, TF)                           /* (C) */                            \
    X(lnf_b, POST, C, INIT_ZERO, 0, TF)                          /* (C) */                            \
    X(wout, POST, V * C, INIT_FANIN, C, TF)                      /* (V, C) untied output map */       \
    /* simplified model, as the paper's code: a, c, w, b ~ N(0,1), the maps fan-in uniform */          \
    X(s_bos_logit, POST, V, INIT_NORMAL, 0, SIMPLE)              /* a (V) BOS logit per token */      \
    X(s_prev_logit, POST, V, INIT_NORMAL, 0, SIMPLE)             /* c (V) prev-token logit */         \
    X(s_value, POST, V, INIT_NORMAL, 0, SIMPLE)                  /* w (V) value scales */             \
    X(s_bos_value, POST, V, INIT_NORMAL, 0, SIMPLE)              /* b (V) BOS value */                \
    X(s_wo, POST, V * V, INIT_FANIN, V, SIMPLE)                  /* (V, V) */                         \
    X(s_w1, POST, S * V, INIT_FANIN, V, SIMPLE)                  /* (S, V) */                         \
    X(s_w2, POST, V * S, INIT_FANIN, S, SIMPLE)                  /* (V, S) */

typedef struct TensorInfo {
    char name[32];  /* "wqkv" or "l1.wqkv" */
    size_t offset;  /* into the flat buffer */
    size_t size;    /* elements (0 when absent) */
    int layer;      /* -1 for globals */
} TensorInfo;

/* Named pointers into a flat buffer (params, grads or moments), generated from the
 * table: globals `float *wte;`, per-layer tensors `float *wqkv[BB_MAXL];` indexed by
 * layer. Absent tensors are NULL. */
#define BB_PARAM_FIELD_PRE(name) float *name;
#define BB_PARAM_FIELD_POST(name) float *name;
#define BB_PARAM_FIELD_LAYER(name) float *name[BB_MAXL];
#define BB_PARAM_FIELD(name, where, count, init, fan_in, present) BB_PARAM_FIELD_##where(name)
typedef struct ParamPtrs {
    BB_PARAMS(BB_PARAM_FIELD)
} ParamPtrs;

typedef struct Model {
    ModelConfig cfg;
    size_t nparams;
    float *params;       /* flat, nparams */
    ParamPtrs p;         /* named pointers into params */
    int ntensors;
    TensorInfo *tensors; /* every present tensor, in table order */
} Model;

/* Validate the configuration (clear message on bad combinations), allocate and
 * initialise the parameters from cfg->init_seed (PyTorch-default initialisation). */
int model_build(Model *m, const ModelConfig *cfg, BbError *err);
/* The checks model_build makes of cfg (BB_EINPUT naming the flag), without building. */
int model_validate(const ModelConfig *cfg, BbError *err);
/* The same without the initialisation (parameters zero): for weights about to be read. */
int model_alloc(Model *m, const ModelConfig *cfg, BbError *err);
void model_free(Model *m);
/* Named pointers into any flat buffer laid out like m->params (grads, moments). */
void model_point(const Model *m, float *base, ParamPtrs *out);
/* BB_ENUM unless every parameter is finite: "WHERE: checkpoint step STEP has non-finite
 * weights (l0.wqkv[17] = inf; the run diverged)". Loading a checkpoint (run_load) checks,
 * so no analysis reports NaN risks from a diverged model with exit status 0. */
int model_check_finite(const Model *m, const char *where, long step, BbError *err);

/* Interventions applied inside the forward pass (docs/method.md#interventions). All zero = none.
 * Entries for layers without attention / without an MLP are ignored. When a head has
 * both all_bos and oracle_attn, all_bos wins. The simplified model honours layer 0,
 * head 0 of zero_head, zero_bos_value (Wo b := 0), oracle_attn, all_bos and no_mlp. */
typedef struct Intervention {
    unsigned char zero_head[BB_MAXL][BB_MAXH];      /* head's attention output := 0 */
    unsigned char zero_bos_value[BB_MAXL][BB_MAXH]; /* v_0 := 0 for that head */
    unsigned char oracle_attn[BB_MAXL][BB_MAXH];    /* trigger rows one-hot on i-1, others on key 0 */
    unsigned char all_bos[BB_MAXL][BB_MAXH];        /* every row one-hot on key 0 */
    unsigned char no_mlp[BB_MAXL];                  /* drop the layer's MLP output */
    unsigned char zero_bos_resid[BB_MAXL];          /* h_0 := 0 after layer l */
    unsigned char no_key0[BB_MAXL][BB_MAXH];        /* softmax: rows i >= 1 renormalised over
                                                       keys 1..i (the sink removed; C17) */
    const unsigned char *is_trigger;                /* (V), needed by oracle_attn */
} Intervention;

/* Every activation of one chunk of B sequences of length T (T <= maxT), kept for the
 * backward pass and read directly by the analyses. Layer l's tensors are NULL when the
 * layer has no attention / no MLP. */
typedef struct Workspace {
    int Bmax, T;
    /* activations */
    float *resid[BB_MAXL + 1]; /* (B,T,C): resid[0] = embeddings, resid[l+1] = after layer l */
    float *ln1[BB_MAXL];       /* (B,T,C) */
    float *ln1_mean[BB_MAXL], *ln1_rstd[BB_MAXL]; /* (B,T) */
    float *qkv[BB_MAXL];       /* (B,T,3C): q | k | v, head h at columns h*hs.. */
    float *preatt[BB_MAXL];    /* (B,H,T,T) scores s_ij (0 for j>i) */
    float *att[BB_MAXL];       /* (B,H,T,T) weights a_ij (0 for j>i) */
    float *att_slot[BB_MAXL];  /* (B,H,T) weight on the key slot / the softmax1 zero logit
                                  (NULL for the other activations) */
    float *atty[BB_MAXL];      /* (B,T,C) concat_heads(sum_j a_ij v_j) */
    float *gate[BB_MAXL];      /* (B,T,G) gated kinds: the gate sigmoid(LN1 wgate^T + bgate) */
    float *gated[BB_MAXL];     /* (B,T,C) gated kinds: atty times its gate, what Wo reads */
    float *attn_out[BB_MAXL];  /* (B,T,C) Wo atty (Wo gated for the gated kinds) */
    float *resid_mid[BB_MAXL]; /* (B,T,C) after attention, before the MLP (= resid[l]
                                  when the layer has no attention) */
    float *ln2[BB_MAXL];
    float *ln2_mean[BB_MAXL], *ln2_rstd[BB_MAXL];
    float *fch[BB_MAXL];       /* (B,T,4C) pre-ReLU; linear MLP: aliases mlp_out (B,T,C) */
    float *fch_act[BB_MAXL];   /* (B,T,4C) post-ReLU; linear MLP: aliases mlp_out */
    float *mlp_out[BB_MAXL];   /* (B,T,C) */
    float *lnf;                /* (B,T,C) */
    float *lnf_mean, *lnf_rstd;
    float *logits;             /* (B,T,V) */
    float *probs;              /* (B,T,V) */
    float *losses;             /* (B,T) per-token cross-entropy (nats) */
    int *inputs, *targets;     /* (B,T) copies of the last forward's tokens */
    int B;                     /* B of the last forward */
    /* simplified model only (NULL for the transformer); its attention is att[0],
     * preatt[0] (B,1,T,T), its outputs logits/probs/losses as above */
    float *s_v0;               /* (V) the BOS value Wo b */
    float *s_hidden;           /* (V,S) W1 e_x (pre-ReLU) for every input token type x */
    float *s_mlp;              /* (V,V) W2 relu(W1 e_x) for every input token type x */
    /* private: one flat buffer of activations, one of activation gradients, scratch */
    float *acts_mem, *grad_mem, *scratch;
    size_t acts_size, grad_size, scratch_size; /* floats */
    int *int_mem;              /* inputs | targets | forced-attention keys (2 x (B,T)) */
    int backward_ready;        /* the last forward had targets and no intervention */
    int plain;                 /* the last forward had no intervention (model_backward_resid) */
} Workspace;

Workspace *workspace_alloc(const Model *m, int Bmax, int T);
void workspace_free(Workspace *ws);
/* Bytes held by a workspace (for the memory report). */
size_t workspace_bytes(const Workspace *ws);
/* The same before allocating: what workspace_alloc would hold for a model of cfg. */
size_t workspace_bytes_for(const ModelConfig *cfg, int Bmax, int T);
/* The parameter count of a model of cfg (model_build's nparams), without building it. */
size_t model_param_count(const ModelConfig *cfg);

/* Forward B <= Bmax sequences. targets may be NULL (no loss). iv may be NULL.
 * Returns the mean loss over the B*T positions (0 when targets is NULL).
 * Serial: the caller parallelises over chunks; BLAS is expected single-threaded. */
float model_forward(const Model *m, Workspace *ws, const int *inputs, const int *targets, int B,
                    const Intervention *iv);
/* Backward of the last forward (which must have had targets and no intervention).
 * Accumulates d(sum of token losses * dloss)/dtheta into grads (nparams).
 * dloss = 1 / (total tokens of the whole batch) gives the mean-loss gradient. */
void model_backward(const Model *m, Workspace *ws, float *grads, float dloss);
/* The transformer's blocks backward from a gradient of the last residual state: dres
 * (B,T,C) holds dL/d resid[L] on entry and dL/d resid[0] (the embeddings) on exit;
 * weight gradients accumulate into grads (nparams), or are not computed when grads is
 * NULL. The last forward must have had no intervention (targets not needed). */
void model_backward_resid(const Model *m, Workspace *ws, float *grads, float *dres);

/* FLOPs of one forward pass over B sequences (dense attention, docs/method.md#flops):
 * per layer 2n 12C^2 + 4 B T^2 C, plus 2 n C V for the output map (n = B T), with the
 * ablated parts left out (attention 2n 4C^2 + 4 B T^2 C, MLP 2n 8C^2, linear MLP
 * 2n C^2). The simplified model counts its O(B T^2) attention and O(n V) output. */
double model_forward_flops(const ModelConfig *c, int B, int T);

/* The simplified model's BOS value v0 = Wo b (V floats), as its forward pass forms it
 * (src/model/simple.c); the analyses and the theory read |Val<s>| from it. */
void model_simple_bos_value(const Model *m, float *v0);

#endif
