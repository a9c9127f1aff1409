/* Optimizers (spec/training.md), the training loop, run directories and checkpoints.
 * A run directory holds config.txt (the resolved configuration), metrics.tsv and
 * ckpt/step_NNNNNNNNN.bbck checkpoints; run_load() rebuilds task + model from one. */
#ifndef BBSIM_TRAIN_H
#define BBSIM_TRAIN_H

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
    long eval_every;         /* evaluation-batch risks every this many steps (0 = off) */
    char resume[BB_STRLEN];  /* run directory to resume from ("" = fresh) */
    int quiet;
} TrainConfig;

void train_config_default(TrainConfig *c);
#define TRAIN_NOPTS (TASK_NOPTS + MODEL_NOPTS + 32)
int train_opts(TrainConfig *c, Opt *out);

/* Train as configured; writes the run directory. Returns BB_EINTR after a Ctrl-C (a
 * checkpoint was saved), BB_ENUM on a non-finite loss. */
int train_run(TrainConfig *c, BbError *err);

/* The step engine that train_run (and bench) use: the batch is split into a fixed
 * number of chunks (chunks, 0 = min(batch, 8)); one Workspace per thread; each chunk
 * has its own gradient buffer; buffers are summed in chunk order. */
typedef struct Trainer Trainer;
Trainer *trainer_alloc(const Task *task, const Model *model, int batch, int chunks, int eval_batch);
void trainer_free(Trainer *tr);
/* Forward + backward of one batch; returns the mean loss; the gradient of the mean loss
 * is then in trainer_grads(tr) (nparams). backcopy/bigram (optional): mean losses on
 * trigger / non-trigger positions. */
double trainer_step(Trainer *tr, const int *inputs, const int *targets, int B, double *backcopy, double *bigram);
float *trainer_grads(Trainer *tr);
size_t trainer_bytes(const Trainer *tr);
int trainer_threads(const Trainer *tr);

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
void run_free(Run *r);
/* Steps of every checkpoint in dir, ascending (malloc'd). */
int run_checkpoints(const char *dir, long **steps, int *n, BbError *err);

#endif
