/* parallel_for_each (include/bbsim/parallel.h): independent items on OpenMP threads, the
 * first failure in item order, and a progress line on a terminal. */
#include "bbsim/parallel.h"

#include <stdlib.h>
#include <unistd.h>

static void progress_line(const char *label, const char *unit, int done, int n, double t0) {
    const double el = bb_now() - t0;
    bb_say(stderr, "\r%s: %d/%d %s, %.0f s, ETA %.0f s   ", label, done, n, unit, el, el / done * (n - done));
    if (done == n) fputc('\n', stderr);
}

int parallel_for_each(int n, ParallelItem item, void *ctx, const char *label, const char *unit, BbError *err) {
    int *status = bb_calloc((size_t)n, sizeof *status);
    BbError *errs = bb_calloc((size_t)n, sizeof *errs);
    const int threads = bb_threads(), outer = n >= threads && threads > 1;
    const int tty = label && isatty(fileno(stderr));
    const double t0 = bb_now();
    int done = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (outer)
    for (int k = 0; k < n; k++) {
        if (bb_interrupted()) { /* the rest is skipped */
            status[k] = bb_fail(&errs[k], BB_EINTR, "interrupted");
            continue;
        }
        status[k] = item(ctx, k, outer ? 1 : threads, &errs[k]);
        if (tty) {
#pragma omp critical(parallel_progress)
            progress_line(label, unit, ++done, n, t0);
        }
    }
    int rc = BB_OK;
    for (int k = 0; k < n && !rc; k++)
        if ((rc = status[k])) *err = errs[k];
    free(status);
    free(errs);
    return rc;
}
