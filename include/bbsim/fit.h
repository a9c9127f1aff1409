/* Rate fits shared by the theory checker and the claims: least-squares lines (GSL) on y vs
 * x, y vs log t ("grows like log t") and log|y| vs log t (power-law exponents). */
#ifndef BBSIM_FIT_H
#define BBSIM_FIT_H

#include "bbsim/common.h"

/* Least-squares line y = intercept + slope x (gsl_fit_linear), with R^2 and the slope's
 * standard error. n >= 3 points needed (else n is reported and the fit is NaN). */
typedef struct LineFit {
    double slope, intercept, r2, slope_se;
    int n;
} LineFit;

int fit_line(const double *x, const double *y, int n, LineFit *out);
/* y against log t over the window tmin <= t <= tmax (the "linear in log t" fits). */
int fit_logt(const double *t, const double *y, int n, double tmin, double tmax, LineFit *out);
/* log|y| against log t over the window: slope = the power-law exponent. Points with
 * y == 0 or non-finite are skipped. */
int fit_powerlaw(const double *t, const double *y, int n, double tmin, double tmax, LineFit *out);

#endif
