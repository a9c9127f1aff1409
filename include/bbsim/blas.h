/* The CBLAS in use (OpenBLAS when found at build time, else gslcblas): its thread
 * count and a description of the library and the environment that affects it. */
#ifndef BBSIM_BLAS_H
#define BBSIM_BLAS_H

#include <stdio.h>

/* Training splits the batch over OpenMP threads, each calling single-threaded GEMMs. */
void blas_set_threads(int n);
int blas_get_threads(void);
/* The shared object that provides cblas_sgemm at run time (a wrong link order
 * silently gives GSL's slow reference BLAS). */
const char *blas_sgemm_library(void);
/* "OpenBLAS 0.3.21 (core Haswell, config ...), threads 1" and the OPENBLAS_* / OMP_*
 * environment variables, one "# key value" line each when prefix is "# ". */
void blas_describe(FILE *f, const char *prefix);

/* One 512^3 sgemm on each of `threads` OpenMP threads (on zeros; about 0.27 GFLOP each)
 * before a run's first product. Measured on a 2-core Zen 1 EPYC (OpenBLAS 0.3.21,
 * Haswell kernels, one thread): `bbsim train` at the quick 1-layer shape ran at 55-57
 * ms/step after small first calls and at 29.6 with one 512^3 call first (64^3 was not
 * enough; OPENBLAS_NUM_THREADS=1 changed nothing), the speed of bbsim bench, which runs
 * a 2048^3 sgemm first. The AVX-512 machines show no difference. bbsim bench's train-ms
 * column (a fresh bbsim train) is the check on any machine (README.md#speed). */
void blas_warm(int threads);

/* GFLOP/s of `threads` OpenMP threads each running its own single-threaded sgemm
 * C (M,N) = A (M,K) B (K,N)^T concurrently, as training does, for about `seconds`
 * (src/core/blas_rate.c). bbsim bench's ceiling is the 2048^3 shape. */
double blas_sgemm_rate(int threads, int M, int N, int K, double seconds);

#endif
