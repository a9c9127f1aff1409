/* Which CBLAS is linked and how it is set up; see blas.h. */
#define _GNU_SOURCE /* dladdr: which shared object really provides cblas_sgemm */
#include "bbsim/blas.h"

#include <dlfcn.h>
#include <gsl/gsl_cblas.h>

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#ifdef BBSIM_HAVE_OPENBLAS
/* OpenBLAS extensions (declared in its own cblas.h, which we do not include: bbsim uses
 * GSL's CBLAS declarations and links OpenBLAS for the symbols). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif

void blas_set_threads(int n) {
#ifdef BBSIM_HAVE_OPENBLAS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

int blas_get_threads(void) {
#ifdef BBSIM_HAVE_OPENBLAS
    return openblas_get_num_threads();
#else
    return 1;
#endif
}

const char *blas_sgemm_library(void) {
    Dl_info info;
    void *fn = (void *)&cblas_sgemm;
    if (dladdr(fn, &info) && info.dli_fname) return info.dli_fname;
    return "(statically linked)";
}

void blas_describe(FILE *f, const char *prefix) {
    fprintf(f, "%scblas_sgemm from %s\n", prefix, blas_sgemm_library());
#ifdef BBSIM_HAVE_OPENBLAS
    fprintf(f, "%sblas %s; core %s; threads %d; config %s\n", prefix, BBSIM_BLAS_NAME, openblas_get_corename(),
            openblas_get_num_threads(), openblas_get_config());
#else
    fprintf(f, "%sblas %s\n", prefix, BBSIM_BLAS_NAME);
#endif
    const char *vars[] = {"OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                          "OMP_PROC_BIND", "OMP_WAIT_POLICY", "GOTO_NUM_THREADS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v) fprintf(f, "%senv %s=%s\n", prefix, vars[i], v);
    }
}

void blas_warm(int threads) {
    enum { N = 512 };
#pragma omp parallel num_threads(threads > 0 ? threads : 1)
    {
        /* three separate blocks, as the measurement above allocated them */
        float *a = calloc((size_t)N * N, sizeof(float)), *b = calloc((size_t)N * N, sizeof(float)),
              *c = calloc((size_t)N * N, sizeof(float));
        if (a && b && c) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
        free(a);
        free(b);
        free(c);
    }
}
