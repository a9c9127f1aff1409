/* bbsim bench's measurements (src/train/bench.c, README.md#speed): whole training steps
 * (batch sampling, forward, backward, gradient sum, optimizer) timed in this process and in
 * a fresh `bbsim train`, at the quick profile's, two small and the paper's shapes, and the
 * table they make. */
#ifndef BBSIM_BENCH_H
#define BBSIM_BENCH_H

#include <stddef.h>
#include "bbsim/tsv.h"

/* One shape: L layers, width d = C, sequence length N = T, batch B. */
typedef struct BenchConfig {
    const char *name, *group; /* group: quick (the quick profile's shapes), small, paper */
    int L, C, T, B;
} BenchConfig;

#define BENCH_NCONFIGS 9
extern const BenchConfig bench_configs[BENCH_NCONFIGS];

/* --configs: comma-separated names or groups (all, quick, small, paper); marks
 * chosen[BENCH_NCONFIGS]. BB_EINPUT naming the known ones for an unknown name. */
int bench_parse_configs(const char *list, int *chosen, BbError *err);

/* The "model name" of /proc/cpuinfo, or "unknown CPU". */
void bench_cpu_name(char *buf, size_t len);

/* One shape's numbers. */
typedef struct BenchRow {
    double step_ms;       /* median step in this process */
    double train_ms;      /* median ms_per_step of `bbsim train` in a fresh process (NaN: not run) */
    double train_wall_ms; /* that process's wall time per step (start, checkpoints, metrics included) */
    double gflop;         /* per step: 3 x the forward pass */
    double gflops;        /* gflop at step_ms */
    double sgemm_same;    /* GFLOP/s of sgemm at the model's MLP shape, one chunk per thread (blas_sgemm_rate) */
    double bound_ms;      /* gflop at the large-shape sgemm rate */
    double mem_mb;        /* the trainer's buffers and the parameters, gradients and moments */
} BenchRow;

/* `bbsim train` at bc as a user runs it: the binary exe in a fresh process (the quick
 * profile's --preset paper and lr, `threads` threads) for about min_time seconds (steps
 * estimated at 40 GFLOP/s per thread, 3 to 1e6) into a temporary folder removed after.
 * Fills row->train_ms and row->train_wall_ms (the first step left out of the median). */
int bench_train_fresh(const char *exe, const BenchConfig *bc, int threads, double min_time, BenchRow *row,
                      BbError *err);

/* The step in this process: one untimed step, then steps for at least min_time seconds
 * (>= 2); fills every field of row but the train_* ones. large: the large-shape sgemm
 * rate (GFLOP/s) of bound_ms. */
int bench_time_steps(const BenchConfig *bc, double min_time, double large, BenchRow *row, BbError *err);

/* The table as TSV (bbsim bench --out): bench_table_begin opens path and writes the
 * column names, the provenance and the machine (BLAS, cpu, build, large), one
 * bench_table_row per shape, bench_table_end commits (rc == 0) or drops the file and
 * returns rc. */
int bench_table_begin(TsvWriter *w, const char *path, const char *cpu, double large, BbError *err);
void bench_table_row(TsvWriter *w, const BenchConfig *bc, const BenchRow *row);
int bench_table_end(TsvWriter *w, int rc, BbError *err);

#endif
