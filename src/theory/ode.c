/* The theory checker's ODE driver: GSL odeiv2 with the implicit multistep BDF stepper
 * (msbdf, analytic Jacobian), stepping through a list of output times. The reduced
 * model's gradient flow is stiff (s relaxes in O(1) time while y creeps like log t), so
 * an explicit stepper would need ~t steps; BDF takes steps that grow with t. */
#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include "bbsim/theory.h"

int theory_ode_run(const OdeProblem *p, double t0, double *x, const double *t_out, int nout,
                   double *x_out, long *nsteps, BbError *err) {
    gsl_odeiv2_system sys = {p->f, p->jac, p->dim, p->params};
    gsl_odeiv2_driver *d =
        gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_msbdf, p->h0 > 0 ? p->h0 : 1e-6, p->atol, p->rtol);
    if (!d) return bb_fail(err, BB_ENOMEM, "cannot allocate the ODE driver");
    double t = t0;
    int rc = BB_OK;
    for (int i = 0; i < nout; i++) {
        if (!(t_out[i] >= t)) {
            rc = bb_fail(err, BB_EINPUT, "ODE output times must increase (t[%d] = %g < %g)", i, t_out[i], t);
            break;
        }
        if (p->max_steps > 0) {
            long left = p->max_steps - (long)d->e->count;
            if (left <= 0) left = 1;
            gsl_odeiv2_driver_set_nmax(d, (unsigned long)left);
        }
        int st = t_out[i] > t ? gsl_odeiv2_driver_apply(d, &t, t_out[i], x) : GSL_SUCCESS;
        if (st != GSL_SUCCESS) {
            rc = bb_fail(err, BB_ENUM, "ODE integration stopped at t = %g before t = %g: %s%s", t, t_out[i],
                         gsl_strerror(st), st == GSL_EMAXITER ? " (step limit reached)" : "");
            break;
        }
        if (x_out) memcpy(x_out + (size_t)i * p->dim, x, p->dim * sizeof(double));
    }
    if (nsteps) *nsteps = (long)d->e->count;
    gsl_odeiv2_driver_free(d);
    return rc;
}
