/* bbsim analyze: the extreme-token metrics, the head table and the figure data of a run
 * directory (docs/method.md#metrics), for one checkpoint or, with --ckpt all, the training
 * dynamics (one dynamics.tsv row per checkpoint). The work is analyze_run
 * (src/analysis/analyze_run.c). */
#include <stdio.h>
#include <string.h>
#include "bbsim/analysis.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"

typedef struct {
    char ckpt[64];
    char out[BB_STRLEN];
    int threads, quiet;
    AnalyzeRequest req;
} AnalyzeOpts;

static int analyze_opts(AnalyzeOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint: a step, 'last' or 'all' (dynamics.tsv)"};
    t[k++] = (Opt){"seqs", OPT_INTLIST, &o->req.seqs, 0, 1 << 30, NULL,
                   "also dump these sequences of the evaluation batch (seq<k>); 'active' and 'dormant' always"};
    t[k++] = (Opt){"eval-batch", OPT_INT, &o->req.eval_batch, 0, 1 << 20, NULL,
                   "sequences of the fixed evaluation batch (0 = the run's --eval-batch)"};
    t[k++] = (Opt){"tokens", OPT_STR, o->req.tokens, 0, 0, NULL, "token ids of an extra domain, e.g. 3,7 (\"\" = none)"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL,
                   "output directory [default: RUN_DIR/analysis; with --ckpt N, RUN_DIR/analysis_stepN]"};
    t[k++] = (Opt){"chunk", OPT_INT, &o->req.ac.chunk, 1, 4096, NULL, "sequences per forward call (one per thread)"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    t[k++] = (Opt){"sink-key", OPT_INT, &o->req.ac.sink_key, 0, 1 << 20, NULL,
                   "key k of the importance score and sink rate"};
    t[k++] = (Opt){"sink-eps", OPT_DOUBLE, &o->req.ac.sink_eps, 0, 1, NULL, "threshold eps of the sink rate"};
    t[k++] = (Opt){"tau-sink", OPT_DOUBLE, &o->req.ac.tau_sink, 0, 1, NULL, "head table: dormant needs Attn<s> above this"};
    t[k++] = (Opt){"tau-loss", OPT_DOUBLE, &o->req.ac.tau_loss, 0, 1e6, NULL,
                   "head table: removal effect (nats) separating dormant / active"};
    t[k++] = (Opt){"no-heads", OPT_FLAG, &o->req.no_heads, 0, 1, NULL, "skip the head-removal passes (no heads.tsv)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no summary on stdout"};
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("analyze", rc, err); }

int cmd_analyze(int argc, char **argv) {
    AnalyzeOpts o;
    memset(&o, 0, sizeof o);
    snprintf(o.ckpt, sizeof o.ckpt, "last");
    analyze_request_default(&o.req);
    Opt table[16];
    const int nopt = analyze_opts(&o, table);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bbsim analyze RUN_DIR [flags]\n\n"
                   "Metrics of docs/method.md#metrics on the run's fixed evaluation batch: risks.tsv, metrics.tsv,\n"
                   "heads.tsv (dormant / active / mixed per domain), dlogit.tsv, keys.tsv, types.tsv, sink.tsv and, for the\n"
                   "'active', 'dormant' and --seqs sequences, attention_*.tsv, values_*.tsv, norms_*.tsv.\n"
                   "With --ckpt all: dynamics.tsv, one row per checkpoint.\n\nflags:\n");
            opts_help(stdout, table, nopt);
            return 0;
        }
    BbError err = {{0}};
    const char *dir;
    int rc = opts_parse_run_dir(table, nopt, argc, argv, "bbsim analyze RUN_DIR [flags]", &dir, &err);
    if (rc) return fail(rc, &err);
    if (!strcmp(o.ckpt, "all")) o.req.all = 1;
    else if ((rc = run_ckpt_arg(o.ckpt, &o.req.step, "a step, 'last' or 'all'", &err))) return fail(rc, &err);
    /* --ckpt N writes RUN_DIR/analysis_step<N>/, never over the last checkpoint's
     * RUN_DIR/analysis/ (what make repro and bbsim figures read is always given by --out) */
    char outdir[BB_STRLEN + 48];
    if (o.out[0]) snprintf(outdir, sizeof outdir, "%s", o.out);
    else if (o.req.step >= 0) snprintf(outdir, sizeof outdir, "%s/analysis_step%ld", dir, o.req.step);
    else snprintf(outdir, sizeof outdir, "%s/analysis", dir);
    if (o.threads > 0) bb_threads_apply(o.threads);
    blas_set_threads(1); /* parallel over chunks, single-threaded GEMMs inside */
    /* Ctrl-C and SIGTERM set a flag: the partial set is removed and the exit status is 130 */
    bb_catch_interrupts();
    rc = analyze_run(dir, outdir, &o.req, o.quiet ? NULL : stdout, &err);
    bb_release_interrupts();
    return rc ? fail(rc, &err) : 0;
}
