/* The analysis drivers behind `bbsim analyze` and `bbsim intervene` (docs/method.md#metrics):
 * run the instrumented forward pass over the fixed evaluation batch in fixed chunks
 * (one Workspace per thread, accumulators merged in chunk order, so the numbers never
 * depend on the thread count), turn the activations into metrics (src/analysis/metrics.c), and
 * write the tidy TSVs the figures read. */
#ifndef BBSIM_ANALYSIS_H
#define BBSIM_ANALYSIS_H

#include <stdio.h>
#include "bbsim/metrics.h"
#include "bbsim/model.h"
#include "bbsim/run.h"

typedef struct AnalysisConfig {
    int chunk;        /* sequences per forward call (fixed: results depend on it only through
                         float rounding inside the model, never on threads) [8] */
    int sink_key;     /* k of alpha_k and Sink_k (0 = the first token) [0] */
    double sink_eps;  /* eps of Sink_k^eps [0.3] */
    double tau_sink;  /* head classifier: dormant needs Attn<s> above this [0.9] */
    double tau_loss;  /* ... and a removal effect below this (nats) [0.01] */
} AnalysisConfig;

void analysis_config_default(AnalysisConfig *c);

/* The fixed evaluation batch with each position's domain bits (metrics.h). */
typedef struct EvalBatch {
    int B, T;
    int *inputs, *targets;      /* (B,T) */
    unsigned char *dom;         /* (B,T) */
    unsigned char *token_set;   /* (V) the user's token domain, or NULL */
} EvalBatch;

/* task_eval_batch(B) + domains. token_set (V) is copied (NULL: no token domain). */
void analysis_batch(EvalBatch *eb, const Task *t, int B, const unsigned char *token_set);
void analysis_batch_free(EvalBatch *eb);

/* The model's shape as the analyses see it (the simplified model: one layer, one head). */
int analysis_layers(const Model *m);
int analysis_heads(const Model *m);
int analysis_has_resid(const Model *m); /* 0 for the simplified model (no residual stream) */

/* Every finished number of one pass over the batch. */
typedef struct Analysis {
    int L, H, V, B, T;
    Risks risks;
    HeadMetrics head[BB_MAXL * BB_MAXH];  /* [l*H + h], valid where model_has_attn(l) */
    ResidMetrics resid[BB_MAXL];          /* after layer l, valid when analysis_has_resid */
    double *dlogit_type;                  /* (L*H, V) mean dlogit<s> per input token type */
    long *dlogit_count;                   /* (L*H, V) positions behind each */
    double *key_profile;                  /* (L*H, DOM_N, T) mean share on each key position */
    double *type_share, *type_argmax;     /* (L*H, V) the sink on a token type, per type (metrics_head_types) */
    long *type_rows;                      /* (L*H, V) */
    double sink_rate;                     /* Sink_k^eps in percent over the heads with attention */
    double sink_chance;                   /* H_T / T: uniform causal attention at key 0 */
} Analysis;

enum { ANALYSIS_RISKS = 1, ANALYSIS_ALL = 3 };

/* Forward the batch in chunks with intervention iv (NULL: none) and collect `what`.
 * threads <= 1 runs serially (use inside an outer parallel region). */
void analysis_collect(Analysis *out, const Model *m, const Task *t, const EvalBatch *eb, const Intervention *iv,
                      const AnalysisConfig *ac, int what, int threads);
void analysis_free(Analysis *a);
/* BB_ENUM when the full model's risk on the batch (a, collected without interventions) is
 * not finite: weights finite (run_load checks them) but so large that the forward pass
 * overflows, as in a run stopped just before its loss became NaN. where and step name the
 * checkpoint in the message. */
int analysis_check_risk(const Analysis *a, const char *where, long step, BbError *err);

/* Risks per domain with each attention head removed (zero_head), in removed[l*H + h]
 * (only heads of layers with attention are filled). */
void analysis_head_removal(Risks *removed, const Model *m, const Task *t, const EvalBatch *eb,
                           const AnalysisConfig *ac, int threads);

/* One sequence's activations for the figures: attention maps, value and residual norms. */
typedef struct SeqDump {
    int L, H, T, index;
    int *tokens;        /* (T) */
    float *att;         /* (L,H,T,T) weights a_ij (0 for j > i and for layers without attention) */
    double *share;      /* (L,H,T,T) shares |a_ij| / (sum_j' |a_ij'| + |slot_i|) */
    double *value_norm; /* (L,H,T) ||Wo_h v_j|| (simplified model: ||Wo b|| at j = 0, |w[x_j]| else) */
    double *resid_norm; /* (L,T) ||h_i|| after layer l (NULL for the simplified model) */
} SeqDump;

void analysis_sequence(SeqDump *d, const Model *m, const EvalBatch *eb, int b, const Intervention *iv);
void analysis_sequence_free(SeqDump *d);

/* The "active" sequence has the most trigger positions among its first min(T, 32)
 * positions (ties: the earliest first trigger, then the lowest index); the "dormant" one
 * has its first trigger latest (no trigger at all counts as T; ties: lowest index). */
void analysis_pick_sequences(const EvalBatch *eb, int *active, int *dormant);

/* ---- output files (all through tsv_begin: the column names, then the '#' provenance;
 * include/bbsim/tsv.h) ---- */

/* The '#' lines after the provenance: "# run DIR", "# checkpoint STEP" (omitted when
 * step < 0), "# eval_batch B", the analysis settings and the run's configuration. */
void analysis_header(FILE *f, const Run *run, long step, int eval_batch, const AnalysisConfig *ac);
/* The run's experiment configuration as "# config NAME VALUE" lines (part of
 * analysis_header): every setting but the runtime ones (out, resume, threads, quiet),
 * which the checkpoint does not record. */
void analysis_config_lines(FILE *f, const Run *run);

/* Each writer opens DIR/NAME atomically (tsv_begin), writes the header and the table,
 * commits. Token labels go in escaped (task_label; docs/method.md#token-labels). */
int analysis_write_risks(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                         const Analysis *a, BbError *err);
int analysis_write_metrics(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                           const Analysis *a, BbError *err);
int analysis_write_heads(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                         const Analysis *a, const Risks *removed, BbError *err);
int analysis_write_dlogit(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                          const Analysis *a, BbError *err);
int analysis_write_keys(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                        const Analysis *a, BbError *err);
/* types.tsv: per head and token type, the numbers behind sink_type (docs/method.md). */
int analysis_write_types(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                         const Analysis *a, BbError *err);
int analysis_write_sink(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                        const Analysis *a, BbError *err);
/* attention_<name>_l<L>h<H>.tsv, values_<name>.tsv, norms_<name>.tsv of one sequence. */
int analysis_write_sequence(const char *dir, const char *name, const Run *run, const EvalBatch *eb,
                            const AnalysisConfig *ac, const SeqDump *d, BbError *err);
/* dynamics.tsv: one row per checkpoint (a[k] at steps[k]). */
int analysis_write_dynamics(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                            const long *steps, const Analysis *a, int n, BbError *err);

/* ---- interventions ----
 * The one list of `bbsim intervene`'s interventions (flag, what it takes, what it does),
 * in --help order; NULL-terminated. Head interventions take "L.H" (or "L": every head of
 * layer L), layer ones "L"; comma lists allowed. */
typedef enum {
    IV_NO_ATTN, IV_NO_MLP, IV_NO_LAYER, IV_ZERO_BOS_VALUE, IV_ZERO_BOS_RESIDUAL, IV_ORACLE_ATTN, IV_ALL_BOS
} InterventionKind;
typedef struct InterventionInfo {
    const char *flag; /* without "--" */
    int per_head;     /* takes L.H (else L) */
    const char *help;
} InterventionInfo;
extern const InterventionInfo analysis_interventions[]; /* indexed by InterventionKind */
#define ANALYSIS_NINTERVENTIONS 7
/* The kind of flag "no-attn" etc., or -1. */
int analysis_intervention_find(const char *flag);

/* Apply one intervention to iv, checked against the model. Bad syntax or an index the
 * model does not have: BB_EINPUT. */
int analysis_intervention_add(Intervention *iv, const Model *m, InterventionKind kind, const char *value,
                              BbError *err);

/* One named set of interventions of `bbsim intervene`, compared with the full model. */
typedef struct InterventionSet {
    char name[64];   /* letters, digits and -_.:,+ (a TSV field) */
    char spec[1024]; /* the flags as given, "--no-attn 0.0 --no-mlp 0" */
    Intervention iv;
    int nflags;      /* intervention flags given into the set */
} InterventionSet;

/* The tables of bbsim intervene (src/analysis/intervene.c), res[0] the full model and
 * res[s] (s = 1..nsets) the model under sets[s-1], each collected on the batch of B
 * sequences; analysis_set_name(sets, s) names row s ("full" for 0).
 * interventions.tsv in dir: per set and domain (the first ndom of metrics_domain_names),
 * the risks with and without the set; intervention_metrics.tsv: every metric of
 * analysis_metric_entries under each set. */
const char *analysis_set_name(const InterventionSet *sets, int s);
int analysis_write_interventions(const char *dir, const Run *run, int B, const AnalysisConfig *ac,
                                 const InterventionSet *sets, int nsets, const Analysis *res, int ndom,
                                 BbError *err);
int analysis_write_intervention_metrics(const char *dir, const Run *run, int B, const AnalysisConfig *ac,
                                        const InterventionSet *sets, int nsets, const Analysis *res, int has_tokens,
                                        BbError *err);

/* ---- the metric table as (name, value) pairs, shared by metrics.tsv, dynamics.tsv and
 * intervention_metrics.tsv: model-level scalars (layer = head = -1), per-layer (head = -1)
 * and per-head ones. Returns the number of entries written (at most cap). */
typedef struct MetricEntry {
    int layer, head;
    char name[32];
    double value;
} MetricEntry;
int analysis_metric_entries(const Analysis *a, const Model *m, int has_tokens, MetricEntry *out, int cap);

/* ---- bbsim analyze's work on a run directory (src/analysis/analyze_run.c) ---- */

/* --tokens "3,7" as a (V) membership table (*set, malloc'd); "" -> NULL. BB_EINPUT naming
 * --tokens on a bad list or an id outside 0..V-1. */
int analysis_token_set(const char *ids, int V, unsigned char **set, BbError *err);

/* What to analyse, as `bbsim analyze`'s flags say it. */
typedef struct AnalyzeRequest {
    long step;              /* checkpoint: a step, or -1 = the last */
    int all;                /* every checkpoint instead: dynamics.tsv (step unused) */
    BbIntList seqs;         /* sequences of the evaluation batch dumped besides 'active' and 'dormant' */
    int eval_batch;         /* sequences of the fixed evaluation batch (0 = the run's --eval-batch) */
    char tokens[BB_STRLEN]; /* token ids of an extra domain, "3,7" ("" = none) */
    int no_heads;           /* skip the head-removal passes (no heads.tsv) */
    AnalysisConfig ac;
} AnalyzeRequest;

/* The last checkpoint, the run's batch, no extra domain or sequences, analysis_config_default. */
void analyze_request_default(AnalyzeRequest *r);

/* Analyse the run in dir into the folder outdir, replaced as a whole: one checkpoint's
 * risks.tsv, metrics.tsv, heads.tsv, dlogit.tsv, keys.tsv, types.tsv, sink.tsv and the
 * sequence files (a dynamics.tsv there stays), or with req->all every checkpoint's
 * dynamics.tsv (one checkpoint's files there stay). Threads: bb_threads(), single-threaded
 * GEMMs expected (blas_set_threads(1)). An interrupt (bb_catch_interrupts) between files
 * gives BB_EINTR with outdir as it was. report (NULL: quiet): the summary table, and for
 * req->all a progress line on stderr when it is a terminal. */
int analyze_run(const char *dir, const char *outdir, const AnalyzeRequest *req, FILE *report, BbError *err);

#endif
