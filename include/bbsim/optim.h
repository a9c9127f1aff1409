/* Optimizers of docs/method.md#training over flat float buffers: AdamW (decoupled decay),
 * SGD with momentum (L2 decay in the gradient) and Adam (L2 decay in the gradient),
 * with optional linear warm-up, cosine decay and gradient-norm clipping. */
#ifndef BBSIM_OPTIM_H
#define BBSIM_OPTIM_H

#include <stddef.h>
#include "bbsim/common.h"

typedef enum { OPTIM_ADAMW, OPTIM_SGD, OPTIM_ADAM } OptimKind;
extern const char *const optim_kind_names[]; /* "adamw","sgd","adam",NULL */

typedef struct OptimConfig {
    int kind;
    double lr, wd, beta1, beta2, eps, momentum;
    long warmup;   /* linear warm-up steps (0 = off) */
    int cosine;    /* cosine decay to 0 over the run (off) */
    double clip;   /* gradient-norm clipping threshold (0 = off) */
} OptimConfig;

/* Paper defaults: adamw, lr 3e-4, b1 0.9, b2 0.99, eps 1e-8, wd 1e-4, momentum 0.9. */
void optim_config_default(OptimConfig *c);
#define OPTIM_NOPTS 10
int optim_opts(OptimConfig *c, Opt *out);

typedef struct Optim {
    OptimConfig cfg;
    size_t n;
    long t;       /* updates done */
    float *m;     /* (n) Adam first moment, or the SGD momentum buffer */
    float *v;     /* (n) Adam second moment (NULL for SGD) */
} Optim;

void optim_alloc(Optim *o, const OptimConfig *cfg, size_t n);
void optim_free(Optim *o);
/* Learning rate of update number t+1 (t = updates done) in a run of `total` steps. */
double optim_lr(const OptimConfig *cfg, long t, long total);
/* One update of params (n) with grads (n) at learning rate lr. grads is not modified
 * (L2 decay is added on the fly). Parallel over elements: deterministic. */
void optim_step(Optim *o, float *params, const float *grads, double lr);
/* g += g + stride + g + 2 stride ... (nsum buffers of n floats, summed in that order, in
 * place into the first) and return the norm of the sum: one parallel pass over blocks of
 * BB_NORM_BLOCK values, the same bits for any thread count. part: scratch of
 * grad_norm_blocks(n) doubles (the block sums; allocated once by the caller). */
#define BB_NORM_BLOCK 8192
size_t grad_norm_blocks(size_t n);
double grad_norm_sum(float *g, int nsum, size_t stride, size_t n, double *part);

#endif
