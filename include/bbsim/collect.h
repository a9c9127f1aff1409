/* Collecting a sweep (`bbsim collect`, docs/method.md#collecting-a-sweep): one tidy table
 * with one row per run directory, the configuration fields that differ between the runs,
 * and the final metrics of analysis_collect on each run's fixed evaluation batch. */
#ifndef BBSIM_COLLECT_H
#define BBSIM_COLLECT_H

#include <stdio.h>
#include "bbsim/analysis.h"

typedef struct CollectConfig {
    long step;        /* checkpoint of every run: a step, or -1 = each run's last */
    int eval_batch;   /* sequences of the fixed evaluation batch (0 = each run's own --eval-batch) */
    int all_fields;   /* every experiment field as a column, not only those that differ */
    AnalysisConfig ac;
} CollectConfig;

void collect_config_default(CollectConfig *c);

/* What one run contributes to the table; the model itself is not kept. */
#define COLLECT_MAXSCALARS 32
typedef struct CollectRun {
    char dir[BB_STRLEN];                 /* as given (PARENT/NAME when found in a sweep directory) */
    TrainConfig cfg;                     /* the checkpoint's configuration */
    long step;                           /* the checkpoint's step */
    int eval_batch;                      /* sequences analysed */
    int L, H;                            /* analysis_layers / analysis_heads */
    unsigned char has_attn[BB_MAXL];     /* model_has_attn per layer */
    int has_resid;                       /* analysis_has_resid */
    int nscalar;
    MetricEntry scalar[COLLECT_MAXSCALARS]; /* the model-level entries of analysis_metric_entries */
    HeadMetrics head[BB_MAXL * BB_MAXH]; /* [l*H + h] */
    ResidMetrics resid[BB_MAXL];
} CollectRun;

/* The run directories behind the arguments, in order. An argument that is a run (it has
 * ckpt/, config.txt or metrics.tsv) is itself; any other directory stands for the runs
 * directly inside it (PARENT/NAME, names in byte order; other entries skipped). A path
 * that is neither: BB_EINPUT naming it. *dirs (malloc'd strings) goes to collect_dirs_free. */
int collect_dirs(char *const *args, int nargs, char ***dirs, int *ndirs, BbError *err);
void collect_dirs_free(char **dirs, int ndirs);

/* Load dir's checkpoint cc->step and run analysis_collect (ANALYSIS_ALL, no intervention)
 * on its fixed evaluation batch; threads as analysis_collect (1 inside an outer parallel
 * region). Errors of run_load (naming dir). */
int collect_run(CollectRun *r, const char *dir, const CollectConfig *cc, int threads, BbError *err);

/* collect_run on every dirs[k] into runs[k] (parallel_for_each: one run per thread when
 * there are enough of them, else the chunks of each run in parallel; the same numbers
 * either way); progress: the "collect: i/n runs" line on a terminal's stderr. The first
 * failure in argument order is returned. */
int collect_runs(CollectRun *runs, char *const *dirs, int n, const CollectConfig *cc, int progress, BbError *err);

/* The table: the column-name line first, then "#" lines (bb_write_provenance, the settings,
 * what the columns mean, "# config NAME VALUE" for the fields every run shares), then one
 * row per run. n >= 1. */
void collect_write(FILE *f, const CollectRun *runs, int n, const CollectConfig *cc);
/* The table into the file path, atomically (afile_open / afile_commit). */
int collect_write_file(const char *path, const CollectRun *runs, int n, const CollectConfig *cc, BbError *err);

#endif
