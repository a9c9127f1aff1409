/* The theory checker's outputs: the common header of every curve TSV (column names,
 * provenance, every option) and the curve TSVs of the reduced model, the residual-peak toy
 * and the simplified model's runs. The claims table itself is src/claims/claims.c. */
#include <math.h>
#include <stdio.h>
#include "bbsim/theory.h"

int theory_tsv_open(TsvWriter *w, const char *dir, const char *name, const char *columns, const Opt *opts,
                    int nopts, BbError *err) {
    int rc = tsv_begin(w, dir, name, columns, err);
    if (rc) return rc;
    tsv_options(w->f, opts, nopts);
    return BB_OK;
}

/* ---------------------------------------------------------------- reduced */

/* reduced_y.tsv: y per solver, type and time, and the 1/2 log t line through each type's
 * last ODE point. */
static int write_reduced_y(const char *dir, const ReducedRun *rr, const Opt *o, int no, BbError *err) {
    TsvWriter w;
    const int dim = rr->dim, n = rr->n;
    int rc = theory_tsv_open(&w, dir, "reduced_y.tsv", "solver\tt\ttype\ty\thalf_log_t_line", o, no, err);
    if (rc) return rc;
    for (int s = 0; s < 2; s++) {
        int nt = s ? rr->ngd : rr->nt;
        const double *x = s ? rr->x_gd : rr->x_ode;
        for (int v = 0; v < n; v++) /* rows grouped by type, then time: one line per type */
            for (int i = 0; i < nt; i++) {
                double c = rr->x_ode[(size_t)(rr->nt - 1) * dim + v] - 0.5 * log(rr->t[rr->nt - 1]);
                fputs(s ? "gd" : "ode", w.f);
                bb_put_fields(w.f, 4, (double[]){rr->t[i], v, x[(size_t)i * dim + v], 0.5 * log(rr->t[i]) + c});
                fputc('\n', w.f);
            }
    }
    return tsv_commit(&w, err);
}

/* reduced_state.tsv: the excess loss and |s_perp| per solver and time. */
static int write_reduced_state(const char *dir, const ReducedRun *rr, const Opt *o, int no, BbError *err) {
    TsvWriter w;
    int rc = theory_tsv_open(&w, dir, "reduced_state.tsv", "solver\tt\texcess_loss\ts_perp_norm", o, no, err);
    if (rc) return rc;
    for (int i = 0; i < rr->nt; i++) {
        fputs("ode", w.f);
        bb_put_fields(w.f, 3, (double[]){rr->t[i], rr->loss_ode[i], rr->sperp_ode[i]});
        fputc('\n', w.f);
    }
    for (int i = 0; i < rr->ngd; i++) {
        fputs("gd", w.f);
        bb_put_fields(w.f, 3, (double[]){rr->t[i], rr->loss_gd[i], rr->sperp_gd[i]});
        fputc('\n', w.f);
    }
    return tsv_commit(&w, err);
}

/* reduced_odegd.tsv: ODE and GD side by side where both ran. */
static int write_reduced_odegd(const char *dir, const ReducedRun *rr, const Opt *o, int no, BbError *err) {
    TsvWriter w;
    int rc = theory_tsv_open(&w, dir, "reduced_odegd.tsv", "t\ttype\ty_ode\ty_gd\trel_diff", o, no, err);
    if (rc) return rc;
    for (int v = 0; v < rr->n; v++)
        for (int i = 0; i < rr->ngd; i++) {
            double yo = rr->x_ode[(size_t)i * rr->dim + v], yg = rr->x_gd[(size_t)i * rr->dim + v];
            bb_put_num(w.f, rr->t[i]);
            bb_put_fields(w.f, 4, (double[]){v, yo, yg, fabs(yg - yo) / fabs(yo)});
            fputc('\n', w.f);
        }
    return tsv_commit(&w, err);
}

/* reduced_fixed.tsv: the fixed-context ODE run. */
static int write_reduced_fixed(const char *dir, const ReducedRun *fx, const Opt *o, int no, BbError *err) {
    TsvWriter w;
    int rc = theory_tsv_open(&w, dir, "reduced_fixed.tsv", "t\ttype\ty\texcess_loss\ts_perp_norm", o, no, err);
    if (rc) return rc;
    for (int v = 0; v < fx->n; v++)
        for (int i = 0; i < fx->nt; i++) {
            bb_put_num(w.f, fx->t[i]);
            bb_put_fields(w.f, 4, (double[]){v, fx->x_ode[(size_t)i * fx->dim + v], fx->loss_ode[i], fx->sperp_ode[i]});
            fputc('\n', w.f);
        }
    return tsv_commit(&w, err);
}

int reduced_write(const char *dir, const ReducedRun *rr, const ReducedRun *fixed, const Opt *opts, int nopts,
                  BbError *err) {
    int rc;
    if ((rc = write_reduced_y(dir, rr, opts, nopts, err)) || (rc = write_reduced_state(dir, rr, opts, nopts, err)) ||
        (rc = write_reduced_odegd(dir, rr, opts, nopts, err)))
        return rc;
    return write_reduced_fixed(dir, fixed, opts, nopts, err);
}

/* ------------------------------------------------------------------- mtoy */

int mtoy_write(const char *dir, const MtoyConfig *c, const double *m_sgd, const double *m_adam, const Opt *opts,
               int nopts, BbError *err) {
    TsvWriter w;
    int rc = theory_tsv_open(&w, dir, "mtoy.tsv", "step\tm_sgd\tm_adam\tm_closed_form", opts, nopts, err);
    if (rc) return rc;
    for (long t = 0; t <= c->steps; t++) {
        fprintf(w.f, "%ld", t);
        bb_put_fields(w.f, 3, (double[]){m_sgd[t], m_adam[t], t ? mtoy_closed_form(c, (double)t) : c->m0});
        fputc('\n', w.f);
    }
    return tsv_commit(&w, err);
}

/* ----------------------------------------------------------------- simple */

int simple_write(const char *dir, const SimpleRun *runs, int nruns, const Opt *opts, int nopts, BbError *err) {
    TsvWriter w;
    int rc = theory_tsv_open(&w, dir, "simple_dynamics.tsv",
                             "optim\tstep\ta_mean\two_b_norm\two_b_perp_norm\tattn_bos\tbigram_risk\tbackcopy_risk\t"
                             "bigram_floor\tbackcopy_floor",
                             opts, nopts, err);
    if (rc) return rc;
    for (int r = 0; r < nruns; r++)
        for (int i = 0; i < runs[r].npoints; i++) {
            const SimplePoint *p = &runs[r].pt[i];
            fprintf(w.f, "%s\t%ld", runs[r].optim, p->step);
            bb_put_fields(w.f, 8, (double[]){p->a_mean, p->wo_b, p->wo_b_perp, p->attn_bos, p->bigram_risk,
                                              p->backcopy_risk, p->bigram_floor, p->backcopy_floor});
            fputc('\n', w.f);
        }
    if ((rc = tsv_commit(&w, err))) return rc;
    if ((rc = theory_tsv_open(&w, dir, "simple_a.tsv", "optim\tstep\ttoken\ta", opts, nopts, err))) return rc;
    for (int r = 0; r < nruns; r++)
        for (int i = 0; i < runs[r].npoints; i++)
            for (int v = 0; v < runs[r].ntypes; v++) {
                fprintf(w.f, "%s\t%ld\t%d", runs[r].optim, runs[r].pt[i].step, runs[r].type_id[v]);
                bb_put_fields(w.f, 1, &runs[r].a[(size_t)i * runs[r].ntypes + v]);
                fputc('\n', w.f);
            }
    return tsv_commit(&w, err);
}
