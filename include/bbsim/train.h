/* The training loop and its step engine. A run directory holds config.txt (the resolved
 * configuration, train_config.h), metrics.tsv, ckpt/step_NNNNNNNNN.bbck checkpoints and
 * ckpt/resume.bbck, the full state of the latest (checkpoint.h); run.h loads a trained
 * model back. */
#ifndef BBSIM_TRAIN_H
#define BBSIM_TRAIN_H

#include "bbsim/train_config.h"

/* Train as configured; writes the run directory. Returns BB_EINTR after a Ctrl-C (a
 * checkpoint was saved), BB_ENUM on a non-finite loss. */
int train_run(TrainConfig *c, BbError *err);

/* 1 when step (0 < step) is a scheduled checkpoint of c (--ckpt): a pure function of the
 * configuration, so resumed and uninterrupted runs save the same steps. */
int train_ckpt_scheduled(const TrainConfig *c, long step);

/* What a run of c costs, from its configuration alone (bbsim train --plan, the plan
 * of make repro): nothing is written, no step is taken. FLOPs are model_forward_flops's
 * count (a backward is two forwards), the FLOP bound's numerator. */
typedef struct {
    long steps, ckpts;       /* training steps; checkpoints saved (step 0 and the last included) */
    double train_flop;       /* steps x (forward + backward) of one batch */
    double eval_flop;        /* the evaluation batch's forwards, every eval_every steps */
    double step_flop;        /* one training step */
    size_t nparams;          /* parameters */
    double bytes;            /* train_footprint: what the run allocates */
} TrainPlan;
int train_plan(const TrainConfig *c, TrainPlan *p, BbError *err);

/* The bytes a run of c allocates (docs/method.md#memory), mc its model resolved for the
 * task: the parameters and the optimizer moments (with_state), and what the loop takes:
 * the per-chunk gradient buffers, one workspace (activations and their gradients, a chunk
 * of *seqs sequences; seqs may be NULL) per thread, the training and evaluation batches.
 * train_run refuses a run that needs more than the process may take; --plan prints it. */
double train_footprint(const TrainConfig *c, const ModelConfig *mc, int with_state, int *seqs);

/* The step engine that train_run (and bench) use: the batch is split into a fixed
 * number of chunks (chunks, 0 = trainer_chunks_auto); one Workspace per thread; each
 * chunk has its own gradient buffer; buffers are summed in chunk order. */
typedef struct Trainer Trainer;
/* The default number of chunks: about BB_CHUNK_TOKENS positions per chunk, at least 1
 * and at most min(batch, 8). A function of the configuration only (never of threads):
 * fewer chunks mean larger GEMMs and less gradient summing; 256 positions keep two
 * threads busy from batch x seq = 512 up (paper_repro/README.md#profile). */
#define BB_CHUNK_TOKENS 256
int trainer_chunks_auto(int batch, int seq);
Trainer *trainer_alloc(const Task *task, const Model *model, int batch, int chunks, int eval_batch);
void trainer_free(Trainer *tr);
/* Forward + backward of one batch; returns the mean loss; the gradient of the mean loss
 * is then in trainer_grads(tr) (nparams). backcopy/bigram (optional): mean losses on
 * trigger / non-trigger positions. */
double trainer_step(Trainer *tr, const int *inputs, const int *targets, int B, double *backcopy, double *bigram);
/* Forward only (the evaluation batch, any size): mean losses as trainer_step. */
double trainer_eval(Trainer *tr, const int *inputs, const int *targets, int B, double *backcopy, double *bigram);
float *trainer_grads(Trainer *tr);
double trainer_grad_norm(const Trainer *tr); /* |trainer_grads| of the last trainer_step */
size_t trainer_bytes(const Trainer *tr);
int trainer_threads(const Trainer *tr);

#endif
