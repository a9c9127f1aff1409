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

#endif
