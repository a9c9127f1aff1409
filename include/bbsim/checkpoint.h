/* Checkpoint files (format in src/train/checkpoint.c) and the pieces of train.c that
 * checkpoint.c and the CLI share. */
#ifndef BBSIM_CHECKPOINT_H
#define BBSIM_CHECKPOINT_H

#include "bbsim/train.h"

/* DIR/ckpt/step_NNNNNNNNN.bbck; -1 if it does not fit. */
int ckpt_path(char *buf, size_t len, const char *dir, long step);
int ckpt_write(const char *path, const TrainConfig *cfg, const Model *m, const Optim *o, long step, BbError *err);
/* Rebuilds task and model from the checkpoint's own configuration; o (optional) gets
 * the optimizer state. On failure nothing is left allocated. */
int ckpt_read(const char *path, TrainConfig *cfg, Task *task, Model *m, Optim *o, long *step, BbError *err);

/* The configuration as "name value" lines. runtime = 0 leaves out where and how the run
 * ran (out, resume, threads, quiet): what stays defines the experiment. */
void train_config_write(FILE *f, const TrainConfig *c, int runtime);
int train_config_read(FILE *f, TrainConfig *c, const char *where, BbError *err);
/* Fill the model fields that come from the task (V, context, BOS, triggers). */
void train_model_config_from_task(ModelConfig *mc, const Task *t);

#endif
