/* The claims of docs/figures.md, decided by number. `bbsim theory` decides C10-C12 from
 * its own runs; `bbsim claims OUT` decides the others from the files that `make repro`
 * leaves in OUT (run directories, their analysis/dynamics/intervention TSVs) and gathers
 * every row into OUT/claims.tsv. A failing claim is a result, never an error; a missing
 * or malformed input file is an error naming the file. */
#ifndef BBSIM_CLAIMS_H
#define BBSIM_CLAIMS_H

#include <stdio.h>
#include "bbsim/common.h"

/* One row of claims.tsv / theory.tsv: what is claimed, what the paper or theory predicts,
 * the number the verdict is decided on, the side numbers behind it, the threshold from
 * docs/figures.md, PASS/FAIL. */
typedef struct Claim {
    char id[8];          /* "C1", ..., "C17" */
    char claim[96];      /* short name of the checked statement */
    char prediction[96]; /* the paper's / theory's value or shape */
    double measured;     /* the number the verdict is decided on */
    char fit[256];       /* fit quality and side numbers ("R2 0.998; slopes ...") */
    char threshold[96];  /* the contract, as in docs/figures.md */
    int pass;            /* 1 PASS, 0 FAIL (over seeds: every seed passed) */
    int not_run;         /* 1: NOT RUN (measured NaN, fit says why); pass is 0 */
    /* Over seeds (docs/figures.md#seeds; one seed: 1, pass, measured, measured): how many
     * replicates decided the row, how many passed, the range and every value in replicate
     * order; `measured` is then their median. seeds_pass strictly between 0 and seeds is
     * MIXED. */
    int seeds, seeds_pass;
    double lo, hi;
    char values[160];
    /* A rate of heads (claims_set_rate; docs/figures.md#seeds, "Rates"), rate = 1: the
     * heads that sink, rate_k (each counted with the fraction of sequences it sinks on),
     * out of rate_n heads, summed over the seeds; measured = 100 rate_k / rate_n over
     * seeds; ci_lo, ci_hi its 95% Wilson interval in %. The verdict is PASS, FAIL or
     * UNDECIDED (undecided = 1) by where the interval lies against rate_threshold (%),
     * passing at >= (rate_above = 1) or at <= (0); seeds_pass counts the seeds whose own
     * rate is on the passing side (read, not decided on). Other rows: rate = 0. */
    int rate, rate_above, undecided;
    double rate_k, rate_n, rate_threshold, ci_lo, ci_hi;
} Claim;

#define CLAIMS_MAX 96
#define THEORY_MAX_CLAIMS CLAIMS_MAX
typedef struct ClaimList {
    int n;
    Claim c[CLAIMS_MAX];
} ClaimList;

/* Append a row (printf-style side numbers). A NaN measurement never passes. */
void claims_add(ClaimList *l, const char *id, const char *claim, const char *prediction, double measured,
                const char *threshold, int pass, const char *fit_fmt, ...) __attribute__((format(printf, 8, 9)));
/* A claim that was not decided: verdict NOT RUN, measured NaN, `why` in the fit column. */
void claims_not_run(ClaimList *l, const char *id, const char *claim, const char *threshold, const char *why);
/* The table as TSV (tsv_begin: the column names, the provenance; then "# config name
 * value" per option and the rows, text fields escaped with TSV_ESC_TEXT); atomic. */
int claims_write_tsv(const ClaimList *l, const char *path, const Opt *opts, int nopts, BbError *err);
/* The readable table. */
void claims_print(FILE *f, const ClaimList *l);
/* Append every row of a claims/theory TSV written by claims_write_tsv (escapes decoded). */
int claims_read_tsv(ClaimList *l, const char *path, BbError *err);
/* PASS, FAIL, MIXED, UNDECIDED or NOT RUN (docs/figures.md#seeds). */
const char *claims_verdict(const Claim *c);

/* The confidence of the interval of a rate row. */
#define CLAIMS_RATE_LEVEL 0.95
/* The Wilson score interval of the proportion k / n at confidence `level` (0.95: z =
 * Phi^-1(0.975) = 1.96), as fractions in [0, 1]; k may be fractional (0 <= k <= n).
 * NaN, NaN for n <= 0, or k NaN or outside [0, n]. */
void claims_wilson(double k, double n, double level, double *lo, double *hi);
/* Make the last row added a rate of heads: k of n heads sink (k = rate x n / 100, may be
 * fractional), threshold in % on the passing side pass_above (1: >=, 0: <=); decides it
 * by its interval (PASS, FAIL, UNDECIDED), over one seed. claims_decide_seeds pools the
 * counts over the seeds and decides again. */
void claims_set_rate(ClaimList *l, double k, double n, double threshold, int pass_above);

/* Decide section `sec` over `nseeds` replicates of its runs (replicate 1 under OUT,
 * replicate k >= 2 under OUT/seedK: paper_repro/Makefile) and append one row per claim row
 * of the section: the median over seeds as `measured`, the range, the per-seed values, how
 * many seeds passed, replicate 1's side numbers. A rate row (claims_set_rate) is pooled
 * instead: measured = 100 sum k / sum n, decided by its interval. Every replicate must give the same rows
 * (ids and claim texts, in order); an error names the replicate that does not. */
struct ClaimSection;
int claims_decide_seeds(const struct ClaimSection *sec, const char *out, int nseeds, ClaimList *l, BbError *err);
/* --sections as bbsim claims takes it: "all", or NAME[:SEEDS],... with known names, 1-99
 * seeds and no empty item (BB_EINPUT naming what is wrong). */
int claims_sections_check(const char *sections, BbError *err);
/* Every claim of the contract into cl, in claim order (C1 ... C18; each claim's rows in the
 * order they came): the requested sections decided over their seeds from the make repro
 * output dir, NOT RUN (with why) for the others. */
int claims_decide(const char *dir, const char *sections, ClaimList *cl, BbError *err);

/* ---- the sections of `bbsim claims`: each reads OUT/runs/<run>/... (names fixed by the
 * paper_repro Makefile fragments) and appends its rows. */
typedef int (*ClaimSectionFn)(const char *out, ClaimList *l, BbError *err);
typedef struct ClaimSection {
    const char *name;    /* --sections name */
    const char *ids;     /* which claims, for --help */
    ClaimSectionFn fn;
    const char *not_run; /* why its claims are NOT RUN when the section is not requested */
} ClaimSection;
extern const ClaimSection claim_sections[];
extern const int claim_nsections;

/* The contract: every claim of docs/figures.md with its section and its threshold in one
 * line, so that claims.tsv lists all of them (NOT RUN ones included). */
typedef struct ClaimInfo {
    const char *id, *section, *claim, *threshold;
} ClaimInfo;
extern const ClaimInfo claim_contract[];
extern const int claim_ncontract;

/* Paths and lookups shared by the sections: OUT/runs/RUN/REL. */
int claims_path(char *buf, size_t n, const char *out, const char *run, const char *rel, BbError *err);
/* Read OUT/runs/RUN/REL as a TSV (see tsv.h). */
struct Tsv;
int claims_tsv(struct Tsv *t, const char *out, const char *run, const char *rel, BbError *err);
/* One value from OUT/runs/RUN/REL in the long metric layout (layer, head, metric, value). */
int claims_metric(const char *out, const char *run, const char *rel, int layer, int head, const char *metric,
                  double *value, BbError *err);

/* The first row of t whose columns keys[k] hold the texts vals[k] (k < nkeys); its column
 * col as a number. BB_EINPUT naming the file when there is no such row or column. */
int claims_lookup(const struct Tsv *t, const char *const *keys, const char *const *vals, int nkeys, const char *col,
                  double *value, BbError *err);
/* Column `col` of every row of OUT/runs/RUN/REL as numbers (malloc'd, *n rows). */
int claims_column(const char *out, const char *run, const char *rel, const char *col, double **values, int *n,
                  BbError *err);

/* The section functions (one file each: src/claims/<name>.c). */
int claims_onelayer(const char *out, ClaimList *l, BbError *err); /* C1-C5 */
int claims_deep(const char *out, ClaimList *l, BbError *err);     /* C6-C9 */
int claims_relu_lr(const char *out, ClaimList *l, BbError *err);  /* C8's finding: ReLU growth vs lr */
int claims_theory(const char *out, ClaimList *l, BbError *err);   /* C10-C12: OUT/theory/theory.tsv */
int claims_ablation(const char *out, ClaimList *l, BbError *err); /* C13-C14 */
int claims_activations(const char *out, ClaimList *l, BbError *err); /* C15 */
int claims_context(const char *out, ClaimList *l, BbError *err);     /* C16 */
int claims_overmixing(const char *out, ClaimList *l, BbError *err);  /* C17 */
int claims_sinkfree(const char *out, ClaimList *l, BbError *err);    /* C18 */

#endif
