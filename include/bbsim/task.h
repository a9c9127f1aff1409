/* The Bigram-Backcopy task and its variants (docs/method.md#the-task): transition tables from
 * three sources, trigger choice, deterministic per-sequence sampling, the fixed
 * evaluation batch, the oracle next-token law and the exact Bayes floor. */
#ifndef BBSIM_TASK_H
#define BBSIM_TASK_H

#include <stdint.h>
#include <gsl/gsl_randist.h>
#include "bbsim/common.h"

typedef enum { TASK_BB, TASK_MARKOV, TASK_DORMANT_MARKOV, TASK_BB_MIX, TASK_INDUCTION } TaskKind;
extern const char *const task_kind_names[]; /* "bb","markov","dormant-markov","bb-mix","induction",NULL */

#define TASK_MAX_VBASE 1024 /* larger tables are refused ("too large") */

/* --table NAME: the built-in tables (--corpus and --transitions override them). */
typedef enum { TASK_TABLE_SHAKESPEARE, TASK_TABLE_SYNTHETIC } TaskTableName;
extern const char *const task_table_names[]; /* "shakespeare","synthetic",NULL */

typedef struct TaskConfig {
    int kind;                       /* TaskKind */
    int table;                      /* TaskTableName: the built-in table (shakespeare) */
    int vbase;                      /* synthetic table: number of ordinary tokens (64) */
    uint64_t table_seed;            /* synthetic table seed */
    char corpus[BB_STRLEN];         /* --corpus FILE or "" */
    char transitions[BB_STRLEN];    /* --transitions FILE or "" */
    char marginal[BB_STRLEN];       /* --marginal FILE or "" */
    char labels[BB_STRLEN];         /* --labels FILE or "" */
    int k;                          /* number of triggers (3) */
    char triggers[BB_STRLEN];       /* --triggers a,b,c (token ids) or "" */
    double mix_p;                   /* bb-mix copy probability (0.5) */
    int bos;                        /* number of leading BOS tokens: 0, 1 or 2 */
    int packing;                    /* windows cut from a stream of sequences */
    int seq;                        /* sequence length N (256) */
    uint64_t data_seed;             /* training data seed */
    uint64_t eval_seed;             /* evaluation batch seed */
    int eval_batch;                 /* evaluation batch size (512) */
} TaskConfig;

typedef struct Task {
    TaskConfig cfg;
    int vbase;             /* ordinary tokens 0..vbase-1 */
    int V;                 /* vbase + 2: BOS (id vbase) and an unused delimiter (vbase+1) */
    int bos_id, delim_id;
    double *pi;            /* (vbase) unigram marginal */
    double *P;             /* (vbase, vbase) row-stochastic bigram P(b|a) = P[a*vbase+b] */
    double *pi_nt;         /* (vbase) pi with triggers zeroed, renormalised (pi') */
    int ntrig;
    int trig[BB_MAXLIST];  /* trigger ids */
    unsigned char *is_trigger; /* (V) 1 for triggers */
    char (*labels)[16];    /* (V) escaped label of each token id (task_label) */
    gsl_ran_discrete_t **row_sampler; /* (vbase) samplers of P(.|a) */
    gsl_ran_discrete_t *pi_sampler, *pi_nt_sampler;
    char source[BB_STRLEN]; /* the table's provenance (shakespeare: its "# source" line) */
} Task;

void task_config_default(TaskConfig *c);
/* Option table for the task flags (shared by task, train, ...). Returns the count;
 * `out` must hold TASK_NOPTS entries. */
#define TASK_NOPTS 24
int task_opts(TaskConfig *c, Opt *out);

/* --vocab and --table-seed given in argv (as opts_given reads it) with a table they do
 * not apply to (not --table synthetic, or --corpus/--transitions): BB_EINPUT, one line. */
int task_check_flags(const TaskConfig *c, const Opt *opts, int nopts, int argc, char **argv, BbError *err);
/* bbsim task --write-table: the counts of the text corpus as a table file at out
 * (docs/method.md#table-files), written atomically. */
int task_write_table(const char *corpus, const char *out, BbError *err);

/* Build the tables and samplers. Bad files give "file:line: what" in err, BB_EINPUT. */
int task_build(Task *t, const TaskConfig *cfg, BbError *err);
void task_free(Task *t);

/* One sequence z_0..z_N (N = cfg.seq, N+1 tokens) drawn from the stream r. */
void task_sample_sequence(const Task *t, gsl_rng *r, int *z);
/* Training batch b of step s: inputs and targets (B, N). Sequence b of step s is a pure
 * function of (data_seed, s, b), whatever the thread count. */
void task_batch(const Task *t, long step, int B, int *inputs, int *targets);
/* The fixed evaluation batch (eval_seed), B sequences. */
void task_eval_batch(const Task *t, int B, int *inputs, int *targets);

/* The oracle law of the target at position i given inputs[0..i] of one sequence
 * (row of length N): p[0..V). Returns the oracle's entropy (nats). */
double task_oracle(const Task *t, const int *inputs, int i, double *p);
/* 1 when position i is a trigger position (its input token is a trigger). */
int task_is_trigger_pos(const Task *t, const int *inputs, int i);

typedef struct BayesFloor {
    double floor;            /* mean oracle entropy over all N positions */
    double floor_nontrigger; /* over non-trigger positions */
    double floor_trigger;    /* over trigger positions */
    double frac_trigger;     /* expected fraction of trigger positions */
    int exact;               /* 1 exact, 0 Monte-Carlo estimate (variants without a closed form) */
    double mc_stderr;        /* standard error of `floor` when exact == 0 (0 when exact) */
    long mc_sequences;       /* sequences behind the Monte-Carlo estimate (0 when exact) */
} BayesFloor;
int task_bayes_floor(const Task *t, BayesFloor *out, BbError *err);

/* The label of token id, escaped as in every TSV (docs/method.md#token-labels: one word
 * of printable ASCII without '#' or '"'; space is "\s"); "?" for an id out of range. */
const char *task_label(const Task *t, int id);

#endif
