/* A training run's configuration: task, model, optimizer, schedule and where the run
 * goes. One Opt table (train_opts) gives the flags, --help, config.txt and the header of
 * every checkpoint, so a run's configuration always reads back exactly. */
#ifndef BBSIM_TRAIN_CONFIG_H
#define BBSIM_TRAIN_CONFIG_H

#include "bbsim/common.h"
#include "bbsim/model.h"
#include "bbsim/optim.h"
#include "bbsim/task.h"

typedef struct TrainConfig {
    TaskConfig task;
    ModelConfig model;
    OptimConfig optim;
    long steps;
    int batch;
    int chunks;              /* the batch is split into this many fixed chunks (determinism) */
    int threads;             /* 0 = OpenMP default */
    char out[BB_STRLEN];     /* run directory */
    long ckpt_every;         /* checkpoint every this many steps while dense ... */
    long ckpt_dense;         /* ... up to this step; then */
    double ckpt_growth;      /* the gap grows geometrically: next >= last * growth */
    int ckpt_optim;          /* which checkpoints hold the optimizer state (CkptOptim) */
    long eval_every;         /* evaluation-batch risks every this many steps (0 = off) */
    char resume[BB_STRLEN];  /* run directory to resume from ("" = fresh) */
    int quiet;
    uint64_t run_id;         /* the run identity (ckpt_identity), 0 = not known yet; not a flag */
} TrainConfig;

/* --ckpt-optim: last (default) = step files hold the weights only and ckpt/resume.bbck the
 * full state of the latest one; all = every step file holds the full state. */
typedef enum { CKPT_OPTIM_LAST, CKPT_OPTIM_ALL } CkptOptim;
extern const char *const ckpt_optim_names[]; /* "last","all",NULL */


/* The library defaults (what the tests and the theory's runs start from): the paper's
 * one-layer size (d 256, N 256, batch 512, 10,000 steps, no evaluation). */
void train_config_default(TrainConfig *c);
/* The presets of `bbsim train --preset`, applied on top of train_config_default: small
 * (the CLI's default: 1 layer, d 64, N 64, batch 32, lr 3e-3, 2,000 steps, evaluation
 * every 100; under a minute) and paper (= the library defaults). Returns BB_EINPUT for an
 * index outside train_preset_names. */
enum { TRAIN_PRESET_SMALL, TRAIN_PRESET_PAPER };
extern const char *const train_preset_names[];
int train_config_preset(TrainConfig *c, int preset);
#define TRAIN_NOPTS (TASK_NOPTS + MODEL_NOPTS + 32)
int train_opts(TrainConfig *c, Opt *out);

/* The configuration as "name value" lines. runtime = 0 leaves out where and how the run
 * ran (out, resume, threads, quiet): what stays defines the experiment. */
void train_config_write(FILE *f, const TrainConfig *c, int runtime);
int train_config_read(FILE *f, TrainConfig *c, const char *where, BbError *err);
/* Fill the model fields that come from the task (V, context, BOS, triggers). */
void train_model_config_from_task(ModelConfig *mc, const Task *t);

#endif
