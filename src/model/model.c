/* The model (docs/method.md#the-model): configuration and flags, the parameter table's layout and
 * initialisation, workspaces, and the driver that calls the kernels of kernels.c in
 * order (forward) and in exactly reverse order (backward); the interventions are hooks
 * of the forward pass (hooks.c). */
#include "bbsim/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "bbsim/kernels.h"
#include "hooks.h"
#include "simple.h"

const char *const model_kind_names[] = {"transformer", "simple", NULL};

void model_config_default(ModelConfig *c) {
    memset(c, 0, sizeof *c);
    c->kind = MODEL_TRANSFORMER;
    c->L = 1;
    c->H = 1;
    c->C = 256;
    c->attn = ATTN_SOFTMAX;
    c->simple_hidden = 128;
    c->init_seed = 42;
    c->bos_id = -1;
}

int model_opts(ModelConfig *c, Opt *o) {
    int k = 0;
    o[k++] = (Opt){"model", OPT_CHOICE, &c->kind, 0, 0, model_kind_names,
                   "architecture: the transformer, or the paper's simplified one-layer model"};
    o[k++] = (Opt){"layers", OPT_INT, &c->L, 1, BB_MAXL, NULL, "number of layers L"};
    o[k++] = (Opt){"heads", OPT_INT, &c->H, 1, BB_MAXH, NULL, "attention heads per layer (must divide --dim)"};
    o[k++] = (Opt){"dim", OPT_INT, &c->C, 1, 8192, NULL, "model width d (head size d/heads, MLP width 4d)"};
    o[k++] = (Opt){"attn", OPT_CHOICE, &c->attn, 0, 0, attn_kind_names, "attention activation"};
    o[k++] = (Opt){"no-attn", OPT_INTLIST, &c->no_attn, 0, BB_MAXL - 1, NULL,
                   "layers without attention (and its LayerNorm), e.g. 0,2"};
    o[k++] = (Opt){"no-mlp", OPT_INTLIST, &c->no_mlp, 0, BB_MAXL - 1, NULL,
                   "layers without MLP (and its LayerNorm)"};
    o[k++] = (Opt){"linear-mlp", OPT_INTLIST, &c->linear_mlp, 0, BB_MAXL - 1, NULL,
                   "layers whose MLP is one d x d linear map"};
    o[k++] = (Opt){"simple-hidden", OPT_INT, &c->simple_hidden, 1, 65536, NULL,
                   "hidden width of the simplified model's MLP"};
    o[k++] = (Opt){"init-seed", OPT_U64, &c->init_seed, 0, 0, NULL, "seed of the parameter initialisation"};
    BB_CHECK(k <= MODEL_NOPTS);
    return k;
}

/* ------------------------------------------------------------ validation */

static int check_layer_list(const BbIntList *list, const char *flag, int L, BbError *err) {
    for (int i = 0; i < list->n; i++)
        if (list->v[i] < 0 || list->v[i] >= L)
            return bb_fail(err, BB_EINPUT, "--%s %d: layers are numbered 0..%d (the model has --layers %d)", flag,
                           list->v[i], L - 1, L);
    return BB_OK;
}

int model_validate(const ModelConfig *c, BbError *err) {
    if (c->kind != MODEL_TRANSFORMER && c->kind != MODEL_SIMPLE)
        return bb_fail(err, BB_EINPUT, "unknown model kind %d", c->kind);
    if (c->attn < 0 || c->attn >= ATTN_NKINDS)
        return bb_fail(err, BB_EINPUT, "unknown attention activation %d", c->attn);
    if (c->V < 2) return bb_fail(err, BB_EINPUT, "vocabulary size %d: need at least 2 tokens", c->V);
    if (c->maxT < 1) return bb_fail(err, BB_EINPUT, "context length %d: need at least 1", c->maxT);
    if (c->kind == MODEL_SIMPLE) {
        if (c->attn != ATTN_SOFTMAX && c->attn != ATTN_RELU)
            return bb_fail(err, BB_EINPUT, "--model simple supports --attn softmax or relu, not %s",
                           attn_kind_names[c->attn]);
        if (c->no_attn.n || c->no_mlp.n || c->linear_mlp.n)
            return bb_fail(err, BB_EINPUT, "--no-attn, --no-mlp and --linear-mlp apply to --model transformer only");
        if (c->simple_hidden < 1)
            return bb_fail(err, BB_EINPUT, "--simple-hidden %d: must be at least 1", c->simple_hidden);
        for (int i = 0; i < c->triggers.n; i++)
            if (c->triggers.v[i] < 0 || c->triggers.v[i] >= c->V)
                return bb_fail(err, BB_EINPUT, "trigger token %d is outside the vocabulary 0..%d", c->triggers.v[i],
                               c->V - 1);
        return BB_OK;
    }
    if (c->L < 1 || c->L > BB_MAXL)
        return bb_fail(err, BB_EINPUT, "--layers %d: must be in 1..%d", c->L, BB_MAXL);
    if (c->H < 1 || c->H > BB_MAXH)
        return bb_fail(err, BB_EINPUT, "--heads %d: must be in 1..%d", c->H, BB_MAXH);
    if (c->C < 1) return bb_fail(err, BB_EINPUT, "--dim %d: must be at least 1", c->C);
    if (c->C % c->H)
        return bb_fail(err, BB_EINPUT, "--dim %d is not divisible by --heads %d (head size = dim/heads)", c->C,
                       c->H);
    int rc;
    if ((rc = check_layer_list(&c->no_attn, "no-attn", c->L, err)) ||
        (rc = check_layer_list(&c->no_mlp, "no-mlp", c->L, err)) ||
        (rc = check_layer_list(&c->linear_mlp, "linear-mlp", c->L, err)))
        return rc;
    for (int i = 0; i < c->linear_mlp.n; i++)
        if (intlist_has(&c->no_mlp, c->linear_mlp.v[i]))
            return bb_fail(err, BB_EINPUT, "layer %d is in both --no-mlp and --linear-mlp", c->linear_mlp.v[i]);
    return BB_OK;
}

static int has_layer(const ModelConfig *c, int l) { return l >= 0 && l < (c->kind == MODEL_SIMPLE ? 1 : c->L); }

int model_has_attn(const ModelConfig *c, int l) {
    return has_layer(c, l) && (c->kind == MODEL_SIMPLE || !intlist_has(&c->no_attn, l));
}

int model_has_mlp(const ModelConfig *c, int l) {
    return has_layer(c, l) && (c->kind == MODEL_SIMPLE || !intlist_has(&c->no_mlp, l));
}

int model_has_linear_mlp(const ModelConfig *c, int l) {
    return model_has_mlp(c, l) && intlist_has(&c->linear_mlp, l);
}

/* ------------------------------------------------------------ parameter layout */

static void init_tensor(float *x, size_t n, InitKind kind, double fan_in, gsl_rng *rng) {
    switch (kind) {
    case INIT_ZERO:
        memset(x, 0, n * sizeof *x);
        break;
    case INIT_ONE:
        for (size_t i = 0; i < n; i++) x[i] = 1.0f;
        break;
    case INIT_NORMAL:
        for (size_t i = 0; i < n; i++) x[i] = (float)gsl_ran_gaussian(rng, 1.0);
        break;
    case INIT_FANIN: {
        const double bound = 1.0 / sqrt(fan_in);
        for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * gsl_rng_uniform(rng) - 1.0) * bound);
        break;
    }
    }
}

/* Walk the table (BB_PARAMS in model.h) in layout order. Always returns the element
 * count and the tensor count; with base, points p's fields into it; with ti, fills the
 * TensorInfo list; with base and rng, initialises. */
static size_t param_walk(const ModelConfig *cfg, float *base, ParamPtrs *p, TensorInfo *ti, int *ntensors,
                         gsl_rng *rng) {
    const size_t C = (size_t)cfg->C, V = (size_t)cfg->V, T = (size_t)cfg->maxT, H = (size_t)cfg->H,
                 S = (size_t)cfg->simple_hidden;
    const int TF = cfg->kind == MODEL_TRANSFORMER, SIMPLE = cfg->kind == MODEL_SIMPLE;
    const int KEYBIAS = attn_kind_has_keyslot(cfg->attn), SINK = attn_kind_has_sink(cfg->attn);
    const size_t G = (size_t)attn_gate_width(cfg->attn, cfg->C, cfg->H);
    size_t off = 0;
    int nt = 0;
    if (p) memset(p, 0, sizeof *p);

#define TENSOR(name_, layer_, count_, init_, fan_in_, present_, field_)                              \
    if (present_) {                                                                                  \
        size_t n_ = (count_);                                                                        \
        float *at_ = base ? base + off : NULL;                                                       \
        if (p) field_ = at_;                                                                         \
        if (ti) {                                                                                    \
            if ((layer_) < 0) snprintf(ti[nt].name, sizeof ti[nt].name, "%s", name_);                \
            else snprintf(ti[nt].name, sizeof ti[nt].name, "l%d.%s", (layer_), name_);               \
            ti[nt].offset = off;                                                                     \
            ti[nt].size = n_;                                                                        \
            ti[nt].layer = (layer_);                                                                 \
        }                                                                                            \
        if (at_ && rng) init_tensor(at_, n_, init_, (double)(fan_in_), rng);                         \
        off += n_;                                                                                   \
        nt++;                                                                                        \
    }
    /* one pass per `where`: each X row emits code only in its own pass */
#define IN_PRE_PRE(n, c, i, f, pr) TENSOR(#n, -1, c, i, f, pr, p->n)
#define IN_PRE_LAYER(n, c, i, f, pr)
#define IN_PRE_POST(n, c, i, f, pr)
#define IN_LAYER_PRE(n, c, i, f, pr)
#define IN_LAYER_LAYER(n, c, i, f, pr) TENSOR(#n, l, c, i, f, pr, p->n[l])
#define IN_LAYER_POST(n, c, i, f, pr)
#define IN_POST_PRE(n, c, i, f, pr)
#define IN_POST_LAYER(n, c, i, f, pr)
#define IN_POST_POST(n, c, i, f, pr) TENSOR(#n, -1, c, i, f, pr, p->n)
#define X_PRE(n, where, c, i, f, pr) IN_PRE_##where(n, c, i, f, pr)
#define X_LAYER(n, where, c, i, f, pr) IN_LAYER_##where(n, c, i, f, pr)
#define X_POST(n, where, c, i, f, pr) IN_POST_##where(n, c, i, f, pr)
    { /* globals: the layer columns mean nothing here */
        const int ATTN = 0, MLP = 0, LINEAR = 0;
        const size_t F = 0;
        (void)ATTN, (void)MLP, (void)LINEAR, (void)F;
        BB_PARAMS(X_PRE)
    }
    for (int l = 0; TF && l < cfg->L; l++) {
        const int ATTN = model_has_attn(cfg, l), MLP = model_has_mlp(cfg, l), LINEAR = model_has_linear_mlp(cfg, l);
        const size_t F = LINEAR ? C : 4 * C;
        BB_PARAMS(X_LAYER)
    }
    {
        const int ATTN = 0, MLP = 0, LINEAR = 0;
        const size_t F = 0;
        (void)ATTN, (void)MLP, (void)LINEAR, (void)F;
        BB_PARAMS(X_POST)
    }
#undef X_PRE
#undef X_LAYER
#undef X_POST
#undef IN_PRE_PRE
#undef IN_PRE_LAYER
#undef IN_PRE_POST
#undef IN_LAYER_PRE
#undef IN_LAYER_LAYER
#undef IN_LAYER_POST
#undef IN_POST_PRE
#undef IN_POST_LAYER
#undef IN_POST_POST
#undef TENSOR
    if (ntensors) *ntensors = nt;
    return off;
}

int model_alloc(Model *m, const ModelConfig *cfg, BbError *err) {
    memset(m, 0, sizeof *m);
    int rc = model_validate(cfg, err);
    if (rc) return rc;
    m->cfg = *cfg;
    int nt;
    m->nparams = param_walk(cfg, NULL, NULL, NULL, &nt, NULL);
    m->ntensors = nt;
    m->tensors = bb_calloc((size_t)nt, sizeof *m->tensors);
    m->params = bb_calloc(m->nparams, sizeof(float));
    param_walk(cfg, m->params, &m->p, m->tensors, &nt, NULL);
    return BB_OK;
}

int model_build(Model *m, const ModelConfig *cfg, BbError *err) {
    int rc = model_alloc(m, cfg, err);
    if (rc) return rc;
    gsl_rng *rng = bb_rng_alloc(cfg->init_seed);
    int nt;
    param_walk(cfg, m->params, &m->p, m->tensors, &nt, rng);
    gsl_rng_free(rng);
    return BB_OK;
}

void model_free(Model *m) {
    free(m->params);
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

void model_point(const Model *m, float *base, ParamPtrs *out) {
    param_walk(&m->cfg, base, out, NULL, NULL, NULL);
}

int model_check_finite(const Model *m, const char *where, long step, BbError *err) {
    for (int t = 0; t < m->ntensors; t++) {
        const TensorInfo *ti = &m->tensors[t];
        for (size_t i = 0; i < ti->size; i++) {
            const float x = m->params[ti->offset + i];
            if (!isfinite(x))
                return bb_fail(err, BB_ENUM, "%s: checkpoint step %ld has non-finite weights (%s[%zu] = %s; the run "
                               "diverged)", where, step, ti->name, i, isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf");
        }
    }
    return BB_OK;
}

/* ------------------------------------------------------------ workspace */

/* Carves consecutive 64-byte-aligned pieces out of one buffer (or only counts, base NULL). */
typedef struct {
    float *base;
    size_t off;
} Carver;

static float *carve(Carver *cv, size_t n) {
    float *p = cv->base ? cv->base + cv->off : NULL;
    cv->off += (n + 15) & ~(size_t)15;
    return p;
}

/* Lay out (or with base NULL, count) the activations of B sequences of length T. */
static size_t ws_layout_acts(const ModelConfig *c, Workspace *ws, float *base, int B, int T) {
    Carver cv = {base, 0};
    const size_t N = (size_t)B * T, C = (size_t)c->C, V = (size_t)c->V, H = (size_t)c->H;
    const size_t G = (size_t)attn_gate_width(c->attn, c->C, c->H);
    if (c->kind == MODEL_SIMPLE) {
        const size_t S = (size_t)c->simple_hidden;
        ws->preatt[0] = carve(&cv, (size_t)B * T * T);
        ws->att[0] = carve(&cv, (size_t)B * T * T);
        ws->logits = carve(&cv, N * V);
        ws->probs = carve(&cv, N * V);
        ws->losses = carve(&cv, N);
        ws->s_v0 = carve(&cv, V);
        ws->s_hidden = carve(&cv, V * S);
        ws->s_mlp = carve(&cv, V * V);
        return cv.off;
    }
    ws->resid[0] = carve(&cv, N * C);
    for (int l = 0; l < c->L; l++) {
        if (model_has_attn(c, l)) {
            ws->ln1[l] = carve(&cv, N * C);
            ws->ln1_mean[l] = carve(&cv, N);
            ws->ln1_rstd[l] = carve(&cv, N);
            ws->qkv[l] = carve(&cv, N * 3 * C);
            ws->preatt[l] = carve(&cv, (size_t)B * H * T * T);
            ws->att[l] = carve(&cv, (size_t)B * H * T * T);
            ws->att_slot[l] = attn_kind_has_slot(c->attn) ? carve(&cv, (size_t)B * H * T) : NULL;
            ws->atty[l] = carve(&cv, N * C);
            if (G) {
                ws->gate[l] = carve(&cv, N * G);
                ws->gated[l] = carve(&cv, N * C);
            }
            ws->attn_out[l] = carve(&cv, N * C);
            ws->resid_mid[l] = carve(&cv, N * C);
        } else {
            ws->resid_mid[l] = ws->resid[l]; /* resid_mid = resid: nothing to add */
        }
        if (model_has_mlp(c, l)) {
            ws->ln2[l] = carve(&cv, N * C);
            ws->ln2_mean[l] = carve(&cv, N);
            ws->ln2_rstd[l] = carve(&cv, N);
            ws->mlp_out[l] = carve(&cv, N * C);
            if (model_has_linear_mlp(c, l)) {
                ws->fch[l] = ws->fch_act[l] = ws->mlp_out[l];
            } else {
                ws->fch[l] = carve(&cv, N * 4 * C);
                ws->fch_act[l] = carve(&cv, N * 4 * C);
            }
        }
        ws->resid[l + 1] = carve(&cv, N * C);
    }
    ws->lnf = carve(&cv, N * C);
    ws->lnf_mean = carve(&cv, N);
    ws->lnf_rstd = carve(&cv, N);
    ws->logits = carve(&cv, N * V);
    ws->probs = carve(&cv, N * V);
    ws->losses = carve(&cv, N);
    return cv.off;
}

/* Activation gradients are per layer but reused across layers (model_backward):
 *   dres (N,C)  gradient of the residual stream, running from the top down
 *   dln  (N,C)  of a LayerNorm's output; also of atty (never live together)
 *   dfch (N,4C) of the MLP's pre-ReLU hidden layer
 *   dtmp (N,max(4C,3C,V)) of the logits, then of each layer's fch_act or qkv
 *   dgy  (N,C)  gated kinds: of the gated output
 *   dgu  (N,C)  gated kinds: the gate's part of dL/d LN1
 *   dgz  (N,G)  gated kinds: of the gate's logits */
typedef struct {
    float *dres, *dln, *dfch, *dtmp, *dgy, *dgu, *dgz;
} GradBufs;

static size_t ws_layout_grads(const ModelConfig *c, GradBufs *g, float *base, int B, int T) {
    Carver cv = {base, 0};
    const size_t N = (size_t)B * T, C = (size_t)c->C, V = (size_t)c->V;
    memset(g, 0, sizeof *g);
    if (c->kind == MODEL_SIMPLE) {
        g->dtmp = carve(&cv, N * V); /* dlogits */
        return cv.off;
    }
    size_t F = 0, tmp = V;
    for (int l = 0; l < c->L; l++) {
        if (model_has_mlp(c, l) && !model_has_linear_mlp(c, l)) F = 4 * C;
        if (model_has_attn(c, l) && tmp < 3 * C) tmp = 3 * C;
    }
    if (tmp < F) tmp = F;
    g->dres = carve(&cv, N * C);
    g->dln = carve(&cv, N * C);
    g->dfch = F ? carve(&cv, N * F) : NULL;
    g->dtmp = carve(&cv, N * tmp);
    const size_t G = (size_t)attn_gate_width(c->attn, c->C, c->H);
    g->dgy = G ? carve(&cv, N * C) : NULL;
    g->dgu = G ? carve(&cv, N * C) : NULL;
    g->dgz = G ? carve(&cv, N * G) : NULL;
    return cv.off;
}

static size_t ws_scratch_size(const ModelConfig *c, int T) {
    const size_t V = (size_t)c->V;
    if (c->kind == MODEL_SIMPLE) /* G (V,V), dv0 (V), dhidden (S) */
        return V * V + V + (size_t)c->simple_hidden;
    return (size_t)T * T; /* attention's dL/da of one (b, h) */
}

Workspace *workspace_alloc(const Model *m, int Bmax, int T) {
    const ModelConfig *c = &m->cfg;
    BB_CHECK(Bmax >= 1 && T >= 1 && T <= c->maxT);
    Workspace *ws = bb_calloc(1, sizeof *ws);
    ws->Bmax = Bmax;
    ws->T = T;
    GradBufs g;
    ws->acts_size = ws_layout_acts(c, ws, NULL, Bmax, T);
    ws->grad_size = ws_layout_grads(c, &g, NULL, Bmax, T);
    ws->scratch_size = ws_scratch_size(c, T);
    ws->acts_mem = bb_malloc(ws->acts_size * sizeof(float));
    ws->grad_mem = bb_malloc(ws->grad_size * sizeof(float));
    ws->scratch = bb_malloc(ws->scratch_size * sizeof(float));
    ws_layout_acts(c, ws, ws->acts_mem, Bmax, T);
    const size_t N = (size_t)Bmax * T;
    ws->int_mem = bb_calloc(4 * N, sizeof(int));
    ws->inputs = ws->int_mem;
    ws->targets = ws->int_mem + N;
    return ws;
}

void workspace_free(Workspace *ws) {
    if (!ws) return;
    free(ws->acts_mem);
    free(ws->grad_mem);
    free(ws->scratch);
    free(ws->int_mem);
    free(ws);
}

size_t workspace_bytes(const Workspace *ws) {
    return sizeof *ws + (ws->acts_size + ws->grad_size + ws->scratch_size) * sizeof(float) +
           4 * (size_t)ws->Bmax * ws->T * sizeof(int);
}

size_t workspace_bytes_for(const ModelConfig *cfg, int Bmax, int T) {
    Workspace ws = {0};
    GradBufs g;
    const size_t floats = ws_layout_acts(cfg, &ws, NULL, Bmax, T) + ws_layout_grads(cfg, &g, NULL, Bmax, T) +
                          ws_scratch_size(cfg, T);
    return sizeof ws + floats * sizeof(float) + 4 * (size_t)Bmax * T * sizeof(int);
}

size_t model_param_count(const ModelConfig *cfg) {
    int nt;
    return param_walk(cfg, NULL, NULL, NULL, &nt, NULL);
}

/* ------------------------------------------------------------ forward */

/* The attention's slot parameter of layer l in a parameter (or gradient) set: keyslot
 * (softmax-keybias), sink (softmax-sink) or NULL. */
static float *slot_param(const ModelConfig *c, const ParamPtrs *p, int l) {
    return attn_kind_has_keyslot(c->attn) ? p->keyslot[l] : attn_kind_has_sink(c->attn) ? p->sink[l] : NULL;
}

/* Layer l's attention block: resid_mid[l] = resid[l] + Wo attn(LN1(resid[l])). iv: NULL, or
 * the interventions, applied by the hooks where they act. */
static void attn_block_forward(const Model *m, Workspace *ws, int l, int B, const Intervention *iv) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int T = ws->T, C = c->C, H = c->H, N = B * T;
    const int *force_store[BB_MAXH];
    layernorm_forward(ws->ln1[l], ws->ln1_mean[l], ws->ln1_rstd[l], ws->resid[l], p->ln1_w[l], p->ln1_b[l], N, C);
    matmul_forward(ws->qkv[l], ws->ln1[l], p->wqkv[l], N, C, 3 * C);
    if (iv) hook_qkv(c, ws, iv, l, B);
    attention_forward(ws->atty[l], ws->preatt[l], ws->att[l], ws->att_slot[l], ws->qkv[l], slot_param(c, p, l),
                      iv ? hook_forced_keys(c, ws, iv, l, B, force_store) : NULL, B, T, C, H, c->attn);
    if (iv) hook_attention(c, ws, iv, l, B);
    const int G = attn_gate_width(c->attn, C, H);
    if (G) gate_forward(ws->gated[l], ws->gate[l], ws->atty[l], ws->ln1[l], p->wgate[l], p->bgate[l], N, C, G);
    matmul_forward(ws->attn_out[l], G ? ws->gated[l] : ws->atty[l], p->wo[l], N, C, C);
    residual_forward(ws->resid_mid[l], ws->resid[l], ws->attn_out[l], (size_t)N * C);
}

/* Layer l's MLP block: resid[l+1] = resid_mid[l] + W2 relu(W1 LN2(resid_mid[l])) (or W1 LN2(.)
 * for a linear MLP). */
static void mlp_block_forward(const Model *m, Workspace *ws, int l, int B) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int C = c->C, N = B * ws->T;
    layernorm_forward(ws->ln2[l], ws->ln2_mean[l], ws->ln2_rstd[l], ws->resid_mid[l], p->ln2_w[l], p->ln2_b[l], N,
                      C);
    if (model_has_linear_mlp(c, l)) {
        matmul_forward(ws->mlp_out[l], ws->ln2[l], p->w1[l], N, C, C);
    } else {
        matmul_forward(ws->fch[l], ws->ln2[l], p->w1[l], N, C, 4 * C);
        relu_forward(ws->fch_act[l], ws->fch[l], (size_t)N * 4 * C);
        matmul_forward(ws->mlp_out[l], ws->fch_act[l], p->w2[l], N, 4 * C, C);
    }
    residual_forward(ws->resid[l + 1], ws->resid_mid[l], ws->mlp_out[l], (size_t)N * C);
}

/* The transformer up to the logits. */
static void transformer_forward(const Model *m, Workspace *ws, int B, const Intervention *iv) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int T = ws->T, C = c->C, N = B * T;
    encoder_forward(ws->resid[0], ws->inputs, p->wte, p->wpe, B, T, C);
    for (int l = 0; l < c->L; l++) {
        if (model_has_attn(c, l)) attn_block_forward(m, ws, l, B, iv); /* else resid_mid[l] is resid[l] */
        if (model_has_mlp(c, l)) mlp_block_forward(m, ws, l, B);
        else memcpy(ws->resid[l + 1], ws->resid_mid[l], (size_t)N * C * sizeof(float));
        if (iv) hook_layer(c, ws, iv, l, B);
    }
    layernorm_forward(ws->lnf, ws->lnf_mean, ws->lnf_rstd, ws->resid[c->L], p->lnf_w, p->lnf_b, N, C);
    matmul_forward(ws->logits, ws->lnf, p->wout, N, C, c->V);
}

float model_forward(const Model *m, Workspace *ws, const int *inputs, const int *targets, int B,
                    const Intervention *iv) {
    const ModelConfig *c = &m->cfg;
    BB_CHECK(B >= 1 && B <= ws->Bmax);
    const int V = c->V;
    const size_t N = (size_t)B * ws->T;
    for (size_t i = 0; i < N; i++) BB_CHECK(inputs[i] >= 0 && inputs[i] < V);
    memcpy(ws->inputs, inputs, N * sizeof(int));
    if (targets) {
        for (size_t i = 0; i < N; i++) BB_CHECK(targets[i] >= 0 && targets[i] < V);
        memcpy(ws->targets, targets, N * sizeof(int));
    }
    if (!hook_active(iv)) iv = NULL;
    ws->B = B;
    ws->plain = iv == NULL;
    ws->backward_ready = targets != NULL && ws->plain;

    if (c->kind == MODEL_SIMPLE) simple_forward(m, ws, B, iv);
    else transformer_forward(m, ws, B, iv);
    crossentropy_forward(ws->losses, ws->probs, ws->logits, targets ? ws->targets : NULL, (int)N, V);
    if (!targets) return 0.0f;
    double sum = 0.0;
    for (size_t i = 0; i < N; i++) sum += ws->losses[i];
    return (float)(sum / (double)N);
}

/* ------------------------------------------------------------ backward */

/* Layer l's MLP block backward: dres holds dL/d resid[l+1] on entry, dL/d resid_mid[l] on
 * exit. dln and gb's buffers are scratch. */
static void mlp_block_backward(const Model *m, Workspace *ws, const ParamPtrs *g, const GradBufs *gb, int l,
                               float *dres) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int C = c->C, N = ws->B * ws->T;
    const size_t NC = (size_t)N * C;
    float *dln = gb->dln;
    // forward: resid[l+1] = resid_mid + mlp_out, so d mlp_out = dres and d resid_mid
    // = dres: the same buffer carries on, nothing to add
    memset(dln, 0, NC * sizeof(float));
    if (model_has_linear_mlp(c, l)) {
        matmul_backward(dln, g->w1[l], dres, ws->ln2[l], p->w1[l], N, C, C);
    } else {
        float *dfch_act = gb->dtmp, *dfch = gb->dfch;
        memset(dfch_act, 0, NC * 4 * sizeof(float));
        matmul_backward(dfch_act, g->w2[l], dres, ws->fch_act[l], p->w2[l], N, 4 * C, C);
        memset(dfch, 0, NC * 4 * sizeof(float));
        relu_backward(dfch, dfch_act, ws->fch[l], NC * 4);
        matmul_backward(dln, g->w1[l], dfch, ws->ln2[l], p->w1[l], N, C, 4 * C);
    }
    layernorm_backward(dres, g->ln2_w[l], g->ln2_b[l], dln, ws->resid_mid[l], p->ln2_w[l], ws->ln2_mean[l],
                       ws->ln2_rstd[l], N, C);
}

/* Layer l's attention block backward: dres holds dL/d resid_mid[l] on entry, dL/d resid[l]
 * on exit. */
static void attn_block_backward(const Model *m, Workspace *ws, const ParamPtrs *g, const GradBufs *gb, int l,
                                float *dres) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const int B = ws->B, T = ws->T, C = c->C, H = c->H, N = B * T;
    const size_t NC = (size_t)N * C;
    // forward: resid_mid = resid[l] + attn_out: d attn_out = dres, d resid[l] = dres
    const int G = attn_gate_width(c->attn, C, H);
    float *datty = gb->dln, *dqkv = gb->dtmp, *dgy = gb->dgy;
    memset(datty, 0, NC * sizeof(float));
    if (G) {
        // forward: gated = atty * sigmoid(ln1 wgate^T + bgate); attn_out = Wo gated
        memset(dgy, 0, NC * sizeof(float));
        matmul_backward(dgy, g->wo[l], dres, ws->gated[l], p->wo[l], N, C, C);
        memset(gb->dgu, 0, NC * sizeof(float));
        gate_backward(datty, gb->dgu, g->wgate[l], g->bgate[l], gb->dgz, dgy, ws->atty[l], ws->gate[l], ws->ln1[l],
                      p->wgate[l], N, C, G);
    } else {
        matmul_backward(datty, g->wo[l], dres, ws->atty[l], p->wo[l], N, C, C);
    }
    memset(dqkv, 0, NC * 3 * sizeof(float));
    attention_backward(dqkv, slot_param(c, g, l), ws->scratch, datty, ws->qkv[l], slot_param(c, p, l),
                       ws->preatt[l], ws->att[l], ws->att_slot[l], B, T, C, H, c->attn);
    float *dln1 = gb->dln; /* datty is consumed */
    memset(dln1, 0, NC * sizeof(float));
    matmul_backward(dln1, g->wqkv[l], dqkv, ws->ln1[l], p->wqkv[l], N, C, 3 * C);
    if (G) // forward: ln1 feeds both wqkv and the gate
        for (size_t i = 0; i < NC; i++) dln1[i] += gb->dgu[i];
    layernorm_backward(dres, g->ln1_w[l], g->ln1_b[l], dln1, ws->resid[l], p->ln1_w[l], ws->ln1_mean[l],
                       ws->ln1_rstd[l], N, C);
}

/* The blocks backward: dres holds dL/d resid[L] on entry, dL/d resid[0] on exit. */
static void blocks_backward(const Model *m, Workspace *ws, const ParamPtrs *g, const GradBufs *gb, float *dres) {
    const ModelConfig *c = &m->cfg;
    for (int l = c->L - 1; l >= 0; l--) {
        if (model_has_mlp(c, l)) mlp_block_backward(m, ws, g, gb, l, dres); /* else d resid_mid = d resid[l+1] */
        if (model_has_attn(c, l)) attn_block_backward(m, ws, g, gb, l, dres);
    }
}

void model_backward_resid(const Model *m, Workspace *ws, float *grads, float *dres) {
    BB_CHECK(m->cfg.kind == MODEL_TRANSFORMER && ws->plain);
    ParamPtrs g;
    if (grads) model_point(m, grads, &g);
    else memset(&g, 0, sizeof g); /* input gradients only */
    GradBufs gb;
    ws_layout_grads(&m->cfg, &gb, ws->grad_mem, ws->Bmax, ws->T);
    blocks_backward(m, ws, &g, &gb, dres);
}

void model_backward(const Model *m, Workspace *ws, float *grads, float dloss) {
    const ModelConfig *c = &m->cfg;
    BB_CHECK(ws->backward_ready); /* a forward with targets and no intervention */
    ParamPtrs g;
    model_point(m, grads, &g);
    if (c->kind == MODEL_SIMPLE) {
        simple_backward(m, ws, &g, dloss);
        return;
    }
    const int B = ws->B, T = ws->T, C = c->C, V = c->V;
    const int N = B * T;
    const size_t NC = (size_t)N * C;
    const ParamPtrs *p = &m->p;
    GradBufs gb;
    ws_layout_grads(c, &gb, ws->grad_mem, ws->Bmax, T);
    float *dres = gb.dres, *dln = gb.dln;

    float *dlogits = gb.dtmp;
    memset(dlogits, 0, (size_t)N * V * sizeof(float));
    crossentropy_backward(dlogits, ws->probs, ws->targets, dloss, N, V);
    memset(dln, 0, NC * sizeof(float));
    matmul_backward(dln, g.wout, dlogits, ws->lnf, p->wout, N, C, V);
    memset(dres, 0, NC * sizeof(float));
    layernorm_backward(dres, g.lnf_w, g.lnf_b, dln, ws->resid[c->L], p->lnf_w, ws->lnf_mean, ws->lnf_rstd, N, C);

    blocks_backward(m, ws, &g, &gb, dres);
    encoder_backward(g.wte, g.wpe, dres, ws->inputs, B, T, C);
}

/* ------------------------------------------------------------ FLOPs */

double model_forward_flops(const ModelConfig *c, int B, int T) {
    const double n = (double)B * T, d = c->C, V = c->V, NN = (double)B * T * T;
    if (c->kind == MODEL_SIMPLE) {
        const double S = c->simple_hidden;
        /* attention rows over j <= i, the weighted values, the per-type MLP table, Wo b */
        return 4.0 * NN / 2.0 + 2.0 * V * V * S + 2.0 * V * V + n * V;
    }
    double f = 2.0 * n * d * V;
    for (int l = 0; l < c->L; l++) {
        if (model_has_attn(c, l)) f += 2.0 * n * 4.0 * d * d + 4.0 * NN * d + 2.0 * n * d * attn_gate_width(c->attn, c->C, c->H);
        if (model_has_mlp(c, l)) f += model_has_linear_mlp(c, l) ? 2.0 * n * d * d : 2.0 * n * 8.0 * d * d;
    }
    return f;
}
