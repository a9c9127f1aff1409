/* bbsim bench: times whole training steps (batch sampling, forward, backward, gradient
 * sum, optimizer) at the paper's and the quick profile's small configurations (README.md#speed), and
 * measures this machine's sgemm rate in the same run and environment for comparison. Each
 * configuration is timed twice: its step in this process, and `bbsim train` itself, started
 * as a user starts it (a fresh process, no large sgemm before it), so that a difference
 * between the two (the library's state after other calls, the run's checkpoints and
 * metrics) shows in the table instead of hiding. */
#define _GNU_SOURCE /* nftw's FTW_PHYS and FTW_DEPTH */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <omp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_statistics_double.h>
#include "bbsim/blas.h"
#include "bbsim/cli.h"
#include "bbsim/tsv.h"
#include "bbsim/checkpoint.h"
#include "bbsim/train.h"

typedef struct {
    const char *name, *group; /* group: quick (the quick profile's shapes), small, paper */
    int L, C, T, B;
} BenchConfig;

/* quick: the shapes of paper_repro's quick profile, each with the runs that use it
 * (paper_repro/README.md#quick-sizes-on-the-papers-table) */
static const BenchConfig configs[] = {
    {"quick-1L-d64", "quick", 1, 64, 128, 16},       /* 1L, 1L_relu (C1-C5, C17) */
    {"quick-1L-d64-N64", "quick", 1, 64, 64, 32},    /* noBOS, dormant_markov (C13, C14) */
    {"quick-3L-d64", "quick", 3, 64, 64, 32},        /* induction (C14) */
    {"quick-3L-d128", "quick", 3, 128, 16, 32},      /* 3L, 3L_relu*, 3L_sgd (C6-C8, C17) */
    {"quick-3L-d128-N128", "quick", 3, 128, 128, 4}, /* 3xTF, TF_TF_MLP, ... (C9) */
    {"small-1L-d128", "small", 1, 128, 128, 64},     {"small-3L-d128", "small", 3, 128, 128, 64},
    {"paper-1L", "paper", 1, 256, 256, 512},     {"paper-3L", "paper", 3, 256, 256, 512},
};
enum { NCONFIGS = sizeof configs / sizeof configs[0] };

/* --configs: comma-separated names or groups (all, quick, small, paper); marks chosen[]. */
static int parse_configs(const char *list, int *chosen, BbError *err) {
    char buf[BB_STRLEN];
    snprintf(buf, sizeof buf, "%s", list);
    memset(chosen, 0, NCONFIGS * sizeof *chosen);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int hit = 0;
        for (int i = 0; i < NCONFIGS; i++)
            if (!strcmp(tok, "all") || !strcmp(tok, configs[i].name) || !strcmp(tok, configs[i].group))
                chosen[i] = hit = 1;
        if (!hit) {
            char names[512] = "all, quick, small, paper";
            for (int i = 0; i < NCONFIGS; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), ", %s", configs[i].name);
            return bb_fail(err, BB_EINPUT, "--configs: unknown configuration '%s' (known: %s)", tok, names);
        }
    }
    for (int i = 0; i < NCONFIGS; i++)
        if (chosen[i]) return BB_OK;
    return bb_fail(err, BB_EINPUT, "--configs '%s': no configuration named (e.g. --configs quick)", list);
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

/* GFLOP/s of `threads` threads each running its own single-threaded sgemm
 * C (M,N) = A (M,K) B (K,N)^T concurrently, as training does, for about `seconds`. */
static double sgemm_rate(int threads, int M, int N, int K, double seconds) {
    double rate_sum = 0;
    double *rates = calloc((size_t)threads, sizeof(double));
#pragma omp parallel num_threads(threads)
    {
        int tid = omp_get_thread_num();
        float *A = malloc(sizeof(float) * (size_t)M * K), *Bm = malloc(sizeof(float) * (size_t)N * K),
              *Cm = malloc(sizeof(float) * (size_t)M * N);
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7919) % 17) * 0.01f;
        for (size_t i = 0; i < (size_t)N * K; i++) Bm[i] = (float)((i * 104729) % 13) * 0.01f;
        memset(Cm, 0, sizeof(float) * (size_t)M * N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, Bm, K, 0.0f, Cm, N); /* warm */
#pragma omp barrier
        double t0 = bb_now(), t;
        long reps = 0;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, Bm, K, 0.0f, Cm, N);
            reps++;
            t = bb_now() - t0;
        } while (t < seconds);
        rates[tid] = 2.0 * M * N * K * (double)reps / t / 1e9;
        free(A);
        free(Bm);
        free(Cm);
    }
    for (int i = 0; i < threads; i++) rate_sum += rates[i];
    free(rates);
    return rate_sum;
}

/* nftw callback: remove one entry of bench's own temporary folder (deepest first). */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) ? -1 : 0;
}

/* `bbsim train` at configuration bc, as a user runs it: this binary in a fresh process
 * (the quick profile's --preset paper and lr, `threads` threads), `steps` steps into a
 * temporary folder that is removed after. *median_ms: the median of metrics.tsv's
 * ms_per_step (the update, as bench's own column; the first step left out); *wall_ms:
 * the process's wall time over steps (start, checkpoints and metrics included). */
static int train_fresh(const BenchConfig *bc, int threads, long steps, double *median_ms, double *wall_ms,
                       BbError *err) {
    const char *tmpdir = getenv("TMPDIR");
    char dir[BB_STRLEN], run[BB_STRLEN + 8], metrics[BB_STRLEN + 24], a[6][24];
    snprintf(dir, sizeof dir, "%s/bbsim-bench-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) return bb_fail(err, BB_EIO, "cannot create a temporary folder %s: %s", dir, strerror(errno));
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(metrics, sizeof metrics, "%s/metrics.tsv", run);
    snprintf(a[0], sizeof a[0], "%d", bc->L);
    snprintf(a[1], sizeof a[1], "%d", bc->C);
    snprintf(a[2], sizeof a[2], "%d", bc->T);
    snprintf(a[3], sizeof a[3], "%d", bc->B);
    snprintf(a[4], sizeof a[4], "%ld", steps);
    snprintf(a[5], sizeof a[5], "%d", threads);
    char *argv[] = {"bbsim", "train", "--preset", "paper", "--layers", a[0], "--dim", a[1], "--seq", a[2], "--batch",
                    a[3], "--lr", "1e-3", "--steps", a[4], "--threads", a[5], "--quiet", "--out", run, NULL};
    extern char **environ;
    pid_t pid;
    int rc = BB_OK, status = 0;
    const double t0 = bb_now();
    int e = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
    if (e) rc = bb_fail(err, BB_EIO, "cannot start bbsim train (/proc/self/exe): %s", strerror(e));
    else {
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) break;
        *wall_ms = 1000.0 * (bb_now() - t0) / (double)steps;
        if (!WIFEXITED(status) || WEXITSTATUS(status))
            rc = bb_fail(err, BB_EIO, "bbsim train at %s failed (status %d)", bc->name, status);
    }
    Tsv t;
    int col;
    if (!rc && !(rc = tsv_read(metrics, &t, err))) {
        if (!(rc = tsv_require(&t, "ms_per_step", &col, err))) {
            double *ms = bb_malloc(sizeof(double) * (size_t)(t.nrows + 1));
            int n = 0;
            for (int i = 1; i < t.nrows; i++) ms[n++] = tsv_num(&t, i, col);
            if (n < 1) rc = bb_fail(err, BB_EINPUT, "%s: fewer than 2 steps", metrics);
            else {
                *median_ms = median(ms, (size_t)n);
            }
            free(ms);
        }
        tsv_free(&t);
    }
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static void cpu_name(char *buf, size_t len) {
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

int cmd_bench(int argc, char **argv) {
    int threads = 0, list = 0, ceiling = 0, chosen[NCONFIGS];
    double min_time = 3.0;
    char out[BB_STRLEN] = "", which[BB_STRLEN] = "all";
    Opt o[] = {
        {"configs", OPT_STR, which, 0, 0, NULL,
         "comma-separated configurations or groups to time: all, quick, small, paper, or names as printed"},
        {"min-time", OPT_DOUBLE, &min_time, 0, 3600, NULL, "seconds of timed steps per configuration (>= 2 steps)"},
        {"threads", OPT_INT, &threads, 0, 1024, NULL, "threads (0 = OpenMP default)"},
        {"out", OPT_PATH, out, 0, 0, NULL, "also write the table as TSV to this file"},
        {"list", OPT_FLAG, &list, 0, 1, NULL, "print the chosen configurations (name, L, d, N, B; TSV) and exit"},
        {"ceiling", OPT_FLAG, &ceiling, 0, 1, NULL,
         "print only the large-shape sgemm rate in GFLOP/s (--threads threads concurrently, --min-time "
         "seconds; make repro's plan) and exit"},
    };
    const int no = sizeof o / sizeof o[0];
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bbsim bench [flags]\n\nTimes full training steps (batch sampling, forward, backward, AdamW) at\n"
                   "the quick profile's shapes, two small ones and the paper's, and this machine's\n"
                   "sgemm rate in the same run (README.md#speed). Each shape twice: the median step\n"
                   "in this process (step-ms) and the median step of `bbsim train` run as a user\n"
                   "runs it, in a fresh process (train-ms); gap = train-ms / step-ms.\n\n"
                   "configurations:\n");
            for (int k = 0; k < NCONFIGS; k++)
                printf("  %-18s %-6s L %d, d %d, N %d, B %d\n", configs[k].name, configs[k].group, configs[k].L,
                       configs[k].C, configs[k].T, configs[k].B);
            printf("\nflags:\n");
            opts_help(stdout, o, no);
            return 0;
        }
    BbError err;
    int npos;
    int rc = opts_parse(o, no, argc, argv, NULL, 0, &npos, &err);
    if (rc || (rc = parse_configs(which, chosen, &err))) return bb_report("bench", rc, &err);
    if (list) {
        for (int ci = 0; ci < NCONFIGS; ci++)
            if (chosen[ci])
                printf("%s\t%d\t%d\t%d\t%d\n", configs[ci].name, configs[ci].L, configs[ci].C, configs[ci].T,
                       configs[ci].B);
        return 0;
    }
    if (threads > 0) omp_set_num_threads(threads);
    blas_set_threads(1);
    const int nthreads = bb_threads();
    if (ceiling) {
        printf("%.1f\n", sgemm_rate(nthreads, 2048, 2048, 2048, min_time));
        return 0;
    }
    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    printf("# bbsim %s bench on %s, %d threads (batch split across threads, single-threaded GEMMs)\n", BBSIM_VERSION,
           cpu, nthreads);
    printf("# build %s\n", BBSIM_BUILD);
    blas_describe(stdout, "# ");
    /* bbsim train itself first, in fresh processes, while this process has started no
     * OpenMP thread that could spin beside them (with OMP_WAIT_POLICY=active a waiting
     * thread here halved the child's speed); about min-time seconds each, the steps
     * estimated at 40 GFLOP/s per thread */
    double train_ms[NCONFIGS], wall_ms[NCONFIGS];
    for (int ci = 0; ci < NCONFIGS && !rc; ci++) {
        train_ms[ci] = wall_ms[ci] = NAN;
        if (!chosen[ci]) continue;
        TrainConfig tc;
        TrainPlan plan;
        train_config_default(&tc);
        tc.task.seq = configs[ci].T;
        tc.model.L = configs[ci].L;
        tc.model.C = configs[ci].C;
        tc.batch = configs[ci].B;
        if ((rc = train_plan(&tc, &plan, &err))) break;
        double steps = min_time * 40e9 * nthreads / plan.step_flop;
        steps = steps < 3 ? 3 : steps > 1e6 ? 1e6 : steps;
        rc = train_fresh(&configs[ci], nthreads, (long)steps, &train_ms[ci], &wall_ms[ci], &err);
    }
    if (rc) return bb_report("bench", rc, &err);
    double large = sgemm_rate(nthreads, 2048, 2048, 2048, 1.0);
    printf("# sgemm ceiling, large shape (2048^3 per thread, %d threads concurrently): %.0f GFLOP/s\n", nthreads, large);
    printf("%-18s %2s %4s %4s %4s %8s %9s %6s %10s %8s %10s %6s %8s %7s %7s %6s\n", "config", "L", "d", "N", "B",
           "step-ms", "train-ms", "gap", "GFLOP/step", "GFLOP/s", "sgemm-same", "ratio", "bound-ms", "xbound", "x-train",
           "mem-MB");

    TsvWriter w = {0};
    if (out[0]) {
        if (tsv_begin(&w, NULL, out,
                      "config\tL\td\tN\tB\tms_per_step\tgflop_per_step\tgflops\tsgemm_same_gflops\tratio_same\t"
                      "bound_ms_large\tx_bound\tmem_mb\ttrain_ms_per_step\ttrain_wall_ms_per_step\ttrain_over_step\t"
                      "x_bound_train",
                      &err))
            return bb_report("bench", BB_EIO, &err);
        blas_describe(w.f, "# ");
        fprintf(w.f, "# cpu %s\n# build %s\n# sgemm_large_gflops %.1f\n", cpu, BBSIM_BUILD, large);
    }
    for (int ci = 0; ci < NCONFIGS; ci++) {
        const BenchConfig *bc = &configs[ci];
        if (!chosen[ci]) continue;
        TrainConfig tc;
        train_config_default(&tc);
        /* the default table, shakespeare: V = 67 as in the paper */
        tc.task.seq = bc->T;
        tc.model.L = bc->L;
        tc.model.C = bc->C;
        tc.batch = bc->B;
        Task task;
        Model model;
        if ((rc = task_build(&task, &tc.task, &err))) break;
        ModelConfig mc = tc.model;
        train_model_config_from_task(&mc, &task);
        if ((rc = model_build(&model, &mc, &err))) {
            task_free(&task);
            break;
        }
        Trainer *tr = trainer_alloc(&task, &model, bc->B, 0, 0);
        Optim opt;
        optim_alloc(&opt, &tc.optim, model.nparams);
        int *in = malloc(sizeof(int) * (size_t)bc->B * bc->T), *tg = malloc(sizeof(int) * (size_t)bc->B * bc->T);
        /* one untimed step touches every buffer */
        task_batch(&task, 0, bc->B, in, tg);
        trainer_step(tr, in, tg, bc->B, NULL, NULL);
        optim_step(&opt, model.params, trainer_grads(tr), 3e-4);
        long steps = 0, cap = 64;
        double t0 = bb_now(), elapsed, *step_ms = malloc(sizeof(double) * (size_t)cap);
        do {
            double ts = bb_now();
            task_batch(&task, steps + 1, bc->B, in, tg);
            trainer_step(tr, in, tg, bc->B, NULL, NULL);
            optim_step(&opt, model.params, trainer_grads(tr), 3e-4);
            if (steps == cap) step_ms = realloc(step_ms, sizeof(double) * (size_t)(cap *= 2));
            step_ms[steps++] = 1000.0 * (bb_now() - ts);
            elapsed = bb_now() - t0;
        } while (elapsed < min_time || steps < 2);
        double ms = median(step_ms, (size_t)steps);
        free(step_ms);
        double gflop = 3.0 * model_forward_flops(&model.cfg, bc->B, bc->T) / 1e9;
        double gflops = gflop / (ms / 1000.0);
        int Bc = (bc->B + trainer_chunks_auto(bc->B, bc->T) - 1) / trainer_chunks_auto(bc->B, bc->T);
        double same = sgemm_rate(trainer_threads(tr), Bc * bc->T, 4 * bc->C, bc->C, 0.5);
        double bound_ms = gflop / large * 1000.0;
        double mem = (double)(trainer_bytes(tr) + 3 * model.nparams * sizeof(float)) / 1048576.0;
        printf("%-18s %2d %4d %4d %4d %8.2f %9.2f %6.2f %10.2f %8.1f %10.1f %6.2f %8.1f %7.2f %7.2f %6.0f\n", bc->name,
               bc->L, bc->C, bc->T, bc->B, ms, train_ms[ci], train_ms[ci] / ms, gflop, gflops, same, gflops / same,
               bound_ms, ms / bound_ms, train_ms[ci] / bound_ms, mem);
        fflush(stdout);
        if (w.f)
            fprintf(w.f,
                    "%s\t%d\t%d\t%d\t%d\t%.3f\t%.4f\t%.2f\t%.2f\t%.4f\t%.3f\t%.3f\t%.1f\t%.3f\t%.3f\t%.4f\t%.3f\n",
                    bc->name, bc->L, bc->C, bc->T, bc->B, ms, gflop, gflops, same, gflops / same, bound_ms,
                    ms / bound_ms, mem, train_ms[ci], wall_ms[ci], train_ms[ci] / ms, train_ms[ci] / bound_ms);
        free(in);
        free(tg);
        optim_free(&opt);
        trainer_free(tr);
        model_free(&model);
        task_free(&task);
        if (rc) break;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("# peak resident memory of this process: %.0f MB\n", (double)ru.ru_maxrss / 1024.0);
    printf("# step-ms: the median training step in this process; train-ms: the median step of `bbsim train` at\n"
           "# the same shape in a fresh process (what a user runs; --preset paper, lr 1e-3); gap = train-ms /\n"
           "# step-ms. ratio = achieved GFLOP/s (step-ms) / sgemm on the model's MLP shape (one chunk per thread);\n"
           "# xbound, x-train = step-ms, train-ms over the FLOP bound at the large-shape sgemm rate.\n"
           "# Targets: gap within 0.9-1.1, paper ratio >= 0.70, others xbound <= 1.3.\n");
    if (w.f) {
        if (rc) tsv_abort(&w);
        else rc = tsv_commit(&w, &err);
    }
    return rc ? bb_report("bench", rc, &err) : 0;
}
