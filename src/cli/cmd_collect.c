/* bbsim collect RUN_DIR...: one tidy table out of a sweep (docs/method.md#collecting-a-sweep),
 * one row per run: the configuration fields that differ between the runs and the final
 * metrics of each run's checkpoint on its fixed evaluation batch. The work is in
 * src/analysis/collect.c (collect_runs, collect_write). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/blas.h"
#include "bbsim/cli.h"
#include "bbsim/collect.h"

typedef struct {
    char ckpt[64];
    char out[BB_STRLEN];
    int threads;
    CollectConfig cc;
} CollectOpts;

#define NOPTS 5

static int collect_opts(CollectOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint of every run: a step or 'last'"};
    t[k++] = (Opt){"eval-batch", OPT_INT, &o->cc.eval_batch, 0, 1 << 20, NULL,
                   "sequences of each run's fixed evaluation batch (0 = the run's --eval-batch)"};
    t[k++] = (Opt){"all-fields", OPT_FLAG, &o->cc.all_fields, 0, 1, NULL,
                   "a column for every configuration field, not only those that differ between the runs"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL, "output file, written atomically [default: stdout]"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    BB_CHECK(k <= NOPTS);
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("collect", rc, err); }

static void usage(const Opt *t, int n) {
    printf("usage: bbsim collect RUN_DIR... [flags]\n\n"
           "One TSV table out of many runs, one row per run: the run directory, the configuration fields that\n"
           "differ between the runs, then the checkpoint's metrics on the run's fixed evaluation batch (step,\n"
           "loss, risks and excess per domain, Attn<s>, |Val<s>| and |Res<s>| ratios, sink rate) under fixed\n"
           "column names, so runs of any shape share the table. A directory that is not itself a run stands for\n"
           "the run directories directly inside it. The first line names the columns, '#' lines follow\n"
           "(pandas.read_csv(f, sep='\\t', comment='#')).\n\nflags:\n");
    opts_help(stdout, t, n);
}

/* The table on stdout, or written atomically into out. */
static int write_table(const char *out, const CollectRun *runs, int n, const CollectConfig *cc, BbError *err) {
    if (!out[0]) {
        collect_write(stdout, runs, n, cc);
        if (fflush(stdout) != 0 || ferror(stdout)) return bb_fail(err, BB_EIO, "cannot write to stdout");
        return BB_OK;
    }
    int rc = collect_write_file(out, runs, n, cc, err);
    if (!rc) bb_say(stdout, "bbsim collect: %d run%s -> %s\n", n, n > 1 ? "s" : "", out);
    return rc;
}

int cmd_collect(int argc, char **argv) {
    CollectOpts o;
    memset(&o, 0, sizeof o);
    snprintf(o.ckpt, sizeof o.ckpt, "last");
    collect_config_default(&o.cc);
    Opt table[NOPTS];
    const int nopt = collect_opts(&o, table);
    for (int k = 0; k < argc; k++)
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(table, nopt);
            return 0;
        }
    BbError err = {{0}};
    char **pos = bb_malloc(sizeof *pos * (size_t)(argc + 1));
    int npos, rc = opts_parse(table, nopt, argc, argv, pos, argc + 1, &npos, &err);
    if (!rc && npos == 0)
        rc = bb_fail(&err, BB_EINPUT, "expected at least one run directory (usage: bbsim collect RUN_DIR... [flags], "
                                      "see --help)");
    if (!rc) rc = run_ckpt_arg(o.ckpt, &o.cc.step, "a step or 'last'", &err);
    char **dirs = NULL;
    int n = 0;
    if (!rc) rc = collect_dirs(pos, npos, &dirs, &n, &err);
    free(pos);
    if (rc) return fail(rc, &err);
    if (o.threads > 0) bb_threads_apply(o.threads);
    blas_set_threads(1); /* parallel over runs or chunks, single-threaded GEMMs inside */
    CollectRun *runs = bb_calloc((size_t)n, sizeof *runs);
    rc = collect_runs(runs, dirs, n, &o.cc, 1, &err);
    if (!rc) rc = write_table(o.out, runs, n, &o.cc, &err); /* nothing is written before every run is in */
    free(runs);
    collect_dirs_free(dirs, n);
    return rc ? fail(rc, &err) : 0;
}
