/* The reduced gradient model of docs/method.md#reduced-dynamics: BOS logits y (one per non-trigger
 * query type) and BOS value s (over L classes) under random contexts. Exact loss,
 * gradient and Hessian; gradient flow through the BDF driver and plain gradient descent;
 * the C11 verdicts.
 *
 * ---- Model ----
 * Per type v: A = e^{y_v}, D = A + w, o = (A s + z) / D, q = softmax(o + log p_v),
 * Lss = sum_v pi_v E_z[ KL(p_v || q) ],  KL(p || softmax(o + log p)) = log(sum_j p_j e^{o_j}) - p.o.
 *
 * ---- Gradients (the derivation behind docs/method.md#reduced-dynamics) ----
 * dKL/do = q - p (=: r). do/dy = A (w s - z) / D^2, do/ds = (A / D) I. Hence
 *   dLss/dy_v = pi_v A/D^2 E[ r . (w s - z) ],   dLss/ds = sum_v pi_v A/D E[ r ].
 * The second keeps the E[.] over contexts too: r depends on z, so it cannot be taken out of
 * the average (finite differences in tests/test_theory.c confirm both).
 * Hessian (c_s = A/D, c_y = A/D^2, g = w s - z, Sigma_q = diag(q) - q q^T, dr/do = Sigma_q,
 * dc_s/dy = w c_y, dc_y/dy = c_y (w - A)/D):
 *   d2/dy_v^2   = pi_v E[ c_y (w - A)/D (r.g) + c_y^2 g^T Sigma_q g ]
 *   d2/dy_v ds  = pi_v E[ c_y c_s Sigma_q g + w c_y r ]
 *   d2/ds^2     = sum_v pi_v c_s^2 E[ Sigma_q ].
 *
 * ---- What "the part of s that matters" is, and the reference of the excess loss ----
 * softmax and KL are invariant under o -> o + c 1, so the loss sees s only through
 *   s_perp = s - mean(s) 1      (Euclidean projection orthogonal to 1),
 * and dLss/ds = sum pi c_s E[q - p] sums to 0, so mean(s) is conserved by the flow.
 * Second-order expansion of KL around o = 0 (q = p): KL = 1/2 o^T Sigma_p o + O(o^3),
 * Sigma_p = diag(p) - p p^T, whose null space is span(1). With zbar = E z, C = Cov z:
 *   E KL ~ 1/2 [ (A s_perp + zbar_perp)^T Sigma_p (A s_perp + zbar_perp) + tr(Sigma_p C) ] / D^2.
 * - The infimum of Lss is 0 (KL >= 0, and y -> inf, s_perp -> 0 sends every q_v -> p_v), so
 *   the excess loss is Lss itself. With random contexts (C != 0) the noise term
 *   tr(Sigma_p C)/(2 D^2) > 0 at every finite y: the infimum is never attained: a sink.
 * - s is fast (it relaxes in O(1) time): s_perp tracks ~ -zbar_perp / A (a compromise over
 *   types), so |s_perp| ~ e^{-y}. (If zbar were parallel to 1, i.e. uniform context laws,
 *   the first-order term vanishes and |s_perp| falls like e^{-2y}; our context law is
 *   Zipf-like, as token frequencies are.)
 * - y is slow: with s_perp slaved, dy_v/dt ~ kappa_v e^{-2 y_v}, kappa_v = pi_v tr(Sigma_v C)
 *   (plus the unmatched mean terms, same order), so e^{2 y_v} ~ 2 kappa_v t:
 *   y_v = 1/2 log t + c_v, |s_perp| ~ t^{-1/2}, excess ~ sum_v pi_v tr(Sigma_v C)/(2 e^{2y_v})
 *   ~ n/(4t).
 * - Fixed context (C = 0): the noise term vanishes and the zero-loss set
 *   {A s_perp = -z_perp, all y_v equal} is reached at a finite y: no sink.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "bbsim/theory.h"

#define RED_MAXL 64   /* classes */
#define RED_MAXW 250  /* context tokens (counts fit a byte) */

void reduced_config_default(ReducedConfig *c) {
    memset(c, 0, sizeof *c);
    c->types = 4;
    c->classes = 8;
    c->context = 3;
    c->samples = 4096;
    c->dirichlet = 2.0;
    c->zipf = 1.0;
    c->y0 = 0.0;
    c->s0 = 0.5;
    c->t_end = 1e8;
    c->gd_steps = 1000000;
    c->eta = 1.0;
    c->per_decade = 10;
    c->fit_decades = 2.0;
    c->cmp_from = 100.0;
    c->rtol = 1e-10;
    c->atol = 1e-14;
    c->seed = 1;
}

int reduced_config_check(const ReducedConfig *c, BbError *err) {
    if (c->types < 1 || c->types > 64) return bb_fail(err, BB_EINPUT, "reduced: --types must be in [1, 64]");
    if (c->classes < 2 || c->classes > RED_MAXL)
        return bb_fail(err, BB_EINPUT, "reduced: --classes must be in [2, %d]", RED_MAXL);
    if (c->context < 1 || c->context > RED_MAXW)
        return bb_fail(err, BB_EINPUT, "reduced: --context must be in [1, %d]", RED_MAXW);
    if (c->gd_steps > 0 && c->eta * (double)c->gd_steps > c->t_end * (1 + 1e-12))
        return bb_fail(err, BB_EINPUT, "reduced: gradient descent (eta * steps = %g) must end before --t-end %g",
                       c->eta * (double)c->gd_steps, c->t_end);
    if (c->t_end <= 1) return bb_fail(err, BB_EINPUT, "reduced: --t-end must exceed 1");
    if (pow(10.0, c->fit_decades) >= c->t_end)
        return bb_fail(err, BB_EINPUT, "reduced: the fit window (%g decades) is longer than the run", c->fit_decades);
    return BB_OK;
}

/* ------------------------------------------------------------------ build */

static int cmp_row64(const void *a, const void *b) { return memcmp(a, b, RED_MAXL); }

int reduced_build(ReducedModel *m, const ReducedConfig *c, int fixed, BbError *err) {
    memset(m, 0, sizeof *m);
    int rc = reduced_config_check(c, err);
    if (rc) return rc;
    const int n = c->types, L = c->classes, w = c->context, M = c->samples;
    m->n = n;
    m->L = L;
    m->w = w;
    m->fixed = fixed;
    m->p = bb_malloc(sizeof(double) * (size_t)(n * L));
    m->pi = bb_malloc(sizeof(double) * (size_t)n);
    m->r = bb_malloc(sizeof(double) * (size_t)L);
    m->ctx_begin = bb_malloc(sizeof(int) * (size_t)(n + 1));

    gsl_rng *rng = bb_rng_alloc(c->seed);
    /* target laws: Dirichlet draws mixed with 0.1% uniform so every class has mass */
    double alpha[RED_MAXL];
    for (int j = 0; j < L; j++) alpha[j] = c->dirichlet;
    for (int v = 0; v < n; v++) {
        double *p = m->p + v * L;
        gsl_ran_dirichlet(rng, (size_t)L, alpha, p);
        for (int j = 0; j < L; j++) p[j] = 0.999 * p[j] + 0.001 / L;
    }
    double zs = 0;
    for (int v = 0; v < n; v++) zs += m->pi[v] = 1.0 / (v + 1);
    for (int v = 0; v < n; v++) m->pi[v] /= zs;
    zs = 0;
    for (int j = 0; j < L; j++) zs += m->r[j] = pow(j + 1.0, -c->zipf);
    for (int j = 0; j < L; j++) m->r[j] /= zs;

    /* contexts: M per type, merged into distinct count vectors with their frequencies */
    gsl_ran_discrete_t *rs = gsl_ran_discrete_preproc((size_t)L, m->r);
    unsigned char *rows = bb_calloc((size_t)M, RED_MAXL);
    unsigned char first[RED_MAXL];
    m->z = bb_malloc((size_t)n * (size_t)M * (size_t)L);
    m->omega = bb_malloc(sizeof(double) * (size_t)n * (size_t)M);
    int k = 0;
    for (int v = 0; v < n; v++) {
        memset(rows, 0, (size_t)M * RED_MAXL);
        for (int i = 0; i < M; i++)
            for (int a = 0; a < w; a++) rows[(size_t)i * RED_MAXL + gsl_ran_discrete(rng, rs)]++;
        if (v == 0) memcpy(first, rows, RED_MAXL);
        m->ctx_begin[v] = k;
        if (fixed) {
            memcpy(m->z + (size_t)k * L, first, (size_t)L);
            m->omega[k++] = 1.0;
            continue;
        }
        qsort(rows, (size_t)M, RED_MAXL, cmp_row64);
        for (int i = 0; i < M;) {
            int j = i;
            while (j < M && memcmp(rows + (size_t)j * RED_MAXL, rows + (size_t)i * RED_MAXL, RED_MAXL) == 0) j++;
            memcpy(m->z + (size_t)k * L, rows + (size_t)i * RED_MAXL, (size_t)L);
            m->omega[k++] = (double)(j - i) / M;
            i = j;
        }
    }
    m->ctx_begin[n] = k;
    m->nctx = k;
    free(rows);
    gsl_ran_discrete_free(rs);
    gsl_rng_free(rng);
    return BB_OK;
}

void reduced_free(ReducedModel *m) {
    free(m->p);
    free(m->pi);
    free(m->r);
    free(m->ctx_begin);
    free(m->z);
    free(m->omega);
    memset(m, 0, sizeof *m);
}

void reduced_init_state(const ReducedModel *m, const ReducedConfig *c, double *x) {
    gsl_rng *rng = bb_rng_alloc(bb_seed_mix(c->seed, 0x5eed, 1));
    for (int v = 0; v < m->n; v++) x[v] = c->y0;
    for (int j = 0; j < m->L; j++) x[m->n + j] = c->s0 * (2.0 * gsl_rng_uniform(rng) - 1.0);
    gsl_rng_free(rng);
}

double reduced_s_perp(const ReducedModel *m, const double *x) {
    const double *s = x + m->n;
    double mean = 0, ss = 0;
    for (int j = 0; j < m->L; j++) mean += s[j];
    mean /= m->L;
    for (int j = 0; j < m->L; j++) ss += (s[j] - mean) * (s[j] - mean);
    return sqrt(ss);
}

/* ------------------------------------------------------- loss and gradient */

/* Per type: the coefficients of o = c_s (s - mean s) + z / D (the constant part of s drops
 * out of softmax and KL), computed from e^{-y} so that a large y cannot overflow. */
typedef struct TypeCoef {
    double inv_d, c_s, c_y; /* 1/D, A/D, A/D^2 */
    double A;
} TypeCoef;

static TypeCoef type_coef(double y, int w) {
    TypeCoef k;
    double ey = exp(-y);             /* 1/A */
    k.inv_d = ey / (1.0 + w * ey);   /* 1/(A + w) */
    k.c_s = 1.0 / (1.0 + w * ey);    /* A/(A + w) */
    k.c_y = k.c_s * k.inv_d;         /* A/(A + w)^2 */
    k.A = exp(y);
    return k;
}

/* e^{o_j} = e^{c_s s~_j} * e^{z_j / D}: z_j is a count in 0..w, so the second factor comes
 * from a table of w+1 exponentials per type and the inner loop has no exp at all. */
static double loss_grad_impl(const ReducedModel *m, const double *x, double *grad, int want_loss) {
    const int n = m->n, L = m->L, w = m->w;
    const double *y = x, *s = x + n;
    double sbar = 0;
    for (int j = 0; j < L; j++) sbar += s[j];
    sbar /= L;
    double st[RED_MAXL], pe[RED_MAXL], e[RED_MAXL], gs[RED_MAXL], ez[RED_MAXW + 1];
    for (int j = 0; j < L; j++) st[j] = s[j] - sbar;
    if (grad) memset(grad, 0, sizeof(double) * (size_t)(n + L));
    double loss = 0;
    for (int v = 0; v < n; v++) {
        const double *p = m->p + v * L;
        TypeCoef k = type_coef(y[v], w);
        double p_os = 0; /* p . (c_s s~) */
        for (int j = 0; j < L; j++) {
            pe[j] = p[j] * exp(k.c_s * st[j]);
            p_os += p[j] * k.c_s * st[j];
            gs[j] = 0;
        }
        for (int a = 0; a <= w; a++) ez[a] = exp(a * k.inv_d);
        double lv = 0, gy = 0;
        for (int c = m->ctx_begin[v]; c < m->ctx_begin[v + 1]; c++) {
            const unsigned char *z = m->z + (size_t)c * L;
            const double om = m->omega[c];
            double S = 0;
            for (int j = 0; j < L; j++) S += e[j] = pe[j] * ez[z[j]];
            if (want_loss) {
                double pz = 0;
                for (int j = 0; j < L; j++) pz += p[j] * z[j];
                lv += om * (log(S) - p_os - pz * k.inv_d); /* KL = log sum p e^o - p.o */
            }
            if (grad) {
                double inv_s = 1.0 / S, rg = 0;
                for (int j = 0; j < L; j++) {
                    double r = e[j] * inv_s - p[j]; /* q_j - p_j */
                    gs[j] += om * r;
                    rg += r * (w * st[j] - z[j]); /* r . (w s - z) */
                }
                gy += om * rg;
            }
        }
        loss += m->pi[v] * lv;
        if (grad) {
            grad[v] = m->pi[v] * k.c_y * gy;
            for (int j = 0; j < L; j++) grad[n + j] += m->pi[v] * k.c_s * gs[j];
        }
    }
    return loss;
}

double reduced_loss_grad(const ReducedModel *m, const double *x, double *grad) {
    return loss_grad_impl(m, x, grad, 1);
}

void reduced_hessian(const ReducedModel *m, const double *x, double *H) {
    const int n = m->n, L = m->L, w = m->w, dim = n + L;
    const double *y = x, *s = x + n;
    double sbar = 0;
    for (int j = 0; j < L; j++) sbar += s[j];
    sbar /= L;
    double st[RED_MAXL], pe[RED_MAXL], q[RED_MAXL], g[RED_MAXL], hys[RED_MAXL], sq[RED_MAXL],
        ez[RED_MAXW + 1];
    double *sqq = bb_malloc(sizeof(double) * (size_t)(L * L));
    for (int j = 0; j < L; j++) st[j] = s[j] - sbar;
    memset(H, 0, sizeof(double) * (size_t)(dim * dim));
    for (int v = 0; v < n; v++) {
        const double *p = m->p + v * L;
        TypeCoef k = type_coef(y[v], w);
        double dcy = k.c_y * (w * k.inv_d - k.c_s); /* d c_y / dy = c_y (w - A)/D */
        for (int j = 0; j < L; j++) {
            pe[j] = p[j] * exp(k.c_s * st[j]);
            hys[j] = sq[j] = 0;
        }
        memset(sqq, 0, sizeof(double) * (size_t)(L * L));
        for (int a = 0; a <= w; a++) ez[a] = exp(a * k.inv_d);
        double hyy = 0;
        for (int c = m->ctx_begin[v]; c < m->ctx_begin[v + 1]; c++) {
            const unsigned char *z = m->z + (size_t)c * L;
            const double om = m->omega[c];
            double S = 0;
            for (int j = 0; j < L; j++) S += q[j] = pe[j] * ez[z[j]];
            double qg = 0, qgg = 0, rg = 0;
            for (int j = 0; j < L; j++) {
                q[j] /= S;
                g[j] = w * st[j] - z[j];
                qg += q[j] * g[j];
                qgg += q[j] * g[j] * g[j];
                rg += (q[j] - p[j]) * g[j];
            }
            hyy += om * (dcy * rg + k.c_y * k.c_y * (qgg - qg * qg));
            for (int i = 0; i < L; i++) {
                hys[i] += om * (k.c_y * k.c_s * q[i] * (g[i] - qg) + w * k.c_y * (q[i] - p[i]));
                sq[i] += om * q[i];
                for (int j = 0; j < L; j++) sqq[i * L + j] += om * q[i] * q[j];
            }
        }
        const double pv = m->pi[v];
        H[v * dim + v] = pv * hyy;
        for (int i = 0; i < L; i++) {
            H[v * dim + n + i] = H[(n + i) * dim + v] = pv * hys[i];
            for (int j = 0; j < L; j++)
                H[(n + i) * dim + n + j] += pv * k.c_s * k.c_s * ((i == j ? sq[i] : 0.0) - sqq[i * L + j]);
        }
    }
    free(sqq);
}

/* ------------------------------------------------------------ the dynamics */

static int flow_f(double t, const double x[], double dxdt[], void *params) {
    (void)t;
    const ReducedModel *m = params;
    loss_grad_impl(m, x, dxdt, 0);
    for (int i = 0; i < reduced_dim(m); i++) dxdt[i] = -dxdt[i];
    return 0; /* GSL_SUCCESS */
}

static int flow_jac(double t, const double x[], double *dfdx, double dfdt[], void *params) {
    (void)t;
    const ReducedModel *m = params;
    const int dim = reduced_dim(m);
    reduced_hessian(m, x, dfdx);
    for (int i = 0; i < dim * dim; i++) dfdx[i] = -dfdx[i];
    for (int i = 0; i < dim; i++) dfdt[i] = 0;
    return 0;
}

void reduced_gd(const ReducedModel *m, double *x, double eta, long steps, const long *rec_steps,
                int nrec, double *x_rec) {
    const int dim = reduced_dim(m);
    double *grad = bb_malloc(sizeof(double) * (size_t)dim);
    int next = 0;
    while (next < nrec && rec_steps[next] <= 0) memcpy(x_rec + (size_t)next++ * dim, x, sizeof(double) * dim);
    for (long k = 1; k <= steps; k++) {
        loss_grad_impl(m, x, grad, 0);
        for (int i = 0; i < dim; i++) x[i] -= eta * grad[i];
        while (next < nrec && rec_steps[next] == k) memcpy(x_rec + (size_t)next++ * dim, x, sizeof(double) * dim);
    }
    free(grad);
}

int reduced_time_grid(const ReducedConfig *c, double **tout, int *ngd) {
    int cap = 64, nt = 0;
    double *t = bb_malloc(sizeof(double) * (size_t)cap);
#define PUSH(val)                                                   \
    do {                                                            \
        if (nt == cap) t = realloc(t, sizeof(double) * (size_t)(cap *= 2)); \
        BB_CHECK(t != NULL);                                        \
        t[nt++] = (val);                                            \
    } while (0)
    long last = 0;
    if (c->gd_steps > 0) {
        for (int j = 0;; j++) {
            long k = lround(pow(10.0, (double)j / c->per_decade));
            if (k > c->gd_steps) break;
            if (k != last) PUSH((double)k * c->eta);
            last = k;
        }
        if (last != c->gd_steps) PUSH((double)c->gd_steps * c->eta);
    }
    *ngd = nt;
    double base = nt ? t[nt - 1] : 1.0;
    if (!nt) PUSH(1.0);
    for (int j = 1;; j++) {
        double tj = base * pow(10.0, (double)j / c->per_decade);
        if (tj >= c->t_end * (1 - 1e-9)) break;
        PUSH(tj);
    }
    if (t[nt - 1] < c->t_end * (1 - 1e-12)) PUSH(c->t_end);
#undef PUSH
    *tout = t;
    return nt;
}

int reduced_run(const ReducedModel *m, const ReducedConfig *c, int with_gd, ReducedRun *out, BbError *err) {
    memset(out, 0, sizeof *out);
    const int dim = reduced_dim(m);
    out->dim = dim;
    out->n = m->n;
    out->L = m->L;
    int ngd;
    out->nt = reduced_time_grid(c, &out->t, &ngd);
    out->ngd = with_gd ? ngd : 0;
    const int nt = out->nt;
    out->x_ode = bb_malloc(sizeof(double) * (size_t)nt * dim);
    out->loss_ode = bb_malloc(sizeof(double) * (size_t)nt);
    out->sperp_ode = bb_malloc(sizeof(double) * (size_t)nt);
    out->x_gd = bb_malloc(sizeof(double) * (size_t)(out->ngd ? out->ngd : 1) * dim);
    out->loss_gd = bb_malloc(sizeof(double) * (size_t)(out->ngd ? out->ngd : 1));
    out->sperp_gd = bb_malloc(sizeof(double) * (size_t)(out->ngd ? out->ngd : 1));
    long *rec = bb_malloc(sizeof(long) * (size_t)(out->ngd ? out->ngd : 1));
    for (int i = 0; i < out->ngd; i++) rec[i] = lround(out->t[i] / c->eta);

    double *x_ode = bb_malloc(sizeof(double) * dim), *x_gd = bb_malloc(sizeof(double) * dim);
    reduced_init_state(m, c, x_ode);
    memcpy(x_gd, x_ode, sizeof(double) * dim);
    OdeProblem prob = {(size_t)dim, flow_f, flow_jac, (void *)m, c->rtol, c->atol, 1e-3, 10000000L};
    int rc = BB_OK;
    BbError ode_err = {{0}};
    /* The ODE and GD are independent serial computations: run them side by side. */
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
        {
            double t0 = bb_now();
            rc = theory_ode_run(&prob, 0.0, x_ode, out->t, nt, out->x_ode, &out->ode_steps, &ode_err);
            out->ode_seconds = bb_now() - t0;
        }
#pragma omp section
        {
            if (out->ngd) {
                double t0 = bb_now();
                reduced_gd(m, x_gd, c->eta, c->gd_steps, rec, out->ngd, out->x_gd);
                out->gd_seconds = bb_now() - t0;
            }
        }
    }
    if (rc) bb_fail(err, rc, "reduced model: %s", ode_err.msg);
    for (int i = 0; i < nt && !rc; i++) {
        out->loss_ode[i] = reduced_loss_grad(m, out->x_ode + (size_t)i * dim, NULL);
        out->sperp_ode[i] = reduced_s_perp(m, out->x_ode + (size_t)i * dim);
    }
    for (int i = 0; i < out->ngd && !rc; i++) {
        out->loss_gd[i] = reduced_loss_grad(m, out->x_gd + (size_t)i * dim, NULL);
        out->sperp_gd[i] = reduced_s_perp(m, out->x_gd + (size_t)i * dim);
    }
    free(rec);
    free(x_ode);
    free(x_gd);
    if (rc) reduced_run_free(out);
    return rc;
}

void reduced_run_free(ReducedRun *r) {
    free(r->t);
    free(r->x_ode);
    free(r->loss_ode);
    free(r->sperp_ode);
    free(r->x_gd);
    free(r->loss_gd);
    free(r->sperp_gd);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------- verdicts */

void reduced_decide(const ReducedConfig *c, const ReducedRun *rnd, const ReducedRun *fix, ClaimList *cl) {
    const double tmax = c->t_end, tmin = c->t_end / pow(10.0, c->fit_decades);
    const int n = rnd->n, dim = rnd->dim, nt = rnd->nt;
    double *col = bb_malloc(sizeof(double) * (size_t)nt);
    char list[96];

    /* y_v ~ 1/2 log t: every type's late slope must be in range; report the worst */
    double worst = NAN, r2min = 1;
    int all_ok = 1;
    list[0] = '\0';
    for (int v = 0; v < n; v++) {
        for (int i = 0; i < nt; i++) col[i] = rnd->x_ode[(size_t)i * dim + v];
        LineFit f;
        fit_logt(rnd->t, col, nt, tmin, tmax, &f);
        if (!(f.slope >= 0.4 && f.slope <= 0.6)) all_ok = 0;
        if (isnan(worst) || fabs(f.slope - 0.5) > fabs(worst - 0.5) || isnan(f.slope)) worst = f.slope;
        if (!(f.r2 >= r2min)) r2min = f.r2;
        if (v < 6) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%.3f", v ? "," : "", f.slope);
    }
    claims_add(cl, "C11", "reduced: y_v linear in log t (late window)", "slope 1/2", worst, "every type in [0.4, 0.6]",
               all_ok, "min R2 %.5f; slopes %s; window t in [%.3g, %.3g]", r2min, list, tmin, tmax);

    LineFit fs, fe;
    fit_powerlaw(rnd->t, rnd->sperp_ode, nt, tmin, tmax, &fs);
    claims_add(cl, "C11", "reduced: |s_perp| power law", "exponent -1/2", fs.slope, "[-0.6, -0.4]",
               fs.slope >= -0.6 && fs.slope <= -0.4, "R2 %.5f; |s_perp|(t_end) %.3g", fs.r2,
               rnd->sperp_ode[nt - 1]);
    fit_powerlaw(rnd->t, rnd->loss_ode, nt, tmin, tmax, &fe);
    claims_add(cl, "C11", "reduced: excess loss power law", "exponent -1 (excess ~ n/(4t))", fe.slope,
               "[-1.2, -0.8]", fe.slope >= -1.2 && fe.slope <= -0.8,
               "R2 %.5f; t*excess at t_end %.4g (n/4 = %.4g)", fe.r2, rnd->t[nt - 1] * rnd->loss_ode[nt - 1],
               n / 4.0);

    /* ODE vs GD at the shared times t >= cmp_from: worst relative difference of y_v */
    double dmax = 0, lmax = 0;
    int ncmp = 0;
    for (int i = 0; i < rnd->ngd; i++) {
        if (rnd->t[i] < c->cmp_from) continue;
        ncmp++;
        for (int v = 0; v < n; v++) {
            double yo = rnd->x_ode[(size_t)i * dim + v], yg = rnd->x_gd[(size_t)i * dim + v];
            double d = fabs(yg - yo) / fmax(fabs(yo), 1e-300);
            if (!(d <= dmax)) dmax = d;
        }
        double dl = fabs(rnd->loss_gd[i] - rnd->loss_ode[i]) / rnd->loss_ode[i];
        if (!(dl <= lmax)) lmax = dl;
    }
    claims_add(cl, "C11", "reduced: gradient flow (ODE) = gradient descent", "agree for small eta",
               ncmp ? dmax : NAN, "max rel. diff of y <= 0.02", ncmp > 0 && dmax <= 0.02,
               "%d times in [%.3g, %.3g], eta %g; loss rel. diff %.3g", ncmp, c->cmp_from,
               rnd->ngd ? rnd->t[rnd->ngd - 1] : 0.0, c->eta, lmax);

    /* fixed context: y must settle (no log t growth) at a finite value */
    double sl_max = 0, y_end = -INFINITY;
    int finite = 1;
    for (int v = 0; v < n; v++) {
        for (int i = 0; i < fix->nt; i++) col[i] = fix->x_ode[(size_t)i * dim + v];
        LineFit f;
        fit_logt(fix->t, col, fix->nt, tmin, tmax, &f);
        if (!(fabs(f.slope) <= sl_max)) sl_max = fabs(f.slope);
        if (!isfinite(col[fix->nt - 1])) finite = 0;
        if (col[fix->nt - 1] > y_end) y_end = col[fix->nt - 1];
    }
    claims_add(cl, "C11", "reduced, fixed context: y ends finite (no sink)", "y converges", sl_max,
               "late |slope of y in log t| <= 0.05", finite && sl_max <= 0.05,
               "max y_v(t_end) %.4g; loss(t_end) %.3g (random contexts: y %.4g)", y_end, fix->loss_ode[fix->nt - 1],
               rnd->x_ode[(size_t)(nt - 1) * dim]);
    free(col);
}
