/* Rate fits (the theory checker and the claims): least-squares lines through GSL (gsl_fit_linear), on
 * y vs log t ("grows like log t") and on log|y| vs log t (power-law exponents). */
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_statistics_double.h>
#include "bbsim/fit.h"

int fit_line(const double *x, const double *y, int n, LineFit *out) {
    out->n = n;
    out->slope = out->intercept = out->r2 = out->slope_se = NAN;
    if (n < 3) return BB_ENUM;
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(x, 1, y, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    double tss = gsl_stats_tss(y, 1, (size_t)n);
    out->intercept = c0;
    out->slope = c1;
    out->slope_se = sqrt(cov11);
    /* R^2 = 1 - SS_res / SS_tot; a perfectly flat y (SS_tot = 0) fitted exactly counts as 1 */
    out->r2 = tss > 0 ? 1.0 - sumsq / tss : (sumsq == 0 ? 1.0 : 0.0);
    return BB_OK;
}

/* Collect (xf(t), yf(y)) over the window into malloc'd arrays; returns the count. */
static int window(const double *t, const double *y, int n, double tmin, double tmax, int logy,
                  double **X, double **Y) {
    *X = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    *Y = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!(t[i] >= tmin && t[i] <= tmax) || !(t[i] > 0) || !isfinite(y[i])) continue;
        if (logy && y[i] == 0) continue;
        (*X)[k] = log(t[i]);
        (*Y)[k] = logy ? log(fabs(y[i])) : y[i];
        k++;
    }
    return k;
}

int fit_logt(const double *t, const double *y, int n, double tmin, double tmax, LineFit *out) {
    double *X, *Y;
    int k = window(t, y, n, tmin, tmax, 0, &X, &Y);
    int rc = fit_line(X, Y, k, out);
    free(X);
    free(Y);
    return rc;
}

int fit_powerlaw(const double *t, const double *y, int n, double tmin, double tmax, LineFit *out) {
    double *X, *Y;
    int k = window(t, y, n, tmin, tmax, 1, &X, &Y);
    int rc = fit_line(X, Y, k, out);
    free(X);
    free(Y);
    return rc;
}
