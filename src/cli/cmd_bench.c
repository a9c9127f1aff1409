/* bbsim bench: times whole training steps at the paper's and the quick profile's small
 * configurations (README.md#speed), each twice (its step in this process, and `bbsim train`
 * itself in a fresh process), and measures this machine's sgemm rate in the same run and
 * environment for comparison. The measurements are in src/train/bench.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "bbsim/bench.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"

static void usage(const Opt *o, int no) {
    printf("usage: bbsim bench [flags]\n\nTimes full training steps (batch sampling, forward, backward, AdamW) at\n"
           "the quick profile's shapes, two small ones and the paper's, and this machine's\n"
           "sgemm rate in the same run (README.md#speed). Each shape twice: the median step\n"
           "in this process (step-ms) and the median step of `bbsim train` run as a user\n"
           "runs it, in a fresh process (train-ms); gap = train-ms / step-ms.\n\n"
           "configurations:\n");
    for (int k = 0; k < BENCH_NCONFIGS; k++) {
        const BenchConfig *bc = &bench_configs[k];
        printf("  %-18s %-6s L %d, d %d, N %d, B %d\n", bc->name, bc->group, bc->L, bc->C, bc->T, bc->B);
    }
    printf("\nflags:\n");
    opts_help(stdout, o, no);
}

static void print_row(const BenchConfig *bc, const BenchRow *r) {
    printf("%-18s %2d %4d %4d %4d %8.2f %9.2f %6.2f %10.2f %8.1f %10.1f %6.2f %8.1f %7.2f %7.2f %6.0f\n", bc->name,
           bc->L, bc->C, bc->T, bc->B, r->step_ms, r->train_ms, r->train_ms / r->step_ms, r->gflop, r->gflops,
           r->sgemm_same, r->gflops / r->sgemm_same, r->bound_ms, r->step_ms / r->bound_ms, r->train_ms / r->bound_ms,
           r->mem_mb);
    fflush(stdout);
}

static void print_footer(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("# peak resident memory of this process: %.0f MB\n", (double)ru.ru_maxrss / 1024.0);
    printf("# step-ms: the median training step in this process; train-ms: the median step of `bbsim train` at\n"
           "# the same shape in a fresh process (what a user runs; --preset paper, lr 1e-3); gap = train-ms /\n"
           "# step-ms. ratio = achieved GFLOP/s (step-ms) / sgemm on the model's MLP shape (one chunk per thread);\n"
           "# xbound, x-train = step-ms, train-ms over the FLOP bound at the large-shape sgemm rate.\n"
           "# Targets: gap within 0.9-1.1, paper ratio >= 0.70, others xbound <= 1.3.\n");
}

/* The table of the chosen shapes: `bbsim train` in fresh processes first, then the large
 * sgemm and each shape's step here, a row printed (and written to out) as each is done. */
static int bench_table(const int *chosen, int nthreads, double min_time, const char *out, BbError *err) {
    char cpu[256];
    bench_cpu_name(cpu, sizeof cpu);
    printf("# bbsim %s bench on %s, %d threads (batch split across threads, single-threaded GEMMs)\n", BBSIM_VERSION,
           cpu, nthreads);
    printf("# build %s\n", BBSIM_BUILD);
    blas_describe(stdout, "# ");
    /* bbsim train itself first, in fresh processes, while this process has started no
     * OpenMP thread that could spin beside them (with OMP_WAIT_POLICY=active a waiting
     * thread here halved the child's speed) */
    BenchRow rows[BENCH_NCONFIGS];
    int rc = BB_OK;
    for (int ci = 0; ci < BENCH_NCONFIGS && !rc; ci++) {
        rows[ci].train_ms = rows[ci].train_wall_ms = NAN;
        if (chosen[ci]) rc = bench_train_fresh("/proc/self/exe", &bench_configs[ci], nthreads, min_time, &rows[ci], err);
    }
    if (rc) return rc;
    double large = blas_sgemm_rate(nthreads, 2048, 2048, 2048, 1.0);
    printf("# sgemm ceiling, large shape (2048^3 per thread, %d threads concurrently): %.0f GFLOP/s\n", nthreads, large);
    printf("%-18s %2s %4s %4s %4s %8s %9s %6s %10s %8s %10s %6s %8s %7s %7s %6s\n", "config", "L", "d", "N", "B",
           "step-ms", "train-ms", "gap", "GFLOP/step", "GFLOP/s", "sgemm-same", "ratio", "bound-ms", "xbound", "x-train",
           "mem-MB");
    TsvWriter w = {0};
    if (out[0] && bench_table_begin(&w, out, cpu, large, err)) return BB_EIO;
    for (int ci = 0; ci < BENCH_NCONFIGS && !rc; ci++) {
        if (!chosen[ci] || (rc = bench_time_steps(&bench_configs[ci], min_time, large, &rows[ci], err))) continue;
        print_row(&bench_configs[ci], &rows[ci]);
        bench_table_row(&w, &bench_configs[ci], &rows[ci]);
    }
    print_footer();
    return bench_table_end(&w, rc, err);
}

int cmd_bench(int argc, char **argv) {
    int threads = 0, list = 0, ceiling = 0, chosen[BENCH_NCONFIGS];
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
            usage(o, no);
            return 0;
        }
    BbError err;
    int npos;
    int rc = opts_parse(o, no, argc, argv, NULL, 0, &npos, &err);
    if (rc || (rc = bench_parse_configs(which, chosen, &err))) return bb_report("bench", rc, &err);
    if (list) {
        for (int ci = 0; ci < BENCH_NCONFIGS; ci++) {
            const BenchConfig *bc = &bench_configs[ci];
            if (chosen[ci]) printf("%s\t%d\t%d\t%d\t%d\n", bc->name, bc->L, bc->C, bc->T, bc->B);
        }
        return 0;
    }
    if (threads > 0) bb_threads_apply(threads);
    blas_set_threads(1);
    const int nthreads = bb_threads();
    if (ceiling) {
        printf("%.1f\n", blas_sgemm_rate(nthreads, 2048, 2048, 2048, min_time));
        return 0;
    }
    rc = bench_table(chosen, nthreads, min_time, out, &err);
    return rc ? bb_report("bench", rc, &err) : 0;
}
