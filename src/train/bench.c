/* bbsim bench's measurements (include/bbsim/bench.h, README.md#speed): the shapes, a
 * training step timed in this process, `bbsim train` timed in a fresh process as a user
 * starts it (no large sgemm before it), and the table as TSV. A difference between the
 * two timings (the library's state after other calls, the run's checkpoints and metrics)
 * shows in the table instead of hiding. */
#define _GNU_SOURCE /* nftw's FTW_PHYS and FTW_DEPTH */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <gsl/gsl_statistics_double.h>
#include "bbsim/bench.h"
#include "bbsim/blas.h"
#include "bbsim/process.h"
#include "bbsim/train.h"

/* quick: the shapes of paper_repro's quick profile, each with the runs that use it
 * (paper_repro/README.md#quick-sizes-on-the-papers-table) */
const BenchConfig bench_configs[BENCH_NCONFIGS] = {
    {"quick-1L-d64", "quick", 1, 64, 128, 16},       /* 1L, 1L_relu (C1-C5, C17) */
    {"quick-1L-d64-N64", "quick", 1, 64, 64, 32},    /* noBOS, dormant_markov (C13, C14) */
    {"quick-3L-d64", "quick", 3, 64, 64, 32},        /* induction (C14) */
    {"quick-3L-d128", "quick", 3, 128, 16, 32},      /* 3L, 3L_relu*, 3L_sgd (C6-C8, C17) */
    {"quick-3L-d128-N128", "quick", 3, 128, 128, 4}, /* 3xTF, TF_TF_MLP, ... (C9) */
    {"small-1L-d128", "small", 1, 128, 128, 64},     {"small-3L-d128", "small", 3, 128, 128, 64},
    {"paper-1L", "paper", 1, 256, 256, 512},     {"paper-3L", "paper", 3, 256, 256, 512},
};

int bench_parse_configs(const char *list, int *chosen, BbError *err) {
    char buf[BB_STRLEN];
    snprintf(buf, sizeof buf, "%s", list);
    memset(chosen, 0, BENCH_NCONFIGS * sizeof *chosen);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int hit = 0;
        for (int i = 0; i < BENCH_NCONFIGS; i++)
            if (!strcmp(tok, "all") || !strcmp(tok, bench_configs[i].name) || !strcmp(tok, bench_configs[i].group))
                chosen[i] = hit = 1;
        if (!hit) {
            char names[512] = "all, quick, small, paper";
            for (int i = 0; i < BENCH_NCONFIGS; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), ", %s", bench_configs[i].name);
            return bb_fail(err, BB_EINPUT, "--configs: unknown configuration '%s' (known: %s)", tok, names);
        }
    }
    for (int i = 0; i < BENCH_NCONFIGS; i++)
        if (chosen[i]) return BB_OK;
    return bb_fail(err, BB_EINPUT, "--configs '%s': no configuration named (e.g. --configs quick)", list);
}

void bench_cpu_name(char *buf, size_t len) {
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                snprintf(buf, len, "%s", p + 2);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    fclose(f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of x (n >= 1; x is sorted in place), as the PyTorch peer reports its steps. */
static double median(double *x, size_t n) {
    qsort(x, n, sizeof *x, cmp_double);
    return gsl_stats_median_from_sorted_data(x, 1, n);
}

/* The library defaults (the default table, shakespeare: V = 67 as in the paper) at bc's shape. */
static void bench_train_config(const BenchConfig *bc, TrainConfig *tc) {
    train_config_default(tc);
    tc->task.seq = bc->T;
    tc->model.L = bc->L;
    tc->model.C = bc->C;
    tc->batch = bc->B;
}

/* nftw callback: remove one entry of bench's own temporary folder (deepest first). */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) ? -1 : 0;
}

/* The median of metrics.tsv's ms_per_step, the first step left out. */
static int median_step_ms(const char *metrics, double *median_ms, BbError *err) {
    Tsv t;
    int col, rc = tsv_read(metrics, &t, err);
    if (rc) return rc;
    if (!(rc = tsv_require(&t, "ms_per_step", &col, err))) {
        double *ms = bb_malloc(sizeof(double) * (size_t)(t.nrows + 1));
        int n = 0;
        for (int i = 1; i < t.nrows; i++) ms[n++] = tsv_num(&t, i, col);
        if (n < 1) rc = bb_fail(err, BB_EINPUT, "%s: fewer than 2 steps", metrics);
        else *median_ms = median(ms, (size_t)n);
        free(ms);
    }
    tsv_free(&t);
    return rc;
}

/* exe train at bc for `steps` steps into run; row->train_wall_ms from its wall time. */
static int run_train(const char *exe, const BenchConfig *bc, int threads, long steps, const char *run, BenchRow *row,
                     BbError *err) {
    char a[6][24];
    snprintf(a[0], sizeof a[0], "%d", bc->L);
    snprintf(a[1], sizeof a[1], "%d", bc->C);
    snprintf(a[2], sizeof a[2], "%d", bc->T);
    snprintf(a[3], sizeof a[3], "%d", bc->B);
    snprintf(a[4], sizeof a[4], "%ld", steps);
    snprintf(a[5], sizeof a[5], "%d", threads);
    char *argv[] = {"bbsim", "train", "--preset", "paper", "--layers", a[0], "--dim", a[1], "--seq", a[2], "--batch",
                    a[3], "--lr", "1e-3", "--steps", a[4], "--threads", a[5], "--quiet", "--out", (char *)run, NULL};
    int status = 0;
    const double t0 = bb_now();
    int e = process_run(exe, argv, &status);
    if (e) return bb_fail(err, BB_EIO, "cannot start bbsim train (%s): %s", exe, strerror(e));
    row->train_wall_ms = 1000.0 * (bb_now() - t0) / (double)steps;
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        return bb_fail(err, BB_EIO, "bbsim train at %s failed (status %d)", bc->name, status);
    return BB_OK;
}

int bench_train_fresh(const char *exe, const BenchConfig *bc, int threads, double min_time, BenchRow *row,
                      BbError *err) {
    TrainConfig tc;
    TrainPlan plan;
    bench_train_config(bc, &tc);
    int rc = train_plan(&tc, &plan, err);
    if (rc) return rc;
    double steps = min_time * 40e9 * threads / plan.step_flop;
    steps = steps < 3 ? 3 : steps > 1e6 ? 1e6 : steps;
    const char *tmpdir = getenv("TMPDIR");
    char dir[BB_STRLEN], run[BB_STRLEN + 8], metrics[BB_STRLEN + 24];
    snprintf(dir, sizeof dir, "%s/bbsim-bench-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) return bb_fail(err, BB_EIO, "cannot create a temporary folder %s: %s", dir, strerror(errno));
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(metrics, sizeof metrics, "%s/metrics.tsv", run);
    rc = run_train(exe, bc, threads, (long)steps, run, row, err);
    if (!rc) rc = median_step_ms(metrics, &row->train_ms, err);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/* The median of training steps (task_batch, trainer_step, optim_step) over at least
 * min_time seconds and 2 steps, after one untimed step that touches every buffer. */
static double time_steps(Task *task, Model *model, Trainer *tr, Optim *opt, const BenchConfig *bc, double min_time) {
    int *in = bb_malloc(sizeof(int) * (size_t)bc->B * bc->T), *tg = bb_malloc(sizeof(int) * (size_t)bc->B * bc->T);
    task_batch(task, 0, bc->B, in, tg);
    trainer_step(tr, in, tg, bc->B, NULL, NULL);
    optim_step(opt, model->params, trainer_grads(tr), 3e-4);
    long steps = 0, cap = 64;
    double t0 = bb_now(), elapsed, *step_ms = bb_malloc(sizeof(double) * (size_t)cap);
    do {
        double ts = bb_now();
        task_batch(task, steps + 1, bc->B, in, tg);
        trainer_step(tr, in, tg, bc->B, NULL, NULL);
        optim_step(opt, model->params, trainer_grads(tr), 3e-4);
        if (steps == cap) step_ms = realloc(step_ms, sizeof(double) * (size_t)(cap *= 2));
        step_ms[steps++] = 1000.0 * (bb_now() - ts);
        elapsed = bb_now() - t0;
    } while (elapsed < min_time || steps < 2);
    double ms = median(step_ms, (size_t)steps);
    free(step_ms);
    free(in);
    free(tg);
    return ms;
}

int bench_time_steps(const BenchConfig *bc, double min_time, double large, BenchRow *row, BbError *err) {
    TrainConfig tc;
    bench_train_config(bc, &tc);
    Task task;
    Model model;
    int rc = task_build(&task, &tc.task, err);
    if (rc) return rc;
    ModelConfig mc = tc.model;
    train_model_config_from_task(&mc, &task);
    if ((rc = model_build(&model, &mc, err))) {
        task_free(&task);
        return rc;
    }
    Trainer *tr = trainer_alloc(&task, &model, bc->B, 0, 0);
    Optim opt;
    optim_alloc(&opt, &tc.optim, model.nparams);
    row->step_ms = time_steps(&task, &model, tr, &opt, bc, min_time);
    row->gflop = 3.0 * model_forward_flops(&model.cfg, bc->B, bc->T) / 1e9;
    row->gflops = row->gflop / (row->step_ms / 1000.0);
    int Bc = (bc->B + trainer_chunks_auto(bc->B, bc->T) - 1) / trainer_chunks_auto(bc->B, bc->T);
    row->sgemm_same = blas_sgemm_rate(trainer_threads(tr), Bc * bc->T, 4 * bc->C, bc->C, 0.5);
    row->bound_ms = row->gflop / large * 1000.0;
    row->mem_mb = (double)(trainer_bytes(tr) + 3 * model.nparams * sizeof(float)) / 1048576.0;
    optim_free(&opt);
    trainer_free(tr);
    model_free(&model);
    task_free(&task);
    return BB_OK;
}

int bench_table_begin(TsvWriter *w, const char *path, const char *cpu, double large, BbError *err) {
    int rc = tsv_begin(w, NULL, path,
                       "config\tL\td\tN\tB\tms_per_step\tgflop_per_step\tgflops\tsgemm_same_gflops\tratio_same\t"
                       "bound_ms_large\tx_bound\tmem_mb\ttrain_ms_per_step\ttrain_wall_ms_per_step\ttrain_over_step\t"
                       "x_bound_train",
                       err);
    if (rc) return rc;
    blas_describe(w->f, "# ");
    fprintf(w->f, "# cpu %s\n# build %s\n# sgemm_large_gflops %.1f\n", cpu, BBSIM_BUILD, large);
    return BB_OK;
}

void bench_table_row(TsvWriter *w, const BenchConfig *bc, const BenchRow *r) {
    if (!w->f) return;
    fprintf(w->f, "%s\t%d\t%d\t%d\t%d\t%.3f\t%.4f\t%.2f\t%.2f\t%.4f\t%.3f\t%.3f\t%.1f\t%.3f\t%.3f\t%.4f\t%.3f\n",
            bc->name, bc->L, bc->C, bc->T, bc->B, r->step_ms, r->gflop, r->gflops, r->sgemm_same,
            r->gflops / r->sgemm_same, r->bound_ms, r->step_ms / r->bound_ms, r->mem_mb, r->train_ms,
            r->train_wall_ms, r->train_ms / r->step_ms, r->train_ms / r->bound_ms);
}

int bench_table_end(TsvWriter *w, int rc, BbError *err) {
    if (!w->f) return rc;
    if (rc) {
        tsv_abort(w);
        return rc;
    }
    return tsv_commit(w, err);
}
