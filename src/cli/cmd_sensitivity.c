/* bbsim sensitivity RUN_DIR: over-mixing measurements of a trained softmax transformer
 * (claim C17, docs/method.md#over-mixing-sensitivity): the perturbation spread with the sink
 * intact and with attention to the first token removed, and the exact input Jacobian
 * against the attention path-sum bound. The work is in src/analysis/sensitivity.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/blas.h"
#include "bbsim/cli.h"
#include "bbsim/sensitivity.h"

typedef struct {
    char ckpt[64];
    char out[BB_STRLEN];
    int threads, quiet;
    SensConfig sc;
} SensOpts;

#define NOPTS 8

static int sens_opts(SensOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint: a step or 'last'"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL, "output directory [default: RUN_DIR/sensitivity; with --ckpt N, RUN_DIR/sensitivity_stepN]"};
    t[k++] = (Opt){"seqs", OPT_INT, &o->sc.seqs, 1, 1 << 20, NULL,
                   "sequences measured: the first ones of the fixed evaluation batch"};
    t[k++] = (Opt){"pos", OPT_INT, &o->sc.pos, -1, 1 << 20, NULL, "query position i (-1 = the last position)"};
    t[k++] = (Opt){"replace", OPT_INT, &o->sc.replacements, 1, 1024, NULL,
                   "replacement tokens per source position (averaged)"};
    t[k++] = (Opt){"chunk", OPT_INT, &o->sc.chunk, 1, 4096, NULL, "perturbed sequences per forward call"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no summary on stdout"};
    BB_CHECK(k <= NOPTS);
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("sensitivity", rc, err); }

static void usage(const Opt *t, int n) {
    printf("usage: bbsim sensitivity RUN_DIR [flags]\n\n"
           "Over-mixing at one late query position i: replace each earlier input token and measure the\n"
           "relative change of the residual state at i after every layer, with the sink intact and with\n"
           "attention to the first token removed (spread.tsv); the exact Jacobian norm of the last residual\n"
           "state at i against each input embedding, with the attention path-sum bound (jacobian.tsv);\n"
           "summary.tsv. Softmax transformer runs only.\n\n");
    opts_help(stdout, t, n);
}

static void print_summary(const char *dir, const Run *run, const SensResult *r, const char *out) {
    bb_say(stdout, "bbsim sensitivity: %s, step %ld, %d sequences, query position %d -> %s\n\n", dir, run->step,
           r->seqs, r->i, out);
    printf("%-6s %14s %14s %8s\n", "layer", "spread intact", "spread nosink", "ratio");
    for (int l = 0; l < r->L; l++)
        printf("%-6d %14.4g %14.4g %8.3g\n", l, r->spread_layer[0][l], r->spread_layer[1][l],
               r->spread_layer[1][l] / r->spread_layer[0][l]);
    printf("\nJacobian vs path-sum bound: held on %ld of %ld pairs; jacobian/bound max %.3g, median %.3g\n", r->held,
           r->pairs, r->ratio_max, r->ratio_median);
    printf("log jacobian vs log path sum (%ld pairs): Pearson %.3f, Spearman %.3f\n", r->corr_pairs, r->pearson,
           r->spearman);
}

int cmd_sensitivity(int argc, char **argv) {
    SensOpts o;
    memset(&o, 0, sizeof o);
    snprintf(o.ckpt, sizeof o.ckpt, "last");
    sensitivity_config_default(&o.sc);
    Opt table[NOPTS];
    const int nopt = sens_opts(&o, table);
    if (opts_wants_help(argc, argv)) {
        usage(table, nopt);
        return 0;
    }
    BbError err = {{0}};
    const char *dir;
    int rc = opts_parse_run_dir(table, nopt, argc, argv, "bbsim sensitivity RUN_DIR [flags]", &dir, &err);
    if (rc) return fail(rc, &err);
    long step;
    if ((rc = run_ckpt_arg(o.ckpt, &step, "a step or 'last'", &err))) return fail(rc, &err);
    if (o.threads > 0) bb_threads_apply(o.threads);
    blas_set_threads(1);

    Run run;
    if ((rc = run_load(&run, dir, step, &err))) return fail(rc, &err);
    char outdir[BB_STRLEN + 16];
    if (o.out[0]) snprintf(outdir, sizeof outdir, "%s", o.out);
    else if (step >= 0) snprintf(outdir, sizeof outdir, "%s/sensitivity_step%ld", dir, step); /* as analyze */
    else snprintf(outdir, sizeof outdir, "%s/sensitivity", dir);
    EvalBatch eb;
    /* the first --seqs sequences of bbsim analyze's fixed evaluation batch (sequence b depends
     * on eval_seed and b only, docs/method.md#determinism-and-the-evaluation-batch) */
    analysis_batch(&eb, &run.task, o.sc.seqs, NULL);
    /* a model that overflows (a diverged run) has no meaningful spread: refuse it as analyze does */
    AnalysisConfig ac;
    analysis_config_default(&ac);
    Analysis an;
    analysis_collect(&an, &run.model, &run.task, &eb, NULL, &ac, ANALYSIS_RISKS, bb_threads());
    rc = analysis_check_risk(&an, run.path, run.step, &err);
    analysis_free(&an);
    SensResult r = {0};
    if (!rc) rc = sensitivity_run(&r, &run.model, &run.task, &eb, &o.sc, bb_threads(), &err);
    if (!rc) rc = bb_mkdirs(outdir, &err);
    if (!rc) rc = sensitivity_write(outdir, &run, &o.sc, &r, &err);
    if (!rc && !o.quiet) print_summary(dir, &run, &r, outdir);
    sensitivity_free(&r);
    analysis_batch_free(&eb);
    run_free(&run);
    return rc ? fail(rc, &err) : 0;
}
