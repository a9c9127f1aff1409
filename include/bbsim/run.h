/* A trained model loaded back from a checkpoint of a run directory, and the list of the
 * checkpoints a run holds. */
#ifndef BBSIM_RUN_H
#define BBSIM_RUN_H

#include "bbsim/train_config.h"

/* A trained model loaded back from a checkpoint of a run directory. */
typedef struct Run {
    TrainConfig cfg;
    Task task;
    Model model;
    long step;
    char path[BB_STRLEN]; /* checkpoint file */
} Run;

/* step = -1: the last checkpoint. */
int run_load(Run *r, const char *dir, long step, BbError *err);
/* The value of a --ckpt flag: a step (>= 0), or "last" (-1). BB_EINPUT otherwise, the
 * message naming the flag and `choices` (e.g. "a step or 'last'"). */
int run_ckpt_arg(const char *arg, long *step, const char *choices, BbError *err);
void run_free(Run *r);
/* Steps of every checkpoint in dir, ascending (malloc'd). */
int run_checkpoints(const char *dir, long **steps, int *n, BbError *err);

#endif
