/* The transformer of spec/model.md (and the simplified model), float32, over flat
 * buffers: one buffer of parameters, named pointers into it, a Workspace holding every
 * activation of a (B, T) chunk (attention weights included, for the analyses), matched
 * forward/backward passes, instrumentation and interventions. */
#ifndef BBSIM_MODEL_H
#define BBSIM_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "bbsim/common.h"

#define BB_MAXL 16
#define BB_MAXH 16

typedef enum { MODEL_TRANSFORMER, MODEL_SIMPLE } ModelKind;
typedef enum {
    ATTN_SOFTMAX, ATTN_RELU, ATTN_SIGMOID, ATTN_SIGMOID_NORM, ATTN_SOFTMAX_KEYBIAS, ATTN_SOFTMAX1
} AttnKind;
extern const char *const model_kind_names[]; /* "transformer","simple",NULL */
extern const char *const attn_kind_names[];  /* "softmax","relu","sigmoid","sigmoid-norm","softmax-keybias","softmax1",NULL */

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

/* The parameter table: ONE X-macro lists every tensor. Columns: name, element count
 * (an expression in C, V, T=maxT, H, F=MLP width, S=simple_hidden), initialiser, and
 * the condition for the tensor to exist in layer l (globals: always).
 * Initialisers: INIT_NORMAL N(0,1) (embeddings), INIT_FANIN(n) U(-1/sqrt n, 1/sqrt n),
 * INIT_ONE, INIT_ZERO. */
typedef enum { INIT_ZERO, INIT_ONE, INIT_NORMAL, INIT_FANIN } InitKind;

typedef struct TensorInfo {
    char name[32];  /* "wqkv" or "l1.wqkv" */
    size_t offset;  /* into the flat buffer */
    size_t size;    /* elements (0 when absent) */
    int layer;      /* -1 for globals */
} TensorInfo;

/* Named pointers into a flat buffer (params, grads or moments). Per-layer tensors are
 * arrays indexed by layer; absent tensors are NULL. */
typedef struct ParamPtrs {
    /* transformer globals */
    float *wte;    /* (V, C) */
    float *wpe;    /* (maxT, C) */
    float *lnf_w, *lnf_b; /* (C) */
    float *wout;   /* (V, C) */
    /* transformer layers */
    float *ln1_w[BB_MAXL], *ln1_b[BB_MAXL]; /* (C) */
    float *wqkv[BB_MAXL];   /* (3C, C): rows [q; k; v] */
    float *wo[BB_MAXL];     /* (C, C) */
    float *keyslot[BB_MAXL]; /* (H, C/H) softmax-keybias only: the learnable key k_s */
    float *ln2_w[BB_MAXL], *ln2_b[BB_MAXL]; /* (C) */
    float *w1[BB_MAXL];     /* (4C, C), or (C, C) for --linear-mlp */
    float *w2[BB_MAXL];     /* (C, 4C); absent for --linear-mlp */
    /* simplified model */
    float *s_bos_logit;  /* a (V) */
    float *s_prev_logit; /* c (V) */
    float *s_value;      /* w (V) */
    float *s_bos_value;  /* b (V) */
    float *s_wo;         /* (V, V) */
    float *s_w1;         /* (S, V) */
    float *s_w2;         /* (V, S) */
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
void model_free(Model *m);
/* Named pointers into any flat buffer laid out like m->params (grads, moments). */
void model_point(const Model *m, float *base, ParamPtrs *out);

/* Interventions applied inside the forward pass (analysis.md). All zero = none. */
typedef struct Intervention {
    unsigned char zero_head[BB_MAXL][BB_MAXH];      /* head's attention output := 0 */
    unsigned char zero_bos_value[BB_MAXL][BB_MAXH]; /* v_0 := 0 for that head */
    unsigned char oracle_attn[BB_MAXL][BB_MAXH];    /* trigger rows one-hot on i-1, others on key 0 */
    unsigned char all_bos[BB_MAXL][BB_MAXH];        /* every row one-hot on key 0 */
    unsigned char no_mlp[BB_MAXL];                  /* drop the layer's MLP output */
    unsigned char zero_bos_resid[BB_MAXL];          /* h_0 := 0 after layer l */
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
    float *preatt[BB_MAXL];    /* (B,H,T,T) scores s_ij (masked j>i: unused) */
    float *att[BB_MAXL];       /* (B,H,T,T) weights a_ij (0 for j>i) */
    float *att_slot[BB_MAXL];  /* (B,H,T) weight on the key slot / the softmax1 zero logit */
    float *atty[BB_MAXL];      /* (B,T,C) concat_heads(sum_j a_ij v_j) */
    float *attn_out[BB_MAXL];  /* (B,T,C) Wo atty */
    float *resid_mid[BB_MAXL]; /* (B,T,C) after attention, before the MLP */
    float *ln2[BB_MAXL];
    float *ln2_mean[BB_MAXL], *ln2_rstd[BB_MAXL];
    float *fch[BB_MAXL];       /* (B,T,F) pre-ReLU (F = 4C, or C for linear) */
    float *fch_act[BB_MAXL];   /* (B,T,F) post-ReLU */
    float *mlp_out[BB_MAXL];   /* (B,T,C) */
    float *lnf;                /* (B,T,C) */
    float *lnf_mean, *lnf_rstd;
    float *logits;             /* (B,T,V) */
    float *probs;              /* (B,T,V) */
    float *losses;             /* (B,T) per-token cross-entropy (nats) */
    int *inputs, *targets;     /* (B,T) copies of the last forward's tokens */
    int B;                     /* B of the last forward */
    /* private: one flat buffer of activations, one of activation gradients, scratch */
    float *acts_mem, *grad_mem, *scratch;
    size_t acts_size, grad_size, scratch_size;
} Workspace;

Workspace *workspace_alloc(const Model *m, int Bmax, int T);
void workspace_free(Workspace *ws);
/* Bytes held by a workspace (for the memory report). */
size_t workspace_bytes(const Workspace *ws);

/* Forward B <= Bmax sequences. targets may be NULL (no loss). iv may be NULL.
 * Returns the mean loss over the B*T positions (0 when targets is NULL).
 * Serial: the caller parallelises over chunks; BLAS is expected single-threaded. */
float model_forward(const Model *m, Workspace *ws, const int *inputs, const int *targets, int B,
                    const Intervention *iv);
/* Backward of the last forward (which must have had targets and no intervention).
 * Accumulates d(sum of token losses * dloss)/dtheta into grads (nparams).
 * dloss = 1 / (total tokens of the whole batch) gives the mean-loss gradient. */
void model_backward(const Model *m, Workspace *ws, float *grads, float dloss);

/* FLOPs of one forward pass over B sequences (dense attention, as performance.md). */
double model_forward_flops(const ModelConfig *c, int B, int T);

#endif
