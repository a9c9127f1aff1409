/* Tests of the theory checker: the BDF ODE driver against closed forms, the reduced
 * model's gradient and Hessian against central finite differences, gradient flow vs
 * gradient descent, the residual-peak toy against its closed form, the rate fits on
 * synthetic data, and the `bbsim theory` command line. Short horizons throughout. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gsl/gsl_randist.h>
#include "bbsim/task.h"
#include "bbsim/theory.h"
#include "bbsim/run.h"
#include "bbsim/train.h"

/* ------------------------------------------------------------ ODE driver */

/* x' = A x, A = [[-1000.5, 999.5], [999.5, -1000.5]]: eigenvalues -1 (along (1,1)) and
 * -2000 (along (1,-1)); an explicit stepper needs h < 1e-3, i.e. 10^4 steps to t = 10. */
static int lin_f(double t, const double x[], double f[], void *p) {
    (void)t;
    (void)p;
    f[0] = -1000.5 * x[0] + 999.5 * x[1];
    f[1] = 999.5 * x[0] - 1000.5 * x[1];
    return 0;
}
static int lin_jac(double t, const double x[], double *J, double dfdt[], void *p) {
    (void)t;
    (void)x;
    (void)p;
    J[0] = -1000.5;
    J[1] = 999.5;
    J[2] = 999.5;
    J[3] = -1000.5;
    dfdt[0] = dfdt[1] = 0;
    return 0;
}

static void test_ode_stiff_linear(void **state) {
    (void)state;
    const double t_out[] = {1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10};
    const int nout = 7;
    double x[2] = {2.0, 0.0}; /* = (1,1) + (1,-1) */
    double xo[14], ex[14];
    long steps;
    OdeProblem p = {2, lin_f, lin_jac, NULL, 1e-10, 1e-12, 1e-6, 100000};
    BbError err;
    assert_int_equal(theory_ode_run(&p, 0.0, x, t_out, nout, xo, &steps, &err), 0);
    for (int i = 0; i < nout; i++) {
        double a = exp(-t_out[i]), b = exp(-2000 * t_out[i]);
        ex[2 * i] = a + b;
        ex[2 * i + 1] = a - b;
    }
    assert_allclose(xo, ex, 14, 1e-8, 1e-6);
    assert_allclose(x, xo + 12, 2, 0, 0); /* x left at the last state */
    if (steps >= 5000) fail_msg("BDF took %ld steps: not behaving as an implicit stepper", steps);
}

/* logistic x' = x (1 - x): x(t) = 1 / (1 + (1/x0 - 1) e^{-t}) */
static int logi_f(double t, const double x[], double f[], void *p) {
    (void)t;
    (void)p;
    f[0] = x[0] * (1 - x[0]);
    return 0;
}
static int logi_jac(double t, const double x[], double *J, double dfdt[], void *p) {
    (void)t;
    (void)p;
    J[0] = 1 - 2 * x[0];
    dfdt[0] = 0;
    return 0;
}

static void test_ode_logistic(void **state) {
    (void)state;
    double t_out[40], xo[40], ex[40];
    for (int i = 0; i < 40; i++) t_out[i] = 0.5 * (i + 1);
    double x = 1e-3;
    OdeProblem p = {1, logi_f, logi_jac, NULL, 1e-10, 1e-14, 1e-3, 0};
    BbError err;
    assert_int_equal(theory_ode_run(&p, 0.0, &x, t_out, 40, xo, NULL, &err), 0);
    for (int i = 0; i < 40; i++) ex[i] = 1.0 / (1.0 + (1.0 / 1e-3 - 1.0) * exp(-t_out[i]));
    assert_allclose(xo, ex, 40, 1e-9, 1e-7);
}

static void test_ode_errors(void **state) {
    (void)state;
    double x = 0.5, t_bad[2] = {1.0, 0.5}, xo[2];
    OdeProblem p = {1, logi_f, logi_jac, NULL, 1e-8, 1e-12, 1e-3, 0};
    BbError err = {{0}};
    assert_int_equal(theory_ode_run(&p, 0.0, &x, t_bad, 2, xo, NULL, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "increase"));
    /* a step limit is reported, not ignored */
    double t_far[1] = {1e6}, y[2] = {1, 1};
    OdeProblem q = {2, lin_f, lin_jac, NULL, 1e-12, 1e-14, 1e-9, 5};
    assert_int_equal(theory_ode_run(&q, 0.0, y, t_far, 1, NULL, NULL, &err), BB_ENUM);
    assert_non_null(strstr(err.msg, "step limit"));
}

/* ---------------------------------------------------------- reduced model */

static ReducedConfig small_config(void) {
    ReducedConfig c;
    reduced_config_default(&c);
    c.types = 3;
    c.classes = 5;
    c.context = 2;
    c.samples = 300;
    c.seed = 7;
    return c;
}

static void test_reduced_build(void **state) {
    (void)state;
    ReducedConfig c = small_config();
    ReducedModel m, f;
    BbError err;
    assert_int_equal(reduced_build(&m, &c, 0, &err), 0);
    assert_int_equal(reduced_build(&f, &c, 1, &err), 0);
    /* distinct contexts: at most C(L+w-1, w) = 15 per type, weights sum to 1, counts sum to w */
    for (int v = 0; v < m.n; v++) {
        int k = m.ctx_begin[v + 1] - m.ctx_begin[v];
        assert_true(k >= 2 && k <= 15);
        double om = 0;
        for (int i = m.ctx_begin[v]; i < m.ctx_begin[v + 1]; i++) {
            om += m.omega[i];
            int sum = 0;
            for (int j = 0; j < m.L; j++) sum += m.z[i * m.L + j];
            assert_int_equal(sum, c.context);
            if (i > m.ctx_begin[v]) assert_true(memcmp(m.z + i * m.L, m.z + (i - 1) * m.L, (size_t)m.L) != 0);
        }
        assert_close(om, 1.0, 1e-12, 0);
        double ps = 0;
        for (int j = 0; j < m.L; j++) {
            assert_true(m.p[v * m.L + j] > 0);
            ps += m.p[v * m.L + j];
        }
        assert_close(ps, 1.0, 1e-12, 0);
        /* the fixed-context model: one context, shared by every type */
        assert_int_equal(f.ctx_begin[v + 1] - f.ctx_begin[v], 1);
        assert_memory_equal(f.z + v * f.L, f.z, (size_t)f.L);
    }
    /* same seed, same model; the loss is deterministic */
    ReducedModel m2;
    assert_int_equal(reduced_build(&m2, &c, 0, &err), 0);
    double x[8];
    reduced_init_state(&m, &c, x);
    assert_true(reduced_loss_grad(&m, x, NULL) == reduced_loss_grad(&m2, x, NULL));
    reduced_free(&m2);
    c.seed = 8;
    assert_int_equal(reduced_build(&m2, &c, 0, &err), 0);
    assert_true(reduced_loss_grad(&m, x, NULL) != reduced_loss_grad(&m2, x, NULL));
    reduced_free(&m2);
    reduced_free(&m);
    reduced_free(&f);
}

/* The loss by its definition, the slow way: o = (e^y s + z)/(e^y + w), softmax, KL. */
static double naive_loss(const ReducedModel *m, const double *x) {
    double loss = 0;
    for (int v = 0; v < m->n; v++) {
        double A = exp(x[v]), D = A + m->w;
        for (int c = m->ctx_begin[v]; c < m->ctx_begin[v + 1]; c++) {
            double lo[64], mx = -INFINITY, S = 0, kl = 0;
            for (int j = 0; j < m->L; j++) {
                lo[j] = (A * x[m->n + j] + m->z[c * m->L + j]) / D + log(m->p[v * m->L + j]);
                if (lo[j] > mx) mx = lo[j];
            }
            for (int j = 0; j < m->L; j++) S += exp(lo[j] - mx);
            for (int j = 0; j < m->L; j++) {
                double logq = lo[j] - mx - log(S), p = m->p[v * m->L + j];
                kl += p * (log(p) - logq);
            }
            loss += m->pi[v] * m->omega[c] * kl;
        }
    }
    return loss;
}

static void test_reduced_gradient_fd(void **state) {
    (void)state;
    ReducedConfig c = small_config();
    ReducedModel m;
    BbError err;
    assert_int_equal(reduced_build(&m, &c, 0, &err), 0);
    const int dim = reduced_dim(&m);
    gsl_rng *r = bb_rng_alloc(99);
    for (int trial = 0; trial < 4; trial++) {
        double x[8], g[8], fd[8], H[64], fdH[64], gp[8], gm[8];
        /* from y ~ 0 (sink not formed) to y ~ 6 (deep in the sink regime) */
        for (int v = 0; v < m.n; v++) x[v] = 2.0 * trial + gsl_ran_flat(r, -1, 1);
        for (int j = 0; j < m.L; j++) x[m.n + j] = gsl_ran_flat(r, -1, 1) * (trial == 3 ? 0.01 : 1.0);
        double L0 = reduced_loss_grad(&m, x, g);
        assert_close(L0, naive_loss(&m, x), 1e-13, 1e-9);
        for (int i = 0; i < dim; i++) {
            const double h = 1e-5;
            double xp[8], xm[8];
            memcpy(xp, x, sizeof x);
            memcpy(xm, x, sizeof x);
            xp[i] += h;
            xm[i] -= h;
            fd[i] = (naive_loss(&m, xp) - naive_loss(&m, xm)) / (2 * h);
            reduced_loss_grad(&m, xp, gp);
            reduced_loss_grad(&m, xm, gm);
            for (int j = 0; j < dim; j++) fdH[j * dim + i] = (gp[j] - gm[j]) / (2 * h);
        }
        double gscale = 0;
        for (int i = 0; i < dim; i++) gscale = fmax(gscale, fabs(fd[i]));
        assert_allclose(g, fd, (size_t)dim, 1e-6 * gscale + 1e-12, 1e-5);
        reduced_hessian(&m, x, H);
        double hscale = 0;
        for (int i = 0; i < dim * dim; i++) hscale = fmax(hscale, fabs(fdH[i]));
        assert_allclose(H, fdH, (size_t)(dim * dim), 1e-6 * hscale + 1e-12, 1e-5);
        /* dLss/ds sums to 0: mean(s) is conserved by the flow */
        double gs = 0;
        for (int j = 0; j < m.L; j++) gs += g[m.n + j];
        assert_close(gs, 0.0, 1e-14, 0);
    }
    gsl_rng_free(r);
    reduced_free(&m);
}

/* Gradient descent with a small step follows the gradient flow, with an O(eta) error. */
static void test_reduced_flow_vs_gd(void **state) {
    (void)state;
    ReducedConfig c = small_config();
    c.t_end = 200;
    c.gd_steps = 0;
    ReducedModel m;
    BbError err;
    assert_int_equal(reduced_build(&m, &c, 0, &err), 0);
    double errs[2];
    for (int k = 0; k < 2; k++) {
        c.eta = k ? 0.05 : 0.2;
        c.gd_steps = lround(200 / c.eta);
        ReducedRun rr;
        int rc = reduced_run(&m, &c, 1, &rr, &err);
        if (rc) fail_msg("%s", err.msg);
        assert_int_equal(rr.ngd, rr.nt); /* GD ends at t_end */
        double dmax = 0;
        for (int i = 0; i < rr.ngd * rr.dim; i++) dmax = fmax(dmax, fabs(rr.x_gd[i] - rr.x_ode[i]));
        errs[k] = dmax;
        /* the loss decreases along the flow */
        for (int i = 1; i < rr.nt; i++) assert_true(rr.loss_ode[i] <= rr.loss_ode[i - 1] + 1e-15);
        reduced_run_free(&rr);
    }
    if (!(errs[0] < 0.05 && errs[1] < errs[0] / 2.5))
        fail_msg("GD-ODE gap %.3g at eta 0.2, %.3g at eta 0.05: not O(eta)", errs[0], errs[1]);
    reduced_free(&m);
}

/* A short run of the claims: the sink regime starts quickly with few classes, and the
 * fixed context stops at a finite y. */
static void test_reduced_claims_short(void **state) {
    (void)state;
    ReducedConfig c = small_config();
    c.t_end = 1e6;
    c.gd_steps = 2000;
    c.fit_decades = 1;
    ReducedModel m, f;
    ReducedRun rr, fr;
    BbError err;
    assert_int_equal(reduced_build(&m, &c, 0, &err), 0);
    assert_int_equal(reduced_build(&f, &c, 1, &err), 0);
    assert_int_equal(reduced_run(&m, &c, 1, &rr, &err), 0);
    assert_int_equal(reduced_run(&f, &c, 0, &fr, &err), 0);
    ClaimList cl = {0};
    reduced_decide(&c, &rr, &fr, &cl);
    assert_int_equal(cl.n, 5);
    for (int i = 0; i < cl.n; i++) {
        assert_string_equal(cl.c[i].id, "C11");
        if (!cl.c[i].pass) fail_msg("claim '%s' failed: measured %g (%s)", cl.c[i].claim, cl.c[i].measured, cl.c[i].fit);
    }
    /* y of the random-context run keeps growing; the fixed-context one has settled */
    int last = rr.nt - 1;
    assert_true(rr.x_ode[(size_t)last * rr.dim] > 5.0);
    assert_true(fabs(fr.x_ode[(size_t)last * fr.dim] - fr.x_ode[(size_t)(last - 10) * fr.dim]) < 1e-6);
    reduced_run_free(&rr);
    reduced_run_free(&fr);
    reduced_free(&m);
    reduced_free(&f);
}

/* --------------------------------------------------------------- the toy */

static double sgd_gap(double m0, double eta) {
    MtoyConfig c;
    mtoy_config_default(&c);
    c.m0 = m0;
    c.eta = eta;
    double *ms = malloc(sizeof(double) * (size_t)(c.steps + 1)), *ma = malloc(sizeof(double) * (size_t)(c.steps + 1));
    mtoy_run(&c, ms, ma);
    double worst = 0;
    for (long t = 1; t <= c.steps; t++) worst = fmax(worst, fabs(ms[t] - mtoy_closed_form(&c, (double)t)) / ms[t]);
    free(ms);
    free(ma);
    return worst;
}

static void test_mtoy(void **state) {
    (void)state;
    MtoyConfig c;
    mtoy_config_default(&c);
    double *ms = malloc(sizeof(double) * (size_t)(c.steps + 1)), *ma = malloc(sizeof(double) * (size_t)(c.steps + 1));
    mtoy_run(&c, ms, ma);
    assert_true(ms[0] == 10.0 && ma[0] == 10.0);
    /* step 1: log 1 = 0, nothing moves; step 2 by hand */
    assert_true(ms[1] == 10.0 && ma[1] == 10.0);
    double g2 = log(2.0) / (2 * 1000.0);
    assert_close(ms[2], 10.0 + 0.3 * g2, 1e-14, 0);
    /* Adam at step 2: G = 0.1 g, S = 0.001 g^2, corrections 1-0.9^2, 1-0.999^2 */
    double G = 0.1 * g2, S = 0.001 * g2 * g2;
    assert_close(ma[2], 10.0 + 0.3 * (G / (1 - 0.81)) / (sqrt(S / (1 - 0.999 * 0.999)) + 1e-8), 1e-12, 0);
    /* SGD barely moves and sits on the closed form; Adam grows several-fold */
    assert_close(ms[c.steps], mtoy_closed_form(&c, (double)c.steps), 0, 1e-4);
    assert_true(ms[c.steps] < 1.01 * c.m0);
    assert_true(ma[c.steps] >= 4 * c.m0);
    for (long t = 1; t <= c.steps; t++) assert_true(ma[t] >= ma[t - 1]);
    ClaimList cl = {0};
    mtoy_decide(&c, ms, ma, &cl);
    assert_int_equal(cl.n, 2);
    assert_true(cl.c[0].pass && cl.c[1].pass);
    /* a run that does not grow must fail the Adam claim */
    ma[c.steps] = 2 * c.m0;
    cl.n = 0;
    mtoy_decide(&c, ms, ma, &cl);
    assert_false(cl.c[0].pass);
    free(ms);
    free(ma);
    /* where m moves a lot, SGD still follows the continuous ascent to O(eta) */
    double g1 = sgd_gap(1.5, 0.3), g2b = sgd_gap(1.5, 0.03);
    if (!(g1 < 0.01 && g2b < g1 / 5)) fail_msg("SGD-closed form gap %.3g (eta 0.3), %.3g (eta 0.03)", g1, g2b);
}

/* --------------------------------------------------------------- the fits */

static void test_fits(void **state) {
    (void)state;
    enum { N = 60 };
    double t[N], y[N], yp[N];
    gsl_rng *r = bb_rng_alloc(5);
    for (int i = 0; i < N; i++) {
        t[i] = pow(10.0, 0.1 * i); /* 1 .. ~1e6 */
        y[i] = 0.5 * log(t[i]) + 1.3 + gsl_ran_gaussian(r, 0.02);
        yp[i] = 3.0 * pow(t[i], -0.5) * exp(gsl_ran_gaussian(r, 0.02));
    }
    /* points outside the window are garbage and must be ignored */
    y[0] = 100;
    yp[0] = -1e9;
    LineFit f;
    assert_int_equal(fit_logt(t, y, N, 10, 1e6, &f), 0);
    assert_int_equal(f.n, N - 10);
    assert_close(f.slope, 0.5, 0.01, 0);
    assert_close(f.intercept, 1.3, 0.1, 0);
    assert_true(f.r2 > 0.99 && f.r2 <= 1);
    assert_true(f.slope_se > 0 && f.slope_se < 0.01);
    assert_int_equal(fit_powerlaw(t, yp, N, 10, 1e6, &f), 0);
    assert_close(f.slope, -0.5, 0.01, 0);
    assert_close(exp(f.intercept), 3.0, 0.15, 0);
    /* exact data: exact fit */
    double x3[4] = {0, 1, 2, 3}, y3[4] = {1, 3, 5, 7};
    assert_int_equal(fit_line(x3, y3, 4, &f), 0);
    assert_close(f.slope, 2, 1e-14, 0);
    assert_close(f.intercept, 1, 1e-14, 0);
    assert_close(f.r2, 1, 1e-14, 0);
    /* pure noise: slope ~ 0, R^2 ~ 0 */
    for (int i = 0; i < N; i++) y[i] = gsl_ran_gaussian(r, 1.0);
    fit_logt(t, y, N, 1, 1e7, &f);
    assert_true(f.r2 < 0.2);
    /* too few points: NaN, never a verdict */
    assert_int_not_equal(fit_logt(t, y, N, 1e9, 1e10, &f), 0);
    assert_true(isnan(f.slope));
    gsl_rng_free(r);
}

/* ------------------------------------------------------- simplified model */

/* A tiny training run: the per-checkpoint numbers against independent computations
 * from the reloaded checkpoints; a second call reuses the finished run. */
static void test_simple_small(void **state) {
    (void)state;
    SimpleConfig c;
    simple_config_default(&c);
    c.steps = 40;
    c.batch = 4;
    c.seq = 16;
    c.vbase = 8;
    c.eval_batch = 8;
    c.fit_decades = 0.5;
    char *dir = make_tempdir();
    SimpleRun run, again;
    BbError err;
    int rc = simple_run(&c, 0, dir, &run, &err);
    if (rc) fail_msg("simple_run: %s", err.msg);
    assert_true(run.npoints >= 3);
    assert_int_equal(run.pt[0].step, 0);
    assert_int_equal(run.pt[run.npoints - 1].step, 40);
    assert_int_equal(run.ntypes, 8 - 3); /* ordinary tokens minus the k = 3 triggers */
    char rdir[1100];
    snprintf(rdir, sizeof rdir, "%s/adamw", dir);
    for (int k = 0; k < run.npoints; k += run.npoints - 1) {
        const SimplePoint *p = &run.pt[k];
        Run r;
        assert_int_equal(run_load(&r, rdir, p->step, &err), 0);
        const int E = c.eval_batch, T = c.seq, V = r.model.cfg.V;
        int *in = malloc(sizeof(int) * E * T), *tg = malloc(sizeof(int) * E * T);
        task_eval_batch(&r.task, E, in, tg);
        /* Attn<s> from a alone: a_i0 = e^a / (e^a + i) (one logit-a key among i+1) */
        double attn = 0;
        long n = 0;
        for (int b = 0; b < E; b++)
            for (int i = 0; i < T; i++) {
                if (task_is_trigger_pos(&r.task, in + b * T, i)) continue;
                double ea = exp((double)r.model.p.s_bos_logit[in[b * T + i]]);
                attn += i == 0 ? 1.0 : ea / (ea + i);
                n++;
            }
        assert_close(p->attn_bos, attn / n, 1e-5, 0);
        double nrm = 0;
        for (int v = 0; v < V; v++) {
            double s = 0;
            for (int u = 0; u < V; u++) s += (double)r.model.p.s_wo[v * V + u] * r.model.p.s_bos_value[u];
            nrm += s * s;
        }
        /* |Wo b| is read from the float Wo b the forward pass forms (model_simple_bos_value):
         * agrees with this double product to float rounding */
        assert_close(p->wo_b, sqrt(nrm), 1e-9, 1e-6);
        assert_true(p->wo_b_perp <= p->wo_b + 1e-12);
        for (int v = 0; v < run.ntypes; v++)
            assert_true(run.a[(size_t)k * run.ntypes + v] == r.model.p.s_bos_logit[run.type_id[v]]);
        /* cross-entropy against the oracle is at least its entropy; backcopy is deterministic */
        assert_true(p->backcopy_floor == 0.0);
        assert_true(p->bigram_floor > 0.1);
        assert_true(p->bigram_risk >= p->bigram_floor - 1e-9 && p->backcopy_risk >= 0);
        free(in);
        free(tg);
        run_free(&r);
    }
    /* a finished identical run is reused: identical numbers */
    assert_int_equal(simple_run(&c, 0, dir, &again, &err), 0);
    assert_int_equal(again.npoints, run.npoints);
    assert_memory_equal(again.pt, run.pt, sizeof(SimplePoint) * (size_t)run.npoints);
    simple_run_free(&again);
    /* a different one replaces it */
    c.steps = 30;
    rc = simple_run(&c, 0, dir, &again, &err);
    if (rc) fail_msg("rerun: %s", err.msg);
    assert_int_equal(again.pt[again.npoints - 1].step, 30);
    ClaimList cl = {0};
    simple_decide(&c, &run, &again, &cl);
    assert_int_equal(cl.n, 3);
    for (int i = 0; i < 3; i++) assert_string_equal(cl.c[i].id, "C12");
    simple_run_free(&again);
    simple_run_free(&run);
    remove_tempdir(dir);
}

/* -------------------------------------------------------------- the CLI */

/* Lines of path containing needle: data lines, or (comments = 1) "#" header lines. */
static int count_lines(const char *path, const char *needle, int comments) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if ((line[0] == '#') == comments && strstr(line, needle)) n++;
    fclose(f);
    return n;
}
static int count_rows(const char *path, const char *needle) { return count_lines(path, needle, 0); }

static void test_cli(void **state) {
    (void)state;
    char *dir = make_tempdir(), *out = NULL, path[1100];
    assert_int_equal(run_bbsim(&out, "theory mtoy --quiet --out %s", dir), 0);
    assert_non_null(strstr(out, "C10"));
    free(out);
    snprintf(path, sizeof path, "%s/theory.tsv", dir);
    assert_int_equal(count_rows(path, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict"), 1);
    assert_int_equal(count_rows(path, "C10\t"), 2);
    assert_int_equal(count_rows(path, "\tPASS"), 2);
    assert_int_equal(count_lines(path, "# config toy-m0 10\n", 1), 1); /* every option in the header */
    assert_int_equal(count_lines(path, "# bbsim ", 1), 1);
    snprintf(path, sizeof path, "%s/mtoy.tsv", dir);
    assert_int_equal(count_rows(path, "step\tm_sgd\tm_adam\tm_closed_form"), 1);
    assert_int_equal(count_rows(path, "\t"), 10002);

    /* a short reduced run writes its claims and curves */
    assert_int_equal(run_bbsim(&out, "theory reduced --quiet --out %s --t-end 1e5 --gd-steps 1000 --fit-decades 1 "
                                     "--samples 500 --types 2 --classes 4 --context 2",
                               dir),
                     0);
    free(out);
    snprintf(path, sizeof path, "%s/theory.tsv", dir);
    assert_int_equal(count_rows(path, "C11\t"), 5);
    assert_int_equal(count_rows(path, "C10\t"), 0);
    const char *files[] = {"reduced_y.tsv", "reduced_state.tsv", "reduced_odegd.tsv", "reduced_fixed.tsv"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_true(count_rows(path, "\t") > 10);
        assert_int_equal(count_lines(path, "# config seed 1\n", 1), 1);
        assert_int_equal(count_lines(path, "# config classes 4\n", 1), 1);
    }

    /* bad input: one line on stderr, exit 2, nothing half-written */
    assert_int_equal(run_bbsim(&out, "theory mtoy --out %s --no-such-flag 1", dir), 2);
    assert_non_null(strstr(out, "bbsim theory: "));
    assert_non_null(strstr(out, "--no-such-flag"));
    free(out);
    assert_int_equal(run_bbsim(&out, "theory sideways --out %s", dir), 2);
    assert_non_null(strstr(out, "unknown part 'sideways'"));
    free(out);
    assert_int_equal(run_bbsim(&out, "theory reduced --out %s --t-end 100 --gd-steps 1000", dir), 2);
    free(out);
    assert_int_equal(run_bbsim(&out, "theory --help"), 0);
    assert_non_null(strstr(out, "--toy-eta"));
    free(out);
    remove_tempdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ode_stiff_linear),  cmocka_unit_test(test_ode_logistic),
        cmocka_unit_test(test_ode_errors),        cmocka_unit_test(test_reduced_build),
        cmocka_unit_test(test_reduced_gradient_fd), cmocka_unit_test(test_reduced_flow_vs_gd),
        cmocka_unit_test(test_reduced_claims_short), cmocka_unit_test(test_mtoy),
        cmocka_unit_test(test_fits),              cmocka_unit_test(test_simple_small),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
