/* Optimizers (docs/method.md#training): AdamW, SGD with momentum, Adam; learning-rate
 * schedule; gradient norm. All updates are elementwise, so the OpenMP split over
 * elements is deterministic. */
#include "bbsim/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const optim_kind_names[] = {"adamw", "sgd", "adam", NULL};

void optim_config_default(OptimConfig *c) {
    *c = (OptimConfig){.kind = OPTIM_ADAMW, .lr = 3e-4, .wd = 1e-4, .beta1 = 0.9, .beta2 = 0.99,
                       .eps = 1e-8, .momentum = 0.9, .warmup = 0, .cosine = 0, .clip = 0};
}

int optim_opts(OptimConfig *c, Opt *o) {
    int k = 0;
    o[k++] = (Opt){"optim", OPT_CHOICE, &c->kind, 0, 0, optim_kind_names, "optimizer"};
    o[k++] = (Opt){"lr", OPT_DOUBLE, &c->lr, 0, 100, NULL, "learning rate"};
    o[k++] = (Opt){"wd", OPT_DOUBLE, &c->wd, 0, 100, NULL, "weight decay (decoupled for adamw, L2 for sgd/adam)"};
    o[k++] = (Opt){"beta1", OPT_DOUBLE, &c->beta1, 0, 0.999999, NULL, "Adam beta1"};
    o[k++] = (Opt){"beta2", OPT_DOUBLE, &c->beta2, 0, 0.999999999, NULL, "Adam beta2"};
    o[k++] = (Opt){"eps", OPT_DOUBLE, &c->eps, 1e-30, 1, NULL, "Adam epsilon"};
    o[k++] = (Opt){"momentum", OPT_DOUBLE, &c->momentum, 0, 0.999999, NULL, "SGD momentum"};
    o[k++] = (Opt){"warmup", OPT_LONG, &c->warmup, 0, 1e12, NULL, "linear warm-up steps (0 = off)"};
    o[k++] = (Opt){"cosine", OPT_FLAG, &c->cosine, 0, 1, NULL, "cosine learning-rate decay to 0"};
    o[k++] = (Opt){"clip", OPT_DOUBLE, &c->clip, 0, 1e30, NULL, "clip the gradient norm to this (0 = off)"};
    return k;
}

void optim_alloc(Optim *o, const OptimConfig *cfg, size_t n) {
    o->cfg = *cfg;
    o->n = n;
    o->t = 0;
    o->m = bb_calloc(n, sizeof(float));
    o->v = cfg->kind == OPTIM_SGD ? NULL : bb_calloc(n, sizeof(float));
}

void optim_free(Optim *o) {
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

double optim_lr(const OptimConfig *cfg, long t, long total) {
    double lr = cfg->lr;
    if (cfg->warmup > 0 && t < cfg->warmup) return lr * (double)(t + 1) / (double)cfg->warmup;
    if (cfg->cosine && total > cfg->warmup) {
        double progress = (double)(t - cfg->warmup) / (double)(total - cfg->warmup);
        lr *= 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    }
    return lr;
}

void optim_step(Optim *o, float *params, const float *grads, double lr) {
    const OptimConfig *c = &o->cfg;
    const long n = (long)o->n;
    o->t++;
    if (c->kind == OPTIM_SGD) {
        /* g <- g + wd theta; buf <- mu buf + g (buf = g at the first step); theta <- theta - lr buf */
        const float mu = (float)c->momentum, wd = (float)c->wd, flr = (float)lr;
        const int first = o->t == 1;
        float *buf = o->m;
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) {
            float g = grads[i] + wd * params[i];
            buf[i] = first ? g : mu * buf[i] + g;
            params[i] -= flr * buf[i];
        }
        return;
    }
    /* Adam(W): m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
     * theta <- theta - lr mhat / (sqrt(vhat) + eps), mhat = m/(1-b1^t), vhat = v/(1-b2^t).
     * adamw: theta <- theta (1 - lr wd) first (decoupled); adam: g <- g + wd theta. */
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    const float bc1 = (float)(1.0 - pow(c->beta1, (double)o->t));
    const float bc2 = (float)(1.0 - pow(c->beta2, (double)o->t));
    const float flr = (float)lr;
    const float decay = c->kind == OPTIM_ADAMW ? (float)(1.0 - lr * c->wd) : 1.0f;
    const float l2 = c->kind == OPTIM_ADAM ? (float)c->wd : 0.0f;
    float *m = o->m, *v = o->v;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float g = grads[i] + l2 * params[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        float mhat = m[i] / bc1, vhat = v[i] / bc2;
        params[i] = params[i] * decay - flr * mhat / (sqrtf(vhat) + eps);
    }
}

/* Sum of squares of g[i0..i1) in double, in 8 interleaved lanes added in a fixed order:
 * vectorisable, and the same bits however the blocks are spread over threads. */
static double sumsq_block(const float *g, size_t i0, size_t i1) {
    double lane[8] = {0};
    size_t i = i0;
    for (; i + 8 <= i1; i += 8)
        for (int k = 0; k < 8; k++) lane[k] += (double)g[i + k] * g[i + k];
    for (int k = 0; i < i1; i++, k++) lane[k] += (double)g[i] * g[i];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

size_t grad_norm_blocks(size_t n) { return n ? (n + BB_NORM_BLOCK - 1) / BB_NORM_BLOCK : 1; }

double grad_norm_sum(float *g, int nsum, size_t stride, size_t n, double *part) {
    const size_t nblk = (n + BB_NORM_BLOCK - 1) / BB_NORM_BLOCK;
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < nblk; k++) {
        const size_t i0 = k * BB_NORM_BLOCK, i1 = i0 + BB_NORM_BLOCK < n ? i0 + BB_NORM_BLOCK : n;
        for (int c = 1; c < nsum; c++) { /* fixed order: g += buffer 1, 2, ... */
            const float *gc = g + (size_t)c * stride;
            for (size_t i = i0; i < i1; i++) g[i] += gc[i];
        }
        part[k] = sumsq_block(g, i0, i1);
    }
    double s = 0;
    for (size_t k = 0; k < nblk; k++) s += part[k];
    return sqrt(s);
}
