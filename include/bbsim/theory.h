/* The mutual-reinforcement theory checker (docs/method.md#theory-checks, claims C10-C12 of
 * docs/figures.md): the reduced gradient model integrated as an ODE (GSL odeiv2, implicit
 * BDF) and by plain gradient descent, the rate fits, the residual-peak toy (Adam vs SGD),
 * the trained simplified model, and the claims table that `bbsim theory` writes. */
#ifndef BBSIM_THEORY_H
#define BBSIM_THEORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "bbsim/common.h"
#include "bbsim/tsv.h"

#include "bbsim/claims.h" /* Claim, ClaimList: theory.tsv has the claims.tsv layout */
#include "bbsim/fit.h"

/* Open the output TSV DIR/NAME (tsv_begin: the column names, the provenance) and write
 * every option as "# config name value" (so each curve file records its full
 * configuration and seed). */
int theory_tsv_open(TsvWriter *w, const char *dir, const char *name, const char *columns, const Opt *opts,
                    int nopts, BbError *err);

/* -------------------------------------------------------------- ODE driver */

/* dx/dt = f(t, x) integrated with GSL's implicit multistep BDF stepper (msbdf), which
 * needs the Jacobian: jac fills dfdx (dim x dim, row-major) and dfdt (dim). */
typedef struct OdeProblem {
    size_t dim;
    int (*f)(double t, const double x[], double dxdt[], void *params);
    int (*jac)(double t, const double x[], double *dfdx, double dfdt[], void *params);
    void *params;
    double rtol, atol; /* error control per component: atol + rtol |x| */
    double h0;         /* first trial step */
    long max_steps;    /* give up (BB_ENUM) after this many steps in total (0 = no limit) */
} OdeProblem;

/* Integrate from (t0, x) through the increasing times t_out[0..nout); x_out (nout, dim)
 * receives the state at each; x is left at the last state; *nsteps (may be NULL) gets
 * the number of accepted steps. Returns 0, or BB_ENUM with a message on failure. */
int theory_ode_run(const OdeProblem *p, double t0, double *x, const double *t_out, int nout,
                   double *x_out, long *nsteps, BbError *err);

/* ----------------------------------------------------------- reduced model */

/* docs/method.md#reduced-dynamics. State x = (y[0..n), s[0..L)): the BOS logit of each non-trigger query type
 * and the BOS value over L output classes. Per type v: target law p_v (Dirichlet draw),
 * weight pi_v ∝ 1/(v+1), and a fixed sample of `samples` contexts z = counts of w classes
 * drawn from the context law r_j ∝ (j+1)^-zipf (non-uniform, as token frequencies are).
 * Identical sampled contexts are merged into (z, weight) pairs: an exact compression of
 * the empirical expectation (z takes at most C(L+w-1, w) values). */
typedef struct ReducedConfig {
    int types;          /* n */
    int classes;        /* L */
    int context;        /* w: context tokens besides BOS */
    int samples;        /* contexts sampled per type */
    double dirichlet;   /* concentration of the p_v draws */
    double zipf;        /* exponent of the context class law */
    double y0;          /* initial BOS logits */
    double s0;          /* scale of the initial BOS value (uniform in [-s0, s0]) */
    double t_end;       /* gradient-flow horizon */
    long gd_steps;      /* gradient-descent steps */
    double eta;         /* gradient-descent step */
    int per_decade;     /* output points per decade of t */
    double fit_decades; /* late window: the last this many decades before t_end */
    double cmp_from;    /* ODE vs GD compared at t >= this */
    double rtol, atol;  /* ODE error control */
    uint64_t seed;
} ReducedConfig;

void reduced_config_default(ReducedConfig *c);
int reduced_config_check(const ReducedConfig *c, BbError *err);

typedef struct ReducedModel {
    int n, L, w;
    int fixed;        /* 1: one context shared by every sample (the regression case) */
    double *p;        /* (n, L) target laws */
    double *pi;       /* (n) type weights, sum 1 */
    double *r;        /* (L) context class law */
    int *ctx_begin;   /* (n+1) distinct contexts of type v: [ctx_begin[v], ctx_begin[v+1]) */
    unsigned char *z; /* (nctx, L) class counts of each distinct context (sum w) */
    double *omega;    /* (nctx) empirical probability of each distinct context (per type sums to 1) */
    int nctx;
} ReducedModel;

/* Sample the tables and contexts from c->seed. fixed = 1: every type's context is the
 * first sampled one (z the same for every sample). */
int reduced_build(ReducedModel *m, const ReducedConfig *c, int fixed, BbError *err);
void reduced_free(ReducedModel *m);
static inline int reduced_dim(const ReducedModel *m) { return m->n + m->L; }

/* Loss Lss(x) = sum_v pi_v E[KL(p_v || q_v)] (its infimum is 0: the excess loss is Lss).
 * grad (dim, may be NULL) receives dLss/dx. */
double reduced_loss_grad(const ReducedModel *m, const double *x, double *grad);
/* Hessian d^2 Lss / dx^2 (dim x dim, row-major). */
void reduced_hessian(const ReducedModel *m, const double *x, double *hess);
/* |s_perp| = | s - mean(s) 1 |: the part of s the loss sees (derivation in src/theory/reduced.c). */
double reduced_s_perp(const ReducedModel *m, const double *x);
/* Initial state from the config (y = y0, s uniform in [-s0, s0] from the seed). */
void reduced_init_state(const ReducedModel *m, const ReducedConfig *c, double *x);

/* Output grid: the GD times eta*k at log-spaced steps k <= gd_steps, then log-spaced
 * times up to t_end. Returns the count; *t (malloc'd); *ngd = points with t <= eta*gd_steps. */
int reduced_time_grid(const ReducedConfig *c, double **t, int *ngd);

/* One trajectory on the grid: state, loss and |s_perp| per time, for the ODE and (first
 * ngd points) for gradient descent. */
typedef struct ReducedRun {
    int dim, n, L;
    int nt, ngd;
    double *t;                /* (nt) */
    double *x_ode;            /* (nt, dim) */
    double *loss_ode, *sperp_ode; /* (nt) */
    double *x_gd;             /* (ngd, dim) */
    double *loss_gd, *sperp_gd;   /* (ngd) */
    long ode_steps;
    double ode_seconds, gd_seconds;
} ReducedRun;

/* Integrate gradient flow over the grid (and run GD when with_gd; the two run in parallel
 * OpenMP sections, each serial, so results do not depend on the thread count). */
int reduced_run(const ReducedModel *m, const ReducedConfig *c, int with_gd, ReducedRun *out, BbError *err);
void reduced_run_free(ReducedRun *r);
/* Plain gradient descent: x <- x - eta grad, steps times, recording the state after step
 * rec_steps[i] (ascending) in x_rec (nrec, dim). */
void reduced_gd(const ReducedModel *m, double *x, double eta, long steps, const long *rec_steps,
                int nrec, double *x_rec);

/* The C11 rows from the random-context run and the fixed-context run. */
void reduced_decide(const ReducedConfig *c, const ReducedRun *rnd, const ReducedRun *fix, ClaimList *cl);
/* The curve TSVs in dir (src/theory/report.c, each through theory_tsv_open with opts):
 * reduced_y.tsv, reduced_state.tsv and reduced_odegd.tsv of the random-context run rr (ODE
 * and GD), reduced_fixed.tsv of the fixed-context run. */
int reduced_write(const char *dir, const ReducedRun *rr, const ReducedRun *fixed, const Opt *opts, int nopts,
                  BbError *err);

/* ---------------------------------------------------------- residual toy */

/* docs/method.md#residual-peak-toy: m receives g(m, t) = log(t) / (t m^3) at t = 1..steps. */
typedef struct MtoyConfig {
    double m0, eta, beta1, beta2, eps;
    long steps;
} MtoyConfig;

void mtoy_config_default(MtoyConfig *c);
double mtoy_signal(double m, long t);
/* m after k = 0..steps updates (arrays of steps+1): SGD m <- m + eta g, and Adam. */
void mtoy_run(const MtoyConfig *c, double *m_sgd, double *m_adam);
/* Continuous-time gradient ascent: m(t) = (m0^4 + 2 eta log^2 t)^(1/4). */
double mtoy_closed_form(const MtoyConfig *c, double t);
/* The C10 rows. */
void mtoy_decide(const MtoyConfig *c, const double *m_sgd, const double *m_adam, ClaimList *cl);
/* mtoy.tsv in dir: both runs and the closed form per step (src/theory/report.c). */
int mtoy_write(const char *dir, const MtoyConfig *c, const double *m_sgd, const double *m_adam, const Opt *opts,
               int nopts, BbError *err);

/* ------------------------------------------------------- simplified model */

/* docs/method.md#trained-simplified-model: train `--model simple` with AdamW and with SGD through the training code
 * and read a_v, |Wo b|, Attn<s> and the risks at every checkpoint. */
typedef struct SimpleConfig {
    long steps;
    int batch, seq, vbase;
    double lr_adamw, lr_sgd;
    double fit_decades;  /* a_v fit window: the last this many decades of steps */
    int eval_batch;
    int threads;
    uint64_t seed;
} SimpleConfig;

void simple_config_default(SimpleConfig *c);

/* One checkpoint of one run. */
typedef struct SimplePoint {
    long step;
    double a_mean;        /* mean BOS logit a_v over non-trigger ordinary types */
    double wo_b;          /* |Val<s>| = |Wo b| (metrics_norm of model_simple_bos_value) */
    double wo_b_perp;     /* |Wo b - mean(Wo b) 1|: the part softmax sees (src/theory/reduced.c) */
    double attn_bos;      /* Attn<s>: mean share on key 0 over non-trigger positions (metrics.h) */
    double bigram_risk, backcopy_risk;      /* model risks (docs/method.md#risks) */
    double bigram_floor, backcopy_floor;    /* oracle risks */
} SimplePoint;

typedef struct SimpleRun {
    char optim[8];        /* "adamw" / "sgd" */
    int npoints;
    SimplePoint *pt;      /* (npoints) */
    int ntypes;           /* non-trigger ordinary types */
    int *type_id;         /* (ntypes) token ids */
    double *a;            /* (npoints, ntypes) a_v per checkpoint */
    double seconds;
} SimpleRun;

/* Train into dir/<optim> and measure every checkpoint. */
int simple_run(const SimpleConfig *c, int use_sgd, const char *dir, SimpleRun *out, BbError *err);
void simple_run_free(SimpleRun *r);
/* The C12 rows (from the AdamW run; the SGD run's numbers go in the fit text). */
void simple_decide(const SimpleConfig *c, const SimpleRun *adamw, const SimpleRun *sgd, ClaimList *cl);
/* simple_dynamics.tsv (one row per run and checkpoint) and simple_a.tsv (a_v per run,
 * checkpoint and type) in dir (src/theory/report.c). */
int simple_write(const char *dir, const SimpleRun *runs, int nruns, const Opt *opts, int nopts, BbError *err);

#endif
