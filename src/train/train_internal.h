/* Private interface between the training loop (train.c) and its persistence (resume.c):
 * the state a run holds while it trains, how it is opened (fresh or --resume) and
 * closed, and how a checkpoint is saved. The step engine is public (train.h). */
#ifndef BBSIM_TRAIN_INTERNAL_H
#define BBSIM_TRAIN_INTERNAL_H

#include "bbsim/run.h"
#include "bbsim/train.h"

/* metrics.tsv's columns: one row per update (metrics_row, train.c). */
#define TRAIN_METRICS_COLUMNS                                                                                     \
    "step\tloss\tbackcopy_loss\tbigram_loss\tgrad_norm\tlr\tms_per_step\t"                                         \
    "eval_loss\teval_backcopy_loss\teval_bigram_loss"

/* What a run holds while it trains. */
typedef struct {
    Task task;
    Model model;
    Optim opt;
    int have_state;      /* task, model and opt are built */
    long step;           /* the step of the state */
    RunMeta meta;        /* the run identity and recorded inputs (config.txt) */
    int lock, ckpt_lock; /* DIR/.lock, and DIR/ckpt itself (however it is reached); -1: not held */
    FILE *metrics;       /* DIR/metrics.tsv, open for appending */
    char mpath[BB_STRLEN + 16];
} TrainState;

/* The state a run starts from, its directory locked. --resume (c->resume): the run's last
 * checkpoint that verifies, whose configuration replaces *c but for steps, eval_every,
 * threads and quiet given on the command line; fresh: built from *c (c->chunks resolved),
 * c->out made and locked. Refused before anything is written: a run that needs more
 * memory than the process may take. What it holds on failure too, state_close releases. */
int state_open(TrainState *s, TrainConfig *c, BbError *err);
/* The run directory, before the first step: a fresh run refuses another run's directory,
 * records its inputs and identity; a resume cuts metrics.tsv back to s->step. Then
 * config.txt is written and metrics.tsv opened for appending (s->metrics). */
int state_prepare_dir(TrainState *s, TrainConfig *c, BbError *err);
/* Close metrics.tsv, free the state, unlock. Returns rc, or when rc is BB_OK the error of
 * closing metrics.tsv. */
int state_close(TrainState *s, int rc, BbError *err);

/* The checkpoint of `step` (scheduled: on the --ckpt schedule or the last step; else
 * after a Ctrl-C): path gets the file written (the step file, or ckpt/resume.bbck when
 * only that was written). */
int checkpoint_save(const TrainConfig *c, const Model *model, const Optim *opt, long step, int scheduled, char *path,
                    size_t len, BbError *err);

#endif
