/* bbsim theory [reduced|mtoy|simple|all]: checks the mutual-reinforcement theory
 * (docs/method.md#theory-checks) and writes theory.tsv (claims C10-C12 with measured values and
 * PASS/FAIL) plus one TSV per curve of the theory figures into --out. The work and the
 * writers are in src/theory/. */
#include <stdio.h>
#include <string.h>
#include "bbsim/cli.h"
#include "bbsim/common.h"
#include "bbsim/theory.h"

typedef struct TheoryArgs {
    ReducedConfig red;
    MtoyConfig toy;
    SimpleConfig simple;
    char out[BB_STRLEN];
    int quiet;
} TheoryArgs;

enum { MODE_REDUCED = 1, MODE_MTOY = 2, MODE_SIMPLE = 4, MODE_ALL = 7 };

static int theory_opts(TheoryArgs *a, Opt *o) {
    int k = 0;
    ReducedConfig *r = &a->red;
    MtoyConfig *t = &a->toy;
    SimpleConfig *s = &a->simple;
    o[k++] = (Opt){"out", OPT_PATH, a->out, 0, 0, NULL, "output directory"};
    o[k++] = (Opt){"seed", OPT_U64, &r->seed, 0, 0, NULL, "seed of the reduced model's tables, contexts and init, and of the simplified model's runs"};
    o[k++] = (Opt){"quiet", OPT_FLAG, &a->quiet, 0, 1, NULL, "no progress lines on stderr"};
    /* reduced model */
    o[k++] = (Opt){"types", OPT_INT, &r->types, 1, 64, NULL, "reduced: non-trigger query types n"};
    o[k++] = (Opt){"classes", OPT_INT, &r->classes, 2, 64, NULL, "reduced: output classes L"};
    o[k++] = (Opt){"context", OPT_INT, &r->context, 1, 250, NULL, "reduced: context tokens w per sample"};
    o[k++] = (Opt){"samples", OPT_INT, &r->samples, 1, 200000, NULL, "reduced: contexts sampled per type"};
    o[k++] = (Opt){"dirichlet", OPT_DOUBLE, &r->dirichlet, 0.1, 1e6, NULL, "reduced: Dirichlet concentration of the target laws p_v"};
    o[k++] = (Opt){"zipf", OPT_DOUBLE, &r->zipf, 0, 10, NULL, "reduced: context class law r_j ~ (j+1)^-zipf"};
    o[k++] = (Opt){"y0", OPT_DOUBLE, &r->y0, -20, 20, NULL, "reduced: initial BOS logits"};
    o[k++] = (Opt){"s0", OPT_DOUBLE, &r->s0, 0, 100, NULL, "reduced: initial BOS value uniform in [-s0, s0]"};
    o[k++] = (Opt){"t-end", OPT_DOUBLE, &r->t_end, 10, 1e12, NULL, "reduced: gradient-flow horizon"};
    o[k++] = (Opt){"gd-steps", OPT_LONG, &r->gd_steps, 0, 1e10, NULL, "reduced: gradient-descent steps (0 = none)"};
    o[k++] = (Opt){"eta", OPT_DOUBLE, &r->eta, 1e-6, 10, NULL, "reduced: gradient-descent step"};
    o[k++] = (Opt){"per-decade", OPT_INT, &r->per_decade, 1, 1000, NULL, "reduced: output times per decade"};
    o[k++] = (Opt){"fit-decades", OPT_DOUBLE, &r->fit_decades, 0.1, 20, NULL, "reduced: late fit window = last this many decades of t"};
    o[k++] = (Opt){"cmp-from", OPT_DOUBLE, &r->cmp_from, 0, 1e12, NULL, "reduced: compare ODE and GD at t >= this"};
    o[k++] = (Opt){"rtol", OPT_DOUBLE, &r->rtol, 1e-14, 1e-2, NULL, "reduced: ODE relative tolerance"};
    o[k++] = (Opt){"atol", OPT_DOUBLE, &r->atol, 1e-16, 1e-2, NULL, "reduced: ODE absolute tolerance"};
    /* residual-peak toy */
    o[k++] = (Opt){"toy-m0", OPT_DOUBLE, &t->m0, 1e-3, 1e6, NULL, "mtoy: initial norm m_0"};
    o[k++] = (Opt){"toy-eta", OPT_DOUBLE, &t->eta, 1e-8, 100, NULL, "mtoy: step size"};
    o[k++] = (Opt){"toy-beta1", OPT_DOUBLE, &t->beta1, 0, 0.999999, NULL, "mtoy: Adam beta1"};
    o[k++] = (Opt){"toy-beta2", OPT_DOUBLE, &t->beta2, 0, 0.999999, NULL, "mtoy: Adam beta2"};
    o[k++] = (Opt){"toy-eps", OPT_DOUBLE, &t->eps, 0, 1, NULL, "mtoy: Adam epsilon"};
    o[k++] = (Opt){"toy-steps", OPT_LONG, &t->steps, 1, 1e8, NULL, "mtoy: steps"};
    /* simplified model */
    o[k++] = (Opt){"simple-steps", OPT_LONG, &s->steps, 10, 1e8, NULL, "simple: training steps per optimizer"};
    o[k++] = (Opt){"simple-batch", OPT_INT, &s->batch, 1, 4096, NULL, "simple: batch size"};
    o[k++] = (Opt){"simple-seq", OPT_INT, &s->seq, 4, 4096, NULL, "simple: sequence length N"};
    o[k++] = (Opt){"simple-vbase", OPT_INT, &s->vbase, 0, 1024, NULL,
                   "simple: 0 = the paper's table (the default task), else a synthetic table (--table synthetic) of "
                   "this many ordinary tokens (>= 4)"};
    o[k++] = (Opt){"simple-lr-adamw", OPT_DOUBLE, &s->lr_adamw, 1e-8, 10, NULL, "simple: AdamW learning rate"};
    o[k++] = (Opt){"simple-lr-sgd", OPT_DOUBLE, &s->lr_sgd, 1e-8, 10, NULL, "simple: SGD learning rate"};
    o[k++] = (Opt){"simple-fit-decades", OPT_DOUBLE, &s->fit_decades, 0.1, 10, NULL, "simple: a_v fit window = last this many decades of steps"};
    o[k++] = (Opt){"simple-eval-batch", OPT_INT, &s->eval_batch, 1, 4096, NULL, "simple: evaluation sequences per checkpoint"};
    o[k++] = (Opt){"threads", OPT_INT, &s->threads, 0, 1024, NULL, "OpenMP threads: the simplified model's training (the batch is one chunk, so 1 is fastest) and, when given, the whole process; the reduced model always runs its ODE and GD side by side, the toy is serial (0 = OpenMP default)"};
    return k;
}

static void usage(FILE *f, const Opt *o, int n) {
    fprintf(f, "usage: bbsim theory [reduced|mtoy|simple|all] [flags]   (default: all)\n\n"
               "Checks the mutual-reinforcement theory (docs/method.md#theory-checks): reduced = gradient flow\n"
               "and gradient descent of the reduced model (C11), mtoy = the residual-peak toy,\n"
               "Adam vs SGD (C10), simple = the trained simplified model (C12). Writes\n"
               "OUT/theory.tsv and one TSV per curve.\n\nflags:\n");
    opts_help(f, o, n);
}

/* ---------------------------------------------------------------- reduced */

static int do_reduced(TheoryArgs *a, const Opt *o, int no, ClaimList *cl, BbError *err) {
    ReducedModel rm, fm;
    ReducedRun rr, fr;
    double t0 = bb_now();
    int rc = reduced_build(&rm, &a->red, 0, err);
    if (rc) return rc;
    if ((rc = reduced_build(&fm, &a->red, 1, err))) {
        reduced_free(&rm);
        return rc;
    }
    if (!a->quiet)
        fprintf(stderr, "theory reduced: n=%d L=%d w=%d, %d distinct contexts from %d samples/type; ODE to t=%g, GD %ld steps\n",
                rm.n, rm.L, rm.w, rm.nctx, a->red.samples, a->red.t_end, a->red.gd_steps);
    rc = reduced_run(&rm, &a->red, 1, &rr, err);
    if (!rc) {
        ReducedConfig fc = a->red;
        fc.gd_steps = a->red.gd_steps; /* same grid */
        rc = reduced_run(&fm, &fc, 0, &fr, err);
        if (!rc) {
            reduced_decide(&a->red, &rr, &fr, cl);
            rc = reduced_write(a->out, &rr, &fr, o, no, err);
            if (!a->quiet)
                fprintf(stderr, "theory reduced: ODE %ld steps %.2f s, GD %.2f s, fixed-context ODE %ld steps; total %.2f s\n",
                        rr.ode_steps, rr.ode_seconds, rr.gd_seconds, fr.ode_steps, bb_now() - t0);
            reduced_run_free(&fr);
        }
        reduced_run_free(&rr);
    }
    reduced_free(&rm);
    reduced_free(&fm);
    return rc;
}

/* ------------------------------------------------------------------- mtoy */

static int do_mtoy(TheoryArgs *a, const Opt *o, int no, ClaimList *cl, BbError *err) {
    const MtoyConfig *c = &a->toy;
    double *ms = bb_malloc(sizeof(double) * (size_t)(c->steps + 1));
    double *ma = bb_malloc(sizeof(double) * (size_t)(c->steps + 1));
    mtoy_run(c, ms, ma);
    mtoy_decide(c, ms, ma, cl);
    int rc = mtoy_write(a->out, c, ms, ma, o, no, err);
    free(ms);
    free(ma);
    return rc;
}

/* ----------------------------------------------------------------- simple */

static int do_simple(TheoryArgs *a, const Opt *o, int no, ClaimList *cl, BbError *err) {
    SimpleRun runs[2];
    memset(runs, 0, sizeof runs);
    a->simple.seed = a->red.seed;
    char dir[BB_STRLEN];
    if ((size_t)snprintf(dir, sizeof dir, "%s/simple_runs", a->out) >= sizeof dir)
        return bb_fail(err, BB_EINPUT, "output path too long: %s", a->out);
    int rc = BB_OK;
    for (int r = 0; r < 2 && !rc; r++) {
        if (!a->quiet)
            fprintf(stderr, "theory simple: training the simplified model with %s, %ld steps\n", r ? "SGD" : "AdamW",
                    a->simple.steps);
        rc = simple_run(&a->simple, r, dir, &runs[r], err);
        if (!rc && !a->quiet) fprintf(stderr, "theory simple: %s run %.1f s\n", runs[r].optim, runs[r].seconds);
    }
    if (!rc) {
        simple_decide(&a->simple, &runs[0], &runs[1], cl);
        rc = simple_write(a->out, runs, 2, o, no, err);
    }
    simple_run_free(&runs[0]);
    simple_run_free(&runs[1]);
    return rc;
}

/* ------------------------------------------------------------------- main */

int cmd_theory(int argc, char **argv) {
    TheoryArgs a;
    memset(&a, 0, sizeof a);
    reduced_config_default(&a.red);
    mtoy_config_default(&a.toy);
    simple_config_default(&a.simple);
    snprintf(a.out, sizeof a.out, "theory_out");
    Opt o[48];
    int no = theory_opts(&a, o);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, o, no);
            return 0;
        }
    char *pos[1];
    int npos;
    BbError err = {{0}};
    int rc = opts_parse(o, no, argc, argv, pos, 1, &npos, &err);
    int mode = MODE_ALL;
    if (!rc && npos == 1) {
        if (!strcmp(pos[0], "reduced")) mode = MODE_REDUCED;
        else if (!strcmp(pos[0], "mtoy")) mode = MODE_MTOY;
        else if (!strcmp(pos[0], "simple")) mode = MODE_SIMPLE;
        else if (!strcmp(pos[0], "all")) mode = MODE_ALL;
        else {
            static const char *const parts[] = {"reduced", "mtoy", "simple", "all"};
            char near[128], hint[160] = "";
            if (bb_suggest(near, sizeof near, pos[0], parts, 4, "")) snprintf(hint, sizeof hint, "did you mean %s? ", near);
            rc = bb_fail(&err, BB_EINPUT, "unknown part '%s' (%schoose reduced, mtoy, simple or all)", pos[0], hint);
        }
    }
    /* given: for the whole process (the simplified model's runs set it themselves anyway) */
    if (!rc && a.simple.threads > 0 && opts_given(o, no, argc, argv, "threads")) bb_threads_apply(a.simple.threads);
    if (!rc && (mode & MODE_REDUCED)) rc = reduced_config_check(&a.red, &err);
    if (!rc && a.toy.steps < 1) rc = bb_fail(&err, BB_EINPUT, "--toy-steps must be >= 1");
    if (!rc && a.simple.vbase > 0 && a.simple.vbase < 4)
        rc = bb_fail(&err, BB_EINPUT, "--simple-vbase must be 0 (the paper's table) or >= 4, not %d", a.simple.vbase);
    if (!rc) rc = bb_mkdirs(a.out, &err);
    ClaimList cl = {0};
    double t0 = bb_now();
    if (!rc && (mode & MODE_MTOY)) rc = do_mtoy(&a, o, no, &cl, &err);
    if (!rc && (mode & MODE_REDUCED)) rc = do_reduced(&a, o, no, &cl, &err);
    if (!rc && (mode & MODE_SIMPLE)) rc = do_simple(&a, o, no, &cl, &err);
    if (!rc) {
        char path[BB_STRLEN + 16];
        snprintf(path, sizeof path, "%s/theory.tsv", a.out);
        rc = claims_write_tsv(&cl, path, o, no, &err);
    }
    if (rc) return bb_report("theory", rc, &err);
    claims_print(stdout, &cl);
    if (!a.quiet) bb_say(stderr, "theory: %.2f s; wrote %s/theory.tsv\n", bb_now() - t0, a.out);
    return 0;
}
