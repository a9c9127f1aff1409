/* Checkpoint files (format: docs/format.md#checkpoint-files): the configuration,
 * parameters, step and, in full checkpoints, the optimizer state, with a checksum;
 * atomic writes. */
#ifndef BBSIM_CHECKPOINT_H
#define BBSIM_CHECKPOINT_H

#include "bbsim/train_config.h"

/* What a checkpoint holds: the weights only (what analyses read), or the weights and the
 * optimizer state (what --resume needs). */
typedef enum { CKPT_WEIGHTS, CKPT_FULL } CkptContents;

/* The full state of a run's latest checkpoint (and of an interrupt between two scheduled
 * ones), replaced at each: DIR/ckpt/resume.bbck; the one it replaced is kept as
 * DIR/ckpt/resume.prev.bbck, for --resume when the latest does not verify (run_checkpoints
 * lists neither). */
#define CKPT_RESUME_FILE "resume.bbck"
#define CKPT_RESUME_PREV_FILE "resume.prev.bbck"

/* DIR/ckpt/step_NNNNNNNNN.bbck; -1 if it does not fit. */
int ckpt_path(char *buf, size_t len, const char *dir, long step);
/* DIR/ckpt/resume.bbck; -1 if it does not fit. */
int ckpt_resume_path(char *buf, size_t len, const char *dir);
/* DIR/ckpt/resume.prev.bbck; -1 if it does not fit. */
int ckpt_resume_prev_path(char *buf, size_t len, const char *dir);
/* The table files a task reads (--corpus, --transitions, --marginal, --labels), in this
 * order: a run records a copy of each in DIR/inputs/NAME.txt (docs/format.md#inputs). */
enum { CKPT_NINPUTS = 4 };
extern const char *const ckpt_input_names[]; /* "corpus","transitions","marginal","labels",NULL */
/* The path field of input i in tc ("" = not used). */
char *ckpt_input_path(TaskConfig *tc, int i);
/* 64-bit FNV-1a, continued from *h (start: 0xcbf29ce484222325). Detects accidental
 * changes, not deliberate ones. */
void ckpt_fnv1a(uint64_t *h, const void *data, size_t n);
/* The run identity (docs/format.md#run-identity): FNV-1a of the configuration without
 * what --resume may change (steps, eval-every) and the runtime fields, and of the hashes
 * of the recorded input tables (input_hash[CKPT_NINPUTS], or NULL for runs without). */
uint64_t ckpt_identity(const TrainConfig *c, const uint64_t *input_hash);
/* What a checkpoint's header says, read without its parameters or checksum (errors as
 * ckpt_read's). */
typedef struct {
    unsigned version;
    long step;
    uint64_t id; /* stored from version 3, ckpt_identity(header, NULL) before */
    int has_optim;
} CkptInfo;
int ckpt_peek(const char *path, CkptInfo *info, BbError *err);
/* o gives the optimizer kind and update count always, its moments with CKPT_FULL. */
int ckpt_write(const char *path, const TrainConfig *cfg, const Model *m, const Optim *o, long step,
               CkptContents what, BbError *err);
/* Rebuilds task and model from the checkpoint's own configuration; o (optional) gets
 * the optimizer state: with o, a weights-only file is refused (BB_EINPUT, naming the
 * file and resume.bbck). Reads format versions 1 (always full) to 3. A damaged file
 * (cut short, a checksum that fails, no bbsim checkpoint, another format version, a
 * field out of its range) is BB_ECORRUPT; a file that cannot be opened, a configuration
 * that does not build, a weights-only file with o, BB_EINPUT. On failure nothing is
 * left allocated. */
int ckpt_read(const char *path, TrainConfig *cfg, Task *task, Model *m, Optim *o, long *step, BbError *err);
/* ckpt_read building the task from inputs[i] (non-NULL entries of CKPT_NINPUTS) instead of
 * the table paths of the header; cfg keeps the header's paths. cfg->run_id gets the
 * identity. */
int ckpt_read_inputs(const char *path, const char *const *inputs, TrainConfig *cfg, Task *task, Model *m, Optim *o,
                     long *step, BbError *err);

#endif
