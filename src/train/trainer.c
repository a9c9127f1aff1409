/* The step engine (docs/method.md#training): the batch is split into a fixed number of
 * chunks; each chunk's forward/backward runs on one thread with its own Workspace and
 * writes its own gradient buffer; the buffers are summed in chunk order. So the numbers
 * depend on the seed and the configuration, never on the thread count. train_run (so every
 * run, the simplified model's too) and bench step through it; train_footprint counts what
 * it allocates. */
#include "bbsim/train.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double loss_sum, bc_sum, bg_sum; /* summed token losses: all, trigger, non-trigger */
    long bc_n, bg_n;
} LossSums;

/* Sum ws->losses by position type for sequences [0, B) of the last forward. */
static void loss_sums(const Task *t, const Workspace *ws, const int *inputs, int B, LossSums *s) {
    const int T = ws->T;
    memset(s, 0, sizeof *s);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            double l = ws->losses[b * T + i];
            s->loss_sum += l;
            if (task_is_trigger_pos(t, inputs + (size_t)b * T, i)) {
                s->bc_sum += l;
                s->bc_n++;
            } else {
                s->bg_sum += l;
                s->bg_n++;
            }
        }
}

struct Trainer {
    const Task *task;
    const Model *model;
    int nchunk, Bc;        /* chunks and the largest chunk size */
    int nws;               /* workspaces (threads) */
    Workspace **ws;
    float *chunk_grads;    /* (nchunk, nparams); the summed gradient ends in chunk 0's */
    LossSums *chunk_loss;  /* (max chunks) */
    int maxchunks;
    double grad_norm;      /* of the last trainer_step's summed gradient */
    double *norm_part;     /* grad_norm_sum's block sums */
};

int trainer_chunks_auto(int batch, int seq) {
    long n = (long)batch * seq / BB_CHUNK_TOKENS;
    const int most = batch < 8 ? batch : 8;
    return n < 1 ? 1 : n > most ? most : (int)n;
}

/* How a batch of `batch` sequences is cut: nchunk chunks (chunks, 0 = trainer_chunks_auto;
 * never more than the sequences) of at most Bc sequences, one workspace per thread (nws,
 * never more than the chunks). trainer_alloc allocates this, train_footprint counts it. */
typedef struct {
    int nchunk, Bc, nws;
} Chunking;

static Chunking chunking(int batch, int seq, int chunks) {
    Chunking k;
    k.nchunk = chunks > 0 ? chunks : trainer_chunks_auto(batch, seq);
    if (k.nchunk > batch) k.nchunk = batch;
    k.Bc = (batch + k.nchunk - 1) / k.nchunk;
    k.nws = bb_threads() < k.nchunk ? bb_threads() : k.nchunk;
    return k;
}

Trainer *trainer_alloc(const Task *task, const Model *model, int batch, int chunks, int eval_batch) {
    Trainer *tr = bb_calloc(1, sizeof *tr);
    tr->task = task;
    tr->model = model;
    const Chunking k = chunking(batch, task->cfg.seq, chunks);
    tr->nchunk = k.nchunk;
    tr->Bc = k.Bc;
    tr->nws = k.nws;
    tr->ws = bb_calloc((size_t)tr->nws, sizeof *tr->ws);
    for (int i = 0; i < tr->nws; i++) tr->ws[i] = workspace_alloc(model, tr->Bc, task->cfg.seq);
    tr->maxchunks = tr->nchunk;
    if (eval_batch > 0) { /* the evaluation batch goes through the same workspaces */
        int need = (eval_batch + tr->Bc - 1) / tr->Bc;
        if (need > tr->maxchunks) tr->maxchunks = need;
    }
    tr->chunk_grads = bb_malloc((size_t)tr->nchunk * model->nparams * sizeof(float));
    tr->chunk_loss = bb_calloc((size_t)tr->maxchunks, sizeof(LossSums));
    tr->norm_part = bb_malloc(grad_norm_blocks(model->nparams) * sizeof(double));
    return tr;
}

void trainer_free(Trainer *tr) {
    if (!tr) return;
    for (int i = 0; i < tr->nws; i++) workspace_free(tr->ws[i]);
    free(tr->ws);
    free(tr->chunk_grads);
    free(tr->chunk_loss);
    free(tr->norm_part);
    free(tr);
}

size_t trainer_bytes(const Trainer *tr) {
    size_t b = (size_t)tr->nchunk * tr->model->nparams * sizeof(float);
    for (int i = 0; i < tr->nws; i++) b += workspace_bytes(tr->ws[i]);
    return b;
}

int trainer_threads(const Trainer *tr) { return tr->nws; }
float *trainer_grads(Trainer *tr) { return tr->chunk_grads; }
double trainer_grad_norm(const Trainer *tr) { return tr->grad_norm; }

static void chunk_range(int B, int nchunk, int c, int *b0, int *b1) {
    *b0 = (int)((long)B * c / nchunk);
    *b1 = (int)((long)B * (c + 1) / nchunk);
}

/* Forward (and backward when grads wanted) of a whole batch; summed losses in *tot.
 * Gradients land in chunk_grads[0] (the chunk sum in chunk order). */
static void trainer_pass(Trainer *tr, const int *inputs, const int *targets, int B, int backward, LossSums *tot) {
    const int T = tr->task->cfg.seq;
    const size_t np = tr->model->nparams;
    /* training batches use the fixed chunking; other batches (evaluation) are cut into
     * pieces of the workspace size */
    const int nchunk = backward ? (B < tr->nchunk ? B : tr->nchunk) : (B + tr->Bc - 1) / tr->Bc;
    BB_CHECK(nchunk <= tr->maxchunks && (B + nchunk - 1) / nchunk <= tr->Bc);
    const float dloss = 1.0f / ((float)B * (float)T);
#pragma omp parallel for schedule(dynamic, 1) num_threads(tr->nws)
    for (int c = 0; c < nchunk; c++) {
        int b0, b1;
        chunk_range(B, nchunk, c, &b0, &b1);
        Workspace *ws = tr->ws[omp_get_thread_num()];
        const int *in = inputs + (size_t)b0 * T;
        model_forward(tr->model, ws, in, targets + (size_t)b0 * T, b1 - b0, NULL);
        loss_sums(tr->task, ws, in, b1 - b0, &tr->chunk_loss[c]);
        if (backward) {
            float *g = tr->chunk_grads + (size_t)c * np;
            memset(g, 0, np * sizeof(float));
            model_backward(tr->model, ws, g, dloss);
        }
    }
    memset(tot, 0, sizeof *tot);
    for (int c = 0; c < nchunk; c++) { /* fixed order */
        tot->loss_sum += tr->chunk_loss[c].loss_sum;
        tot->bc_sum += tr->chunk_loss[c].bc_sum;
        tot->bg_sum += tr->chunk_loss[c].bg_sum;
        tot->bc_n += tr->chunk_loss[c].bc_n;
        tot->bg_n += tr->chunk_loss[c].bg_n;
    }
    if (backward) tr->grad_norm = grad_norm_sum(tr->chunk_grads, nchunk, np, np, tr->norm_part);
}

/* Mean losses of a summed pass: overall (per position), backcopy and bigram. */
static double pass_means(const LossSums *ls, int B, int T, double *backcopy, double *bigram) {
    if (backcopy) *backcopy = ls->bc_n ? ls->bc_sum / (double)ls->bc_n : NAN;
    if (bigram) *bigram = ls->bg_n ? ls->bg_sum / (double)ls->bg_n : NAN;
    return ls->loss_sum / ((double)B * T);
}

double trainer_step(Trainer *tr, const int *inputs, const int *targets, int B, double *backcopy, double *bigram) {
    LossSums ls;
    trainer_pass(tr, inputs, targets, B, 1, &ls);
    return pass_means(&ls, B, tr->task->cfg.seq, backcopy, bigram);
}

double trainer_eval(Trainer *tr, const int *inputs, const int *targets, int B, double *backcopy, double *bigram) {
    LossSums ls;
    trainer_pass(tr, inputs, targets, B, 0, &ls);
    return pass_means(&ls, B, tr->task->cfg.seq, backcopy, bigram);
}

double train_footprint(const TrainConfig *c, const ModelConfig *mc, int with_state, int *seqs) {
    const double n = (double)model_param_count(mc), T = c->task.seq;
    const Chunking k = chunking(c->batch, c->task.seq, c->chunks);
    if (seqs) *seqs = k.Bc;
    const double moments = c->optim.kind == OPTIM_SGD ? 1 : 2;
    const double eval_B = c->eval_every > 0 ? c->task.eval_batch : 0;
    return (with_state ? (1 + moments) * n * sizeof(float) : 0) + (double)k.nchunk * n * sizeof(float) +
           (double)k.nws * (double)workspace_bytes_for(mc, k.Bc, c->task.seq) +
           2.0 * ((double)c->batch + eval_B) * T * sizeof(int);
}
