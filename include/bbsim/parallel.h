/* One loop over independent items (checkpoints of a run, runs of a sweep) on the OpenMP
 * threads, with a progress line on a terminal: what `bbsim analyze --ckpt all` and
 * `bbsim collect` share (src/core/parallel.c). */
#ifndef BBSIM_PARALLEL_H
#define BBSIM_PARALLEL_H

#include "bbsim/common.h"

/* The work on item k; threads: the threads it may use inside (1 when the items run one per
 * thread). Fills its own result slot only; returns a status with its message in err. */
typedef int (*ParallelItem)(void *ctx, int k, int threads, BbError *err);

/* item(ctx, k, ...) for k = 0..n-1. Many items (n >= bb_threads() > 1): one item per
 * thread at a time (dynamic schedule), each serial inside; few: one after another, each
 * with every thread. Either way an item computes the same numbers. After an interrupt
 * (bb_interrupted) the items not yet begun are skipped (BB_EINTR). label (NULL: none): on a
 * terminal, stderr shows "\rLABEL: done/n UNIT, S s, ETA S s" after each item. Returns the
 * first failure in item order (its message in *err), else BB_OK. */
int parallel_for_each(int n, ParallelItem item, void *ctx, const char *label, const char *unit, BbError *err);

#endif
