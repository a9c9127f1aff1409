/* The metrics of docs/method.md#metrics on plain arrays: risks against the oracle law, the
 * three extreme-token phenomena per layer and head (attention sink, sink logit, value
 * drain, residual peak), importance scores and the sink rate, and the head classifier.
 * Nothing here runs the model: callers pass activations (Workspace slabs or
 * hand-built arrays) and merge accumulators in a fixed order (determinism). */
#ifndef BBSIM_METRICS_H
#define BBSIM_METRICS_H

#include "bbsim/task.h"

/* ---- domains: which positions a number is averaged over ----
 * A position's domain bits: DOM_ALL always; DOM_TRIGGER when its input token is a
 * trigger (the backcopy positions), DOM_NONTRIGGER otherwise (the bigram positions,
 * position 0 included); DOM_TOKENS when its input token is in a user-given set. */
enum { DOM_ALL = 0, DOM_TRIGGER = 1, DOM_NONTRIGGER = 2, DOM_TOKENS = 3, DOM_N = 4 };
extern const char *const metrics_domain_names[]; /* "all","trigger","nontrigger","tokens" */
#define DOM_BIT(d) ((unsigned char)(1u << (d)))

/* dom (B,T): domain bits of every position of a batch. token_set (V) or NULL. */
void metrics_domains(const Task *t, const int *inputs, int B, int T, const unsigned char *token_set,
                     unsigned char *dom);

/* ---- risks ---- */
typedef struct RiskAcc {
    double ce[DOM_N];      /* sum of CE(p*, q) = -sum_v p*(v) log q(v) (model risk) */
    double entropy[DOM_N]; /* sum of H(p*) (oracle risk) */
    double loss[DOM_N];    /* sum of -log q(target) (the training loss on these data) */
    long n[DOM_N];         /* positions */
} RiskAcc;

typedef struct Risks {
    double risk[DOM_N];   /* model risk: mean CE(p*, q) */
    double oracle[DOM_N]; /* oracle risk: mean H(p*) */
    double excess[DOM_N]; /* risk - oracle */
    double loss[DOM_N];   /* mean -log q(target) */
    long n[DOM_N];
} Risks; /* NaN where a domain has no position */

/* -sum_v pstar[v] log softmax(logits)[v], in double (terms with pstar[v] = 0 skipped). */
double metrics_cross_entropy(const double *pstar, const float *logits, int V);
/* -log softmax(logits)[target]. */
double metrics_target_loss(const float *logits, int V, int target);
/* Add one position's numbers to every domain in its bits. */
void metrics_risk_add(RiskAcc *acc, unsigned char dom, double ce, double entropy, double loss);
/* Every position of a batch: oracle law from task_oracle, logits (B,T,V) of the model,
 * targets (B,T) or NULL (then loss is not accumulated: 0). pscratch holds V doubles. */
void metrics_risk_accumulate(RiskAcc *acc, const Task *t, const int *inputs, const int *targets,
                             const float *logits, const unsigned char *dom, int B, int T, int V,
                             double *pscratch);
void metrics_risk_merge(RiskAcc *into, const RiskAcc *from);
void metrics_risks(const RiskAcc *acc, Risks *out);

/* ---- attention ----
 * Attention "share" of key j for query i: |a_ij| / (sum_{j'<=i} |a_ij'| + |slot_i|), the
 * proxy of docs/method.md#metrics for activations whose weights do not sum to one (relu,
 * sigmoid); for softmax, sigmoid-norm, softmax-keybias and softmax1 it is the weight
 * itself (their rows, slot included, sum to one). A row with no mass has share 0. */
double metrics_attn_share(const float *att_row, float slot, int i, int j);

/* Sums behind one head's numbers; merge with metrics_head_merge. */
typedef struct HeadAcc {
    double bos[DOM_N];   /* sum over positions of the share on key 0 */
    double mass[DOM_N];  /* sum over positions of sum_j a_ij (raw row mass) */
    double slot[DOM_N];  /* sum over positions of the share on the extra slot */
    long n[DOM_N];
    double prev;         /* sum over trigger positions i >= 1 of the share on key i-1 */
    long nprev;
    double importance;   /* sum over sequences of alpha_k (k = sink key) */
    long nseq;
    long sink_hits;      /* sequences with alpha_k > eps */
    double *dlogit_sum;  /* (V) per input token type: sum of dlogit<s> at positions i >= 2 */
    long *dlogit_n;      /* (V) */
    double val_bos, val_other; /* sums of ||Wo_h v_j|| for j = 0 and j >= 1 */
    long nval_bos, nval_other;
    int T;
    double *key_share;   /* (DOM_N, T) sum over the domain's rows i of the share on key position j */
    /* The sink on a token type (metrics_head_finish's sink_type): f_v = the position of the
     * first token of type v in the sequence; over non-trigger rows i >= f_v only. */
    int V;
    double *type_share;  /* (V) sum of the share on key f_v */
    long *type_rows;     /* (V) those rows */
    long *type_argmax;   /* (V) non-trigger rows whose largest-share key holds a token of type v */
    int *first_pos;      /* (T) scratch: the first positions of the types seen so far */
} HeadAcc;

/* V token types, T positions per sequence. */
void metrics_head_init(HeadAcc *a, int V, int T);
void metrics_head_free(HeadAcc *a);
void metrics_head_clear(HeadAcc *a, int V);
void metrics_head_merge(HeadAcc *into, const HeadAcc *from, int V);

/* One sequence, one head. att (T,T) weights a_ij (row i, keys j <= i), slot (T) weight
 * on an extra slot or NULL, preatt (T,T) scores s_ij or NULL (no dlogit), inputs (T)
 * token ids, dom (T) domain bits; T must be the T of metrics_head_init. sink_key k and eps define the importance score
 * alpha_k = (1/(T-k)) sum_{i>=k} share_ik and the sink hit alpha_k > eps. */
void metrics_head_attention(HeadAcc *a, const float *att, const float *slot, const float *preatt,
                            const int *inputs, const unsigned char *dom, int T, int sink_key,
                            double eps);
/* dlogit<s> at query i >= 2: s_i0 - mean_{1<=j<=i-1} s_ij (diagonal excluded). */
double metrics_dlogit(const float *preatt_row, int i);
/* alpha_k of one head and sequence (shares, as above). */
double metrics_importance(const float *att, const float *slot, int T, int k);
/* Chance level of alpha_0 for uniform causal attention: H_N / N. */
double metrics_sink_chance(int N);

/* ---- value states ----
 * ||Wo_h v||: Wo (C,C) row-major with out = Wo x, head h's block = its columns
 * h*hs .. h*hs+hs-1; v (hs) the head's value state. */
double metrics_value_norm(const float *wo, int C, int hs, int h, const float *v);
/* Add the value norm of position j (0 = the first token, <s>) to a's |Val<s>| or
 * other-token sums. */
void metrics_value_add(HeadAcc *a, int j, double norm);
/* Every position of one sequence: v_j read from qkv (T,3C) (q | k | v, head h at
 * column 2C + h*hs). Accumulates j = 0 vs j >= 1 into a (may be NULL); norms (T) or NULL
 * receives each ||Wo_h v_j||. */
void metrics_head_values(HeadAcc *a, const float *wo, const float *qkv, int T, int C, int H, int h,
                         double *norms);
/* The same for B sequences at once through one sgemm (out = V_h Wo_h^T); qkv (B,T,3C),
 * scratch (B*T*C) floats, norms (B*T) or NULL. Agrees with metrics_head_values up to
 * float rounding of the product. */
void metrics_head_values_gemm(HeadAcc *a, const float *wo, const float *qkv, int B, int T, int C, int H,
                              int h, float *scratch, double *norms);

/* Euclidean norm ||x|| and the norm of its mean-free part ||x - mean(x) 1|| (the part a
 * softmax over the n entries sees), in double. The simplified model's |Val<s>| is
 * metrics_norm(Wo b). */
double metrics_norm(const float *x, int n);
double metrics_norm_centered(const float *x, int n);

/* ---- residual stream ---- */
typedef struct ResidAcc {
    double bos, other; /* sums of ||h_0|| and ||h_i||, i >= 1 */
    long nbos, nother;
} ResidAcc;
/* One sequence: resid (T,C). norms (T) or NULL receives each ||h_i||. */
void metrics_resid(ResidAcc *a, const float *resid, int T, int C, double *norms);
void metrics_resid_merge(ResidAcc *into, const ResidAcc *from);

/* ---- finished numbers ---- */
typedef struct HeadMetrics {
    double attn_bos[DOM_N];  /* Attn<s>: mean share on key 0 */
    double attn_mass[DOM_N]; /* mean raw row mass sum_j a_ij */
    double attn_slot[DOM_N]; /* mean share on the extra slot (0 without one) */
    long n[DOM_N];
    double attn_prev;        /* Attn_prev: mean share on key i-1 over trigger positions */
    double dlogit_mean;      /* mean over non-trigger token types of their mean dlogit<s> */
    double dlogit_p10, dlogit_p90; /* 10% / 90% quantiles over those types */
    int dlogit_ntypes;
    double val_bos, val_other, val_ratio; /* |Val<s>|, mean ||Wo_h v_j|| over j >= 1, ratio */
    double importance;       /* mean alpha_k over sequences */
    double sink_frac;        /* fraction of sequences with alpha_k > eps */
    int top_key;             /* the key position with the largest mean share over non-trigger rows */
    double top_key_share;    /* that mean share (rows that cannot see the key count as 0) */
    /* The sink on a token type X (docs/method.md, "sink on a token type"): over the
     * non-trigger rows i >= f_X (f_X = the first position of a token of type X in the
     * sequence; earlier rows cannot see it and are left out), the mean share on key f_X.
     * X is the type with the largest such mean among the types whose first token is seen
     * by at least METRICS_SINK_TYPE_MIN_ROWS of the non-trigger rows (-1 when none is). */
    int sink_type;
    double sink_type_share;  /* that mean share */
    long sink_type_rows;     /* the rows behind it */
    double sink_type_argmax; /* share of those rows whose largest-share key is a token of type X */
} HeadMetrics;
/* A candidate sink type must be visible to this fraction of the non-trigger rows, so that a
 * type seen by a handful of late rows cannot win on noise. */
#define METRICS_SINK_TYPE_MIN_ROWS 0.1

/* is_trigger (V) marks trigger types (excluded from the dlogit summary). dlogit_type (V)
 * or NULL receives each type's mean dlogit<s> (NaN when the type never occurs);
 * key_profile (DOM_N, T) or NULL the mean share on each key position over each domain's
 * rows (NaN for an empty domain). */
void metrics_head_finish(const HeadAcc *a, const unsigned char *is_trigger, int V, HeadMetrics *out,
                         double *dlogit_type, double *key_profile);
/* Per token type v, the numbers behind sink_type: share (V) the mean share on the first
 * token of type v over the non-trigger rows that can see it (NaN without such a row), argmax
 * (V) the share of those rows whose largest-share key is a token of type v, rows (V) their
 * count. Any of the three may be NULL. */
void metrics_head_types(const HeadAcc *a, double *share, double *argmax, long *rows);

typedef struct ResidMetrics {
    double bos, other, gap, ratio; /* ||h_0||, mean ||h_i|| (i >= 1), bos - other, bos / other */
} ResidMetrics;
void metrics_resid_finish(const ResidAcc *a, ResidMetrics *out);

/* Sink rate in percent: 100 * sum of hits / sum of (sequence, head) pairs over the
 * heads given (= the per-sequence percentage of heads with alpha_k > eps, averaged over
 * sequences, when every head saw every sequence). NaN without any pair. */
double metrics_sink_rate(const HeadAcc *heads, int nheads);

/* ---- head classification ---- */
typedef enum { HEAD_DORMANT, HEAD_ACTIVE, HEAD_MIXED, HEAD_EMPTY } HeadLabel;
extern const char *const head_label_names[]; /* "dormant","active","mixed","empty" */
/* "Mostly elsewhere": the active label needs the share on key 0 below this. */
#define METRICS_ACTIVE_MAX_BOS 0.5
/* dormant: attn_bos > tau_sink and |delta_risk| < tau_loss;
 * active: attn_bos < METRICS_ACTIVE_MAX_BOS and delta_risk > tau_loss; else mixed;
 * empty when either number is NaN (the domain has no position).
 * delta_risk = the domain's risk with the head removed - the full model's. */
HeadLabel metrics_classify(double attn_bos, double delta_risk, double tau_sink, double tau_loss);

#endif
