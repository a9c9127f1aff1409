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
/* Evaluate on another task than the one the run trained on: rebuild r->task with
 * bos (0..2) and packing (0/1) changed, -1 keeping the run's (r->cfg keeps the training
 * configuration; analysis_header records the override). BB_EINPUT, naming the flags
 * --eval-bos/--eval-packing, when the combination is invalid. */
int run_eval_task(Run *r, int bos, int packing, BbError *err);
/* 1 when r->task differs from the task the run trained on (run_eval_task). */
int run_eval_overridden(const Run *r);
/* Steps of every checkpoint in dir, ascending (malloc'd). */
int run_checkpoints(const char *dir, long **steps, int *n, BbError *err);

#endif
