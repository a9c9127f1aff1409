/* This machine's sgemm rate (blas_sgemm_rate, include/bbsim/blas.h): the ceiling that
 * bbsim bench and make repro's plan compare training steps with. */
#include "bbsim/blas.h"

#include <gsl/gsl_cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/common.h"

double blas_sgemm_rate(int threads, int M, int N, int K, double seconds) {
    double rate_sum = 0;
    double *rates = bb_calloc((size_t)threads, sizeof(double));
#pragma omp parallel num_threads(threads)
    {
        int tid = omp_get_thread_num();
        float *A = bb_malloc(sizeof(float) * (size_t)M * K), *Bm = bb_malloc(sizeof(float) * (size_t)N * K),
              *Cm = bb_malloc(sizeof(float) * (size_t)M * N);
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
