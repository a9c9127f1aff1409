/* The residual-peak toy of docs/method.md#residual-peak-toy: a scalar norm m pushed by the vanishing
 * ascent signal g = log(t) / (t m^3). SGD integrates it (m^4 = m0^4 + 2 eta log^2 t);
 * Adam normalises it away and keeps stepping ~eta: the residual peak needs Adam (C10). */
#include <math.h>
#include <string.h>
#include "bbsim/theory.h"

void mtoy_config_default(MtoyConfig *c) {
    c->m0 = 10.0;
    c->eta = 0.3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->steps = 10000;
}

double mtoy_signal(double m, long t) { return log((double)t) / ((double)t * m * m * m); }

void mtoy_run(const MtoyConfig *c, double *m_sgd, double *m_adam) {
    double ms = c->m0, ma = c->m0, G = 0, S = 0;
    double b1t = 1, b2t = 1; /* beta^t for the bias corrections */
    m_sgd[0] = m_adam[0] = c->m0;
    for (long t = 1; t <= c->steps; t++) {
        ms += c->eta * mtoy_signal(ms, t); /* SGD ascent: m <- m + eta g */
        double g = mtoy_signal(ma, t);
        G = c->beta1 * G + (1 - c->beta1) * g;
        S = c->beta2 * S + (1 - c->beta2) * g * g;
        b1t *= c->beta1;
        b2t *= c->beta2;
        ma += c->eta * (G / (1 - b1t)) / (sqrt(S / (1 - b2t)) + c->eps);
        m_sgd[t] = ms;
        m_adam[t] = ma;
    }
}

/* dm/dt = eta log t / (t m^3)  =>  d(m^4/4) = eta d(log^2 t / 2)  =>  m^4 = m0^4 + 2 eta log^2 t */
double mtoy_closed_form(const MtoyConfig *c, double t) {
    double lt = log(t);
    return pow(pow(c->m0, 4) + 2 * c->eta * lt * lt, 0.25);
}

void mtoy_decide(const MtoyConfig *c, const double *m_sgd, const double *m_adam, ClaimList *cl) {
    const long T = c->steps;
    double ratio = m_adam[T] / c->m0;
    claims_add(cl, "C10", "toy: Adam grows the residual norm", "several-fold growth", ratio, "m_end/m_0 >= 4",
               ratio >= 4, "Adam m_end %.4g, SGD m_end %.6g (m_0 %g, %ld steps, eta %g)", m_adam[T], m_sgd[T],
               c->m0, T, c->eta);
    /* after t updates (signals at 1..t) SGD sits at m(t) of the continuous ascent */
    double worst = 0;
    long at = 0;
    for (long t = 1; t <= T; t++) {
        double cf = mtoy_closed_form(c, (double)t);
        double d = fabs(m_sgd[t] - cf) / cf;
        if (!(d <= worst)) {
            worst = d;
            at = t;
        }
    }
    claims_add(cl, "C10", "toy: SGD follows (m0^4 + 2 eta log^2 t)^(1/4)", "SGD barely moves", worst,
               "max rel. diff <= 0.01", worst <= 0.01, "worst at step %ld; closed form m_end %.6g; SGD growth %.3g%%",
               at, mtoy_closed_form(c, (double)T), 100 * (m_sgd[T] / c->m0 - 1));
}
