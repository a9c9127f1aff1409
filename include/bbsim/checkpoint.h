/* Checkpoint files (format at the top of src/train/checkpoint.c): the configuration,
 * parameters, optimizer state and step, with a checksum; atomic writes. */
#ifndef BBSIM_CHECKPOINT_H
#define BBSIM_CHECKPOINT_H

#include "bbsim/train_config.h"

/* DIR/ckpt/step_NNNNNNNNN.bbck; -1 if it does not fit. */
int ckpt_path(char *buf, size_t len, const char *dir, long step);
int ckpt_write(const char *path, const TrainConfig *cfg, const Model *m, const Optim *o, long step, BbError *err);
/* Rebuilds task and model from the checkpoint's own configuration; o (optional) gets
 * the optimizer state. On failure nothing is left allocated. */
int ckpt_read(const char *path, TrainConfig *cfg, Task *task, Model *m, Optim *o, long *step, BbError *err);

#endif
