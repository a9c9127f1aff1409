/* Checkpoint files (format: docs/format.md#checkpoint-files): the configuration,
 * parameters, step and, in full checkpoints, the optimizer state, with a checksum;
 * atomic writes. */
#ifndef BBSIM_CHECKPOINT_H
#define BBSIM_CHECKPOINT_H

#include "bbsim/train_config.h"

/* What a checkpoint holds: the weights only (what analyses read), or the weights and the
 * optimizer state (what --resume needs). */
typedef enum { CKPT_WEIGHTS, CKPT_FULL } CkptContents;

/* The full state of a run's latest checkpoint under --ckpt-optim last, replaced at each
 * checkpoint: DIR/ckpt/resume.bbck (run_checkpoints does not list it). */
#define CKPT_RESUME_FILE "resume.bbck"

/* DIR/ckpt/step_NNNNNNNNN.bbck; -1 if it does not fit. */
int ckpt_path(char *buf, size_t len, const char *dir, long step);
/* DIR/ckpt/resume.bbck; -1 if it does not fit. */
int ckpt_resume_path(char *buf, size_t len, const char *dir);
/* o gives the optimizer kind and update count always, its moments with CKPT_FULL. */
int ckpt_write(const char *path, const TrainConfig *cfg, const Model *m, const Optim *o, long step,
               CkptContents what, BbError *err);
/* Rebuilds task and model from the checkpoint's own configuration; o (optional) gets
 * the optimizer state: with o, a weights-only file is refused (BB_EINPUT, naming the
 * file and resume.bbck). Reads format versions 1 (always full) and 2. On failure
 * nothing is left allocated. */
int ckpt_read(const char *path, TrainConfig *cfg, Task *task, Model *m, Optim *o, long *step, BbError *err);

#endif
