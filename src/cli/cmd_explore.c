/* bbsim explore RUN_DIR: one self-contained HTML page of a run (attention maps over
 * training with a checkpoint slider, value and residual norms, dynamics, head table).
 * This file only parses the flags; the data and the page: src/analysis/explore.c. */
#include <stdio.h>
#include <string.h>
#include "bbsim/blas.h"
#include "bbsim/cli.h"
#include "bbsim/explore.h"

typedef struct {
    char out[BB_STRLEN];
    int seq, max_ckpts, threads, quiet;
} ExploreOpts;

#define NOPTS 5
static int explore_opts(ExploreOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL, "the HTML file [default: RUN_DIR/explore.html]"};
    t[k++] = (Opt){"seq", OPT_INT, &o->seq, 0, 1 << 20, NULL,
                   "sequence K of the run's fixed evaluation batch (the same at every checkpoint) [0]"};
    t[k++] = (Opt){"max-ckpts", OPT_INT, &o->max_ckpts, 2, 100000, NULL,
                   "at most this many checkpoints, geometrically spaced, first and last kept [40]"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads of the analyses (0 = OpenMP default)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no summary on stdout"};
    BB_CHECK(k <= NOPTS);
    return k;
}

static void usage(const Opt *t, int n) {
    printf("usage: bbsim explore RUN_DIR [--out FILE.html] [--seq K] [--max-ckpts N] [flags]\n\n"
           "Writes one self-contained HTML page (no network; open it in any browser) with, for a sample of\n"
           "the run's checkpoints, the attention maps of every layer and head on sequence K of the fixed\n"
           "evaluation batch (a slider moves over training; hover a cell for tokens, weight and share), the\n"
           "value and residual norms of that sequence, the dynamics curves (as dynamics.tsv), the head table\n"
           "and the run's configuration. Keys: left/right move the step, up/down the head, PageUp/PageDown\n"
           "the layer. docs/explore.md.\n\nflags:\n");
    opts_help(stdout, t, n);
}

int cmd_explore(int argc, char **argv) {
    ExploreOpts o;
    memset(&o, 0, sizeof o);
    ExploreRequest req;
    explore_request_default(&req);
    o.max_ckpts = req.max_ckpts;
    Opt table[NOPTS];
    const int nopt = explore_opts(&o, table);
    if (opts_wants_help(argc, argv)) {
        usage(table, nopt);
        return 0;
    }
    BbError err = {{0}};
    const char *dir;
    int rc = opts_parse_run_dir(table, nopt, argc, argv, "bbsim explore RUN_DIR [flags]", &dir, &err);
    if (rc) return bb_report("explore", rc, &err);
    char out[BB_STRLEN];
    if (o.out[0]) snprintf(out, sizeof out, "%s", o.out);
    else if ((size_t)snprintf(out, sizeof out, "%s/explore.html", dir) >= sizeof out) {
        bb_fail(&err, BB_EINPUT, "run directory path too long: %s", dir);
        return bb_report("explore", BB_EINPUT, &err);
    }
    req.seq = o.seq;
    req.max_ckpts = o.max_ckpts;
    if (o.threads > 0) bb_threads_apply(o.threads);
    blas_set_threads(1); /* as bbsim analyze: parallel over checkpoints, single-threaded GEMMs inside */
    bb_catch_interrupts();
    rc = explore_run(dir, out, &req, o.quiet ? NULL : stdout, &err);
    bb_release_interrupts();
    return rc ? bb_report("explore", rc, &err) : 0;
}
