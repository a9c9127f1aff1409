/* `bbsim collect` (include/bbsim/collect.h): the run directories of a sweep, each run's
 * final metrics from analysis_collect on its fixed evaluation batch, and the tidy table
 * (one row per run, the configuration fields that differ, fixed metric columns). */
#include "bbsim/collect.h"
#include "bbsim/parallel.h"
#include "bbsim/tsv.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void collect_config_default(CollectConfig *c) {
    memset(c, 0, sizeof *c);
    c->step = -1;
    analysis_config_default(&c->ac);
}

/* ------------------------------------------------------------ run directories */

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_entry(const char *dir, const char *name) {
    char path[BB_STRLEN + 32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* What bbsim train leaves in a run directory (any one of them: a damaged run is still a
 * run, and run_load then says what is missing). */
static int looks_like_run(const char *dir) {
    return has_entry(dir, "ckpt") || has_entry(dir, "config.txt") || has_entry(dir, "metrics.tsv");
}

static void dirs_push(char ***dirs, int *n, int *cap, const char *s) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        char **grown = realloc(*dirs, sizeof **dirs * (size_t)*cap);
        BB_CHECK(grown != NULL);
        *dirs = grown;
    }
    const size_t len = strlen(s) + 1;
    (*dirs)[*n] = bb_malloc(len);
    memcpy((*dirs)[(*n)++], s, len);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The runs directly inside dir, in byte order of their names. */
static int sweep_dirs(const char *dir, char ***dirs, int *n, int *cap, BbError *err) {
    DIR *d = opendir(dir);
    if (!d) return bb_fail(err, BB_EINPUT, "%s: cannot open: %s", dir, strerror(errno));
    char **names = NULL;
    int nn = 0, ncap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[2 * BB_STRLEN];
        const size_t len = strlen(dir);
        snprintf(path, sizeof path, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", e->d_name);
        if (strlen(path) >= BB_STRLEN) continue; /* run_load could not take it either */
        if (is_dir(path) && looks_like_run(path)) dirs_push(&names, &nn, &ncap, path);
    }
    closedir(d);
    if (nn > 1) qsort(names, (size_t)nn, sizeof *names, cmp_str);
    for (int k = 0; k < nn; k++) {
        dirs_push(dirs, n, cap, names[k]);
        free(names[k]);
    }
    free(names);
    if (nn == 0)
        return bb_fail(err, BB_EINPUT,
                       "%s: not a run directory (no ckpt/, config.txt or metrics.tsv) and no run directories in it",
                       dir);
    return BB_OK;
}

int collect_dirs(char *const *args, int nargs, char ***dirs, int *ndirs, BbError *err) {
    int cap = 0, rc = BB_OK;
    *dirs = NULL;
    *ndirs = 0;
    for (int k = 0; k < nargs && !rc; k++) {
        const char *a = args[k];
        if (strlen(a) >= BB_STRLEN) rc = bb_fail(err, BB_EINPUT, "run directory path too long: %s", a);
        else if (!is_dir(a)) rc = bb_fail(err, BB_EINPUT, "%s: not a run directory (%s)", a,
                                          access(a, F_OK) ? strerror(errno) : "not a directory");
        else if (looks_like_run(a)) dirs_push(dirs, ndirs, &cap, a);
        else rc = sweep_dirs(a, dirs, ndirs, &cap, err);
    }
    if (rc) {
        collect_dirs_free(*dirs, *ndirs);
        *dirs = NULL;
        *ndirs = 0;
    }
    return rc;
}

void collect_dirs_free(char **dirs, int ndirs) {
    for (int k = 0; k < ndirs; k++) free(dirs[k]);
    free(dirs);
}

/* ------------------------------------------------------------ one run */

int collect_run(CollectRun *r, const char *dir, const CollectConfig *cc, int threads, BbError *err) {
    memset(r, 0, sizeof *r);
    Run run;
    int rc = run_load(&run, dir, cc->step, err);
    if (rc) return rc;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->cfg = run.cfg;
    r->step = run.step;
    r->eval_batch = cc->eval_batch > 0 ? cc->eval_batch : run.cfg.task.eval_batch;
    const Model *m = &run.model;
    r->L = analysis_layers(m);
    r->H = analysis_heads(m);
    r->has_resid = analysis_has_resid(m);
    for (int l = 0; l < r->L; l++) r->has_attn[l] = (unsigned char)model_has_attn(&m->cfg, l);

    EvalBatch eb;
    analysis_batch(&eb, &run.task, r->eval_batch, NULL);
    Analysis *a = bb_malloc(sizeof *a); /* large (every head's metrics): not on a thread's stack */
    analysis_collect(a, m, &run.task, &eb, NULL, &cc->ac, ANALYSIS_ALL, threads);
    memcpy(r->head, a->head, sizeof r->head);
    memcpy(r->resid, a->resid, sizeof r->resid);
    /* the model-level metrics come first in analysis_metric_entries */
    enum { CAP = 32 + BB_MAXL * (4 + BB_MAXH * 24) };
    MetricEntry *e = bb_malloc(CAP * sizeof *e);
    const int ne = analysis_metric_entries(a, m, 0, e, CAP);
    BB_CHECK(ne <= CAP);
    for (int k = 0; k < ne && e[k].layer < 0; k++) {
        BB_CHECK(r->nscalar < COLLECT_MAXSCALARS);
        r->scalar[r->nscalar++] = e[k];
    }
    free(e);
    rc = analysis_check_risk(a, run.path, run.step, err); /* a diverged run: no row of NaN */
    analysis_free(a);
    free(a);
    analysis_batch_free(&eb);
    run_free(&run);
    return rc;
}

/* ------------------------------------------------------------ every run */

typedef struct CollectJob {
    CollectRun *runs;
    char *const *dirs;
    const CollectConfig *cc;
} CollectJob;

static int collect_item(void *ctx, int k, int threads, BbError *err) {
    const CollectJob *job = ctx;
    return collect_run(&job->runs[k], job->dirs[k], job->cc, threads, err);
}

int collect_runs(CollectRun *runs, char *const *dirs, int n, const CollectConfig *cc, int progress, BbError *err) {
    CollectJob job = {runs, dirs, cc};
    return parallel_for_each(n, collect_item, &job, progress ? "collect" : NULL, "runs", err);
}

/* ------------------------------------------------------------ metric columns */

typedef struct Column {
    char name[48];
    double value;
} Column;

#define COLLECT_MAXCOLS (64 + BB_MAXL * (1 + BB_MAXH * 3))

static void column(Column *out, int *n, const char *name, double value) {
    BB_CHECK(*n < COLLECT_MAXCOLS);
    snprintf(out[*n].name, sizeof out[*n].name, "%s", name);
    out[*n].value = value;
    (*n)++;
}

typedef enum { HEAD_ATTN_BOS, HEAD_ATTN_BOS_TRIGGER, HEAD_ATTN_PREV, HEAD_VAL_RATIO } HeadField;

static double head_field(const HeadMetrics *hm, HeadField f) {
    switch (f) {
    case HEAD_ATTN_BOS: return hm->attn_bos[DOM_NONTRIGGER];
    case HEAD_ATTN_BOS_TRIGGER: return hm->attn_bos[DOM_TRIGGER];
    case HEAD_ATTN_PREV: return hm->attn_prev;
    case HEAD_VAL_RATIO: return hm->val_ratio;
    }
    return NAN;
}

typedef enum { SUM_MEAN, SUM_MAX, SUM_MIN } Summary;

/* Summary of one head metric over the heads with attention of layers l0..l1-1, skipping
 * NaN (an empty domain); NaN when no head has the number. */
static double heads_summary(const CollectRun *r, HeadField f, Summary s, int l0, int l1) {
    double acc = NAN;
    int n = 0;
    for (int l = l0; l < l1; l++) {
        if (!r->has_attn[l]) continue;
        for (int h = 0; h < r->H; h++) {
            const double x = head_field(&r->head[l * r->H + h], f);
            if (isnan(x)) continue;
            if (n == 0) acc = x;
            else if (s == SUM_MEAN) acc += x;
            else if (s == SUM_MAX) acc = x > acc ? x : acc;
            else acc = x < acc ? x : acc;
            n++;
        }
    }
    return s == SUM_MEAN && n ? acc / n : acc;
}

/* The last layer with attention, or -1. */
static int last_attn_layer(const CollectRun *r) {
    for (int l = r->L - 1; l >= 0; l--)
        if (r->has_attn[l]) return l;
    return -1;
}

/* Every metric column of one run: the same names, in the same order, for every run of a
 * table with at most Lmax layers and Hmax heads. */
static int metric_columns(const CollectRun *r, int Lmax, int Hmax, Column *out) {
    int n = 0, heads = 0;
    column(out, &n, "step", (double)r->step);
    for (int k = 0; k < r->nscalar; k++) column(out, &n, r->scalar[k].name, r->scalar[k].value);
    for (int l = 0; l < r->L; l++) heads += r->has_attn[l] ? r->H : 0;
    const int last = last_attn_layer(r);
    column(out, &n, "attn_heads", heads);
    column(out, &n, "attn_bos_mean", heads_summary(r, HEAD_ATTN_BOS, SUM_MEAN, 0, r->L));
    column(out, &n, "attn_bos_max", heads_summary(r, HEAD_ATTN_BOS, SUM_MAX, 0, r->L));
    column(out, &n, "attn_bos_last_layer_mean",
           last < 0 ? NAN : heads_summary(r, HEAD_ATTN_BOS, SUM_MEAN, last, last + 1));
    column(out, &n, "attn_bos_trigger_mean", heads_summary(r, HEAD_ATTN_BOS_TRIGGER, SUM_MEAN, 0, r->L));
    column(out, &n, "attn_prev_max", heads_summary(r, HEAD_ATTN_PREV, SUM_MAX, 0, r->L));
    column(out, &n, "val_ratio_mean", heads_summary(r, HEAD_VAL_RATIO, SUM_MEAN, 0, r->L));
    column(out, &n, "val_ratio_min", heads_summary(r, HEAD_VAL_RATIO, SUM_MIN, 0, r->L));
    double peak = NAN;
    for (int l = 0; r->has_resid && l < r->L; l++)
        if (isnan(peak) || r->resid[l].ratio > peak) peak = r->resid[l].ratio;
    column(out, &n, "resid_ratio_max", peak);
    column(out, &n, "resid_ratio_last", r->has_resid ? r->resid[r->L - 1].ratio : NAN);
    /* the wide part: every layer and head any run of the table has, NaN where this one has none */
    char name[48];
    for (int l = 0; l < Lmax; l++) {
        snprintf(name, sizeof name, "l%d_resid_ratio", l);
        column(out, &n, name, r->has_resid && l < r->L ? r->resid[l].ratio : NAN);
        for (int h = 0; h < Hmax; h++) {
            const int here = l < r->L && h < r->H && r->has_attn[l];
            const HeadMetrics *hm = here ? &r->head[l * r->H + h] : NULL;
            static const char *const names[3] = {"attn_bos", "attn_prev", "val_ratio"};
            static const HeadField fields[3] = {HEAD_ATTN_BOS, HEAD_ATTN_PREV, HEAD_VAL_RATIO};
            for (int k = 0; k < 3; k++) {
                snprintf(name, sizeof name, "l%dh%d_%s", l, h, names[k]);
                column(out, &n, name, hm ? head_field(hm, fields[k]) : NAN);
            }
        }
    }
    return n;
}

/* ------------------------------------------------------------ configuration columns */

/* Where and how a run ran, not what it is: never a column (the directory is `run`). */
static int runtime_field(const char *name) {
    return !strcmp(name, "out") || !strcmp(name, "resume") || !strcmp(name, "threads") || !strcmp(name, "quiet");
}

/* Field i of train_opts for configuration c, formatted as in config.txt. */
static void config_value(const TrainConfig *c, int i, char *buf, size_t len) {
    TrainConfig copy = *c;
    Opt o[TRAIN_NOPTS];
    const int n = train_opts(&copy, o);
    BB_CHECK(i >= 0 && i < n);
    opts_format(&o[i], buf, len);
}

/* The column of flag "eval-batch" is "eval_batch" (a name pandas and numpy take as it is). */
static void field_name(char *buf, size_t len, const char *flag) {
    snprintf(buf, len, "%s", flag);
    for (char *s = buf; *s; s++) *s = *s == '-' ? '_' : *s;
}

/* ------------------------------------------------------------ the table */

void collect_write(FILE *f, const CollectRun *runs, int n, const CollectConfig *cc) {
    BB_CHECK(n >= 1);
    TrainConfig names_cfg;
    train_config_default(&names_cfg);
    Opt o[TRAIN_NOPTS];
    const int nopt = train_opts(&names_cfg, o);
    /* a field is a column when it differs between the runs (or with --all-fields) */
    unsigned char *is_col = bb_calloc((size_t)nopt, 1);
    char *first = bb_malloc(BB_STRLEN + 64), *val = bb_malloc(BB_STRLEN + 64);
    int ncfg = 0;
    for (int i = 0; i < nopt; i++) {
        if (o[i].kind == OPT_EACH || runtime_field(o[i].name)) continue;
        int differs = cc->all_fields;
        config_value(&runs[0].cfg, i, first, BB_STRLEN + 64);
        for (int r = 1; r < n && !differs; r++) {
            config_value(&runs[r].cfg, i, val, BB_STRLEN + 64);
            differs = strcmp(first, val) != 0;
        }
        is_col[i] = (unsigned char)differs;
        ncfg += differs;
    }
    int Lmax = 0, Hmax = 0;
    for (int r = 0; r < n; r++) {
        Lmax = runs[r].L > Lmax ? runs[r].L : Lmax;
        Hmax = runs[r].H > Hmax ? runs[r].H : Hmax;
    }
    Column *cols = bb_malloc(COLLECT_MAXCOLS * sizeof *cols);
    const int ncol = metric_columns(&runs[0], Lmax, Hmax, cols);
    for (int i = 0; i < nopt; i++) /* a field named like a metric would make two columns of one name */
        for (int k = 0; is_col[i] && k < ncol; k++) {
            char name[64];
            field_name(name, sizeof name, o[i].name);
            BB_CHECK(strcmp(name, cols[k].name) != 0);
        }

    /* the column names first, then the comments */
    char name[64];
    fputs("run", f);
    for (int i = 0; i < nopt; i++)
        if (is_col[i]) {
            field_name(name, sizeof name, o[i].name);
            fprintf(f, "\t%s", name);
        }
    for (int k = 0; k < ncol; k++) fprintf(f, "\t%s", cols[k].name);
    fputc('\n', f);
    bb_write_provenance(f);
    fprintf(f, "# collect %d run%s; checkpoint ", n, n > 1 ? "s" : "");
    if (cc->step < 0) fputs("last", f);
    else fprintf(f, "%ld", cc->step);
    if (cc->eval_batch > 0) fprintf(f, "; eval_batch %d", cc->eval_batch);
    else fputs("; eval_batch each run's --eval-batch", f);
    fprintf(f, "; analysis chunk %d sink_key %d sink_eps ", cc->ac.chunk, cc->ac.sink_key);
    bb_put_num(f, cc->ac.sink_eps); /* exactly, as config.txt writes numbers */
    fputc('\n', f);
    fprintf(f,
            "# run = the run directory; then the %d configuration field%s %s (flag names with '-' as '_',\n"
            "# values as in config.txt, text in the escape of token labels, spaces kept); then the checkpoint's metrics\n"
            "# on the run's fixed evaluation batch, named as in bbsim analyze's metrics.tsv\n"
            "# (docs/method.md#collecting-a-sweep): loss = mean -log q(target); risk/oracle_risk/excess over all\n"
            "# positions, backcopy_* over trigger and bigram_* over non-trigger positions; sink_rate = Sink_%d^%g\n"
            "# in %%, sink_chance = 100 H_T/T; attn_heads = heads with attention; over those heads: attn_bos_mean,\n"
            "# attn_bos_max (Attn<s> over non-trigger positions), attn_bos_last_layer_mean (the last layer with\n"
            "# attention), attn_bos_trigger_mean, attn_prev_max, val_ratio_mean and val_ratio_min (|Val<s>| / mean\n"
            "# |Val_j|, j >= 1); resid_ratio_max and resid_ratio_last (|Res<s>| / mean |Res_i| over the layers, after\n"
            "# the last layer); l<L>_resid_ratio, l<L>h<H>_attn_bos, _attn_prev, _val_ratio for every layer and head\n"
            "# any run has (here %d x %d); NaN where a run has no such number (simplified model: no residual stream)\n",
            ncfg, ncfg == 1 ? "" : "s", cc->all_fields ? "(--all-fields)"
            : ncfg == 1    ? "that differs between the runs"
                           : "that differ between the runs",
            cc->ac.sink_key + 1, cc->ac.sink_eps, Lmax, Hmax);
    for (int i = 0; i < nopt; i++)
        if (!is_col[i] && o[i].kind != OPT_EACH && !runtime_field(o[i].name)) {
            config_value(&runs[0].cfg, i, val, BB_STRLEN + 64);
            field_name(name, sizeof name, o[i].name);
            fprintf(f, "# config %s ", name);
            tsv_put_text(f, val, TSV_ESC_TEXT);
            fputc('\n', f);
        }
    for (int r = 0; r < n; r++) {
        tsv_put_text(f, runs[r].dir, TSV_ESC_TEXT);
        for (int i = 0; i < nopt; i++)
            if (is_col[i]) {
                config_value(&runs[r].cfg, i, val, BB_STRLEN + 64);
                fputc('\t', f);
                tsv_put_text(f, val, TSV_ESC_TEXT);
            }
        const int nc = metric_columns(&runs[r], Lmax, Hmax, cols);
        BB_CHECK(nc == ncol);
        for (int k = 0; k < nc; k++) {
            fputc('\t', f);
            bb_put_num(f, cols[k].value);
        }
        fputc('\n', f);
    }
    free(cols);
    free(first);
    free(val);
    free(is_col);
}

int collect_write_file(const char *path, const CollectRun *runs, int n, const CollectConfig *cc, BbError *err) {
    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) return rc;
    collect_write(af.f, runs, n, cc);
    return afile_commit(&af, err);
}
