/* Private interface between the task module's files: the table loaders (tables.c),
 * sequence generation and the oracle (sample.c) and the Bayes floor (floor.c).
 * Not part of the public API (include/bbsim/task.h). */
#ifndef BBSIM_TASK_INTERNAL_H
#define BBSIM_TASK_INTERNAL_H

#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "bbsim/task.h"
#include "bbsim/tsv.h"

#define TASK_LABEL_LEN 16 /* bytes per label, terminating NUL included */

/* A transition table before the triggers are chosen: the output of one table source. */
typedef struct TaskTable {
    int vbase;
    double *P;                  /* (vbase, vbase) row-stochastic */
    double *pi;                 /* (vbase) marginal, sums to 1 */
    char (*labels)[TASK_LABEL_LEN]; /* (vbase) printable labels of the ordinary tokens */
} TaskTable;

/* A table as counts (a corpus, or a table file): what --write-table writes and the
 * built-in table shakespeare holds. */
typedef struct TaskCounts {
    int vbase;
    double *count;              /* (vbase) occurrences of each token */
    double *pair;               /* (vbase, vbase) occurrences of token a followed by token b */
    char (*labels)[TASK_LABEL_LEN]; /* (vbase) escaped labels */
} TaskCounts;

void table_free(TaskTable *tb);
void counts_free(TaskCounts *tc);
/* Distinct bytes of a text file (byte order), their counts and adjacent-pair counts. */
int counts_corpus(TaskCounts *tc, const char *path, BbError *err);
/* The --corpus rules: pi = count / total, P = pair rows normalised (a zero row: pi). */
void table_from_counts(TaskTable *tb, TaskCounts *tc);
/* A table file (docs/method.md#table-files): comment lines, the checksum line, the header
 * "label count L0 L1 ...", one row per token. Writes it / reads and verifies it (the
 * checksum of its non-comment lines); source gets its "# source" comment ("" if none). */
void counts_write_table(FILE *f, const TaskCounts *tc, const char *source);
int counts_read_table(TaskCounts *tc, FILE *f, const char *where, char *source, size_t source_len, BbError *err);
/* The bytes of src/tasks/data/shakespeare.tsv, embedded at build time (CMakeLists.txt). */
extern const unsigned char task_table_shakespeare[];
extern const size_t task_table_shakespeare_len;
/* The built-in table shakespeare: the embedded bytes through counts_read_table. */
int table_shakespeare(TaskTable *tb, char *source, size_t source_len, BbError *err);
/* The synthetic character-like chain of --table synthetic (construction documented in tables.c). */
int table_builtin(TaskTable *tb, int vbase, uint64_t seed, BbError *err);
/* Distinct bytes of a text file, unigram and adjacent-pair counts. */
int table_corpus(TaskTable *tb, const char *path, BbError *err);
/* A numeric V_base x V_base matrix file (+ optional marginal and label files; "" = none). */
int table_transitions(TaskTable *tb, const char *path, const char *marginal, const char *labels,
                      BbError *err);
/* Stationary law of the row-stochastic n x n matrix P (exact linear solve; lazy power
 * iteration from the uniform law when the chain has several closed classes). */
void task_stationary(const double *P, int n, double *pi);
/* The label of the bytes s[0..n): the escape of every TSV and of `bbsim task`
 * (tsv_escape with TSV_ESC_LABEL, docs/method.md#token-labels: "\s" space, "\\" backslash,
 * "\n", "\t", "\r", "\x23" '#', "\x22" '"', "\xHH" other bytes), cut between escapes to
 * TASK_LABEL_LEN - 1 characters. */
void task_escape_label(const unsigned char *s, size_t n, char out[TASK_LABEL_LEN]);

/* Shannon entropy (nats) of p[0..n). */
double task_entropy(const double *p, int n);
/* Law of the first ordinary token of a sequence: pi for markov and induction, pi' otherwise. */
const double *task_first_law(const Task *t);

/* ---- sample.c ---- */
/* Seeds: training sequence b of step s, the evaluation sequences, the Monte-Carlo
 * floor. Distinct domains, so the evaluation batch never equals a training batch. */
uint64_t task_train_seed(const Task *t, long step, int b);
uint64_t task_eval_seed(const Task *t, int b);
uint64_t task_mc_seed(const Task *t, int b);
/* Fill B sequences (inputs and targets (B, N)) from the per-sequence seeds seed_of(t, tag, b). */
void task_fill_batch(const Task *t, int B, long tag, int domain, int *inputs, int *targets);
enum { TASK_DOMAIN_TRAIN = 0, TASK_DOMAIN_EVAL = 1, TASK_DOMAIN_MC = 2 };

#endif
