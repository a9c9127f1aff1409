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

/* What config.txt records besides the configuration (docs/format.md#run-identity): the
 * run identity and, for each input table, the hash of its copy in DIR/inputs/. */
#define RUN_INPUTS_DIR "inputs"
#define RUN_LOCK_FILE ".lock"
typedef struct {
    int have_id; /* 0: a run made before checkpoint format 3 */
    uint64_t id;
    int recorded[4]; /* CKPT_NINPUTS, in the order of ckpt_input_names */
    uint64_t input_hash[4];
} RunMeta;
/* The "# run-id" and "# input" lines of DIR/config.txt (none: all zero). */
int run_meta_read(const char *dir, RunMeta *m, BbError *err);
/* The same lines of the config file path, whose run directory (where inputs/ is) is dir. */
int run_meta_read_file(const char *path, const char *dir, RunMeta *m, BbError *err);
void run_meta_write(FILE *f, const RunMeta *m);
/* Copy each table tc reads into dir/inputs/NAME.txt and record its FNV-1a hash in m. */
int run_inputs_record(const char *dir, const TaskConfig *tc, RunMeta *m, BbError *err);
/* inputs[i] = dir/inputs/NAME.txt (in paths[i]) for each recorded table, NULL for the
 * others; BB_EINPUT, naming the copy, when its bytes no longer hash as recorded. */
int run_inputs_paths(const char *dir, const RunMeta *m, char paths[][BB_STRLEN], const char **inputs,
                     BbError *err);
/* Take dir/.lock (flock, non-blocking) for the lifetime of a trainer: BB_EINPUT "dir is
 * in use by another bbsim train (pid N)" when another process holds it. */
int run_lock(const char *dir, int *fd, BbError *err);
/* Take dir/ckpt itself (flock on the folder, no file in it) the same way, so two run
 * folders whose ckpt/ is one folder (a symbolic link, a bind mount) cannot both train into
 * it; *fd = -1 when dir/ckpt does not exist yet. BB_EINPUT "dir/ckpt is in use by another
 * bbsim train ..." when another process holds it. Released with run_unlock. */
int run_lock_ckpt(const char *dir, int *fd, BbError *err);
void run_unlock(int fd);
/* ckpt_read of path (a checkpoint of dir) with the run's recorded inputs, refused (BB_EINPUT,
 * naming the file) when its identity is not the run's or its step is not name_step (-1:
 * not checked); a damaged file is BB_ECORRUPT (ckpt_read). On failure nothing is left
 * allocated. */
int run_ckpt_load(const char *dir, const char *path, long name_step, TrainConfig *cfg, Task *task, Model *model,
                  Optim *opt, long *step, BbError *err);

/* step = -1: the last checkpoint. Every checkpoint that does not load, a damaged one or
 * none at all included, is BB_EINPUT here (the kinds BB_ECORRUPT and BB_ENOENT are for a
 * caller with an earlier checkpoint to fall back on: --resume). */
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
/* Steps of every checkpoint in dir, ascending (malloc'd); BB_ENOENT when there is none.
 * Refused (BB_EINPUT, naming the file): a file in ckpt/ other than step_NNNNNNNNN.bbck,
 * the resume files and *.tmp (a write under way); a checkpoint whose header holds another
 * step than its name or another run identity than the run's (config.txt's run-id; for
 * runs before checkpoint format 3, the earliest checkpoint's). A checkpoint whose header
 * does not read is listed (loading it says what is wrong). */
int run_checkpoints(const char *dir, long **steps, int *n, BbError *err);

#endif
