/* The training loop (spec/training.md): the batch is split into a fixed number of
 * chunks; each chunk's forward/backward runs on one thread with its own Workspace and
 * writes its own gradient buffer; the buffers are summed in chunk order. So the numbers
 * depend on the seed and the configuration, never on the thread count. */
#include "bbsim/train.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bbsim/blas.h"
#include "bbsim/checkpoint.h"
#include "bbsim/run.h"

/* ------------------------------------------------------------ schedule */

/* Checkpoint steps: 0, every, 2 every, ... up to `dense`, then each next one at
 * max(last + every, last x growth) rounded up to a multiple of every. A pure function
 * of the configuration, so resumed and uninterrupted runs save the same steps. */
static int ckpt_scheduled(const TrainConfig *c, long step) {
    if (step % c->ckpt_every) return 0;
    if (step <= c->ckpt_dense || c->ckpt_growth <= 1.0) return 1;
    long s = c->ckpt_dense - c->ckpt_dense % c->ckpt_every;
    while (s < step) {
        long next = (long)ceil((double)s * c->ckpt_growth);
        if (next < s + c->ckpt_every) next = s + c->ckpt_every;
        next = (next + c->ckpt_every - 1) / c->ckpt_every * c->ckpt_every;
        s = next;
    }
    return s == step;
}

/* ------------------------------------------------------------ signals */

static volatile sig_atomic_t g_interrupted = 0;
static void on_signal(int sig) {
    (void)sig;
    g_interrupted = 1;
}

/* ------------------------------------------------------------ the loop */

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
};

Trainer *trainer_alloc(const Task *task, const Model *model, int batch, int chunks, int eval_batch) {
    Trainer *tr = bb_calloc(1, sizeof *tr);
    tr->task = task;
    tr->model = model;
    tr->nchunk = chunks > 0 ? chunks : 8; /* a function of the configuration only */
    if (tr->nchunk > batch) tr->nchunk = batch;
    tr->Bc = (batch + tr->nchunk - 1) / tr->nchunk;
    tr->nws = bb_threads() < tr->nchunk ? bb_threads() : tr->nchunk;
    tr->ws = bb_calloc((size_t)tr->nws, sizeof *tr->ws);
    for (int i = 0; i < tr->nws; i++) tr->ws[i] = workspace_alloc(model, tr->Bc, task->cfg.seq);
    tr->maxchunks = tr->nchunk;
    if (eval_batch > 0) { /* the evaluation batch goes through the same workspaces */
        int need = (eval_batch + tr->Bc - 1) / tr->Bc;
        if (need > tr->maxchunks) tr->maxchunks = need;
    }
    tr->chunk_grads = bb_malloc((size_t)tr->nchunk * model->nparams * sizeof(float));
    tr->chunk_loss = bb_calloc((size_t)tr->maxchunks, sizeof(LossSums));
    return tr;
}

void trainer_free(Trainer *tr) {
    if (!tr) return;
    for (int i = 0; i < tr->nws; i++) workspace_free(tr->ws[i]);
    free(tr->ws);
    free(tr->chunk_grads);
    free(tr->chunk_loss);
    free(tr);
}

size_t trainer_bytes(const Trainer *tr) {
    size_t b = (size_t)tr->nchunk * tr->model->nparams * sizeof(float);
    for (int i = 0; i < tr->nws; i++) b += workspace_bytes(tr->ws[i]);
    return b;
}

int trainer_threads(const Trainer *tr) { return tr->nws; }
float *trainer_grads(Trainer *tr) { return tr->chunk_grads; }

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
    if (backward && nchunk > 1) {
        float *g = tr->chunk_grads;
#pragma omp parallel for schedule(static) num_threads(tr->nws)
        for (size_t i = 0; i < np; i++) {
            float s = g[i];
            for (int c = 1; c < nchunk; c++) s += g[(size_t)c * np + i];
            g[i] = s;
        }
    }
}

double trainer_step(Trainer *tr, const int *inputs, const int *targets, int B, double *backcopy, double *bigram) {
    LossSums ls;
    trainer_pass(tr, inputs, targets, B, 1, &ls);
    if (backcopy) *backcopy = ls.bc_n ? ls.bc_sum / (double)ls.bc_n : NAN;
    if (bigram) *bigram = ls.bg_n ? ls.bg_sum / (double)ls.bg_n : NAN;
    return ls.loss_sum / ((double)B * tr->task->cfg.seq);
}

static double mean_or_nan(double s, long n) { return n ? s / (double)n : NAN; }

static void progress(const TrainConfig *c, long step, double loss, double bc, double bg, double ms,
                     int tty, double elapsed_steps_ms) {
    (void)elapsed_steps_ms;
    double eta = ms * (double)(c->steps - step) / 1000.0;
    if (tty) {
        int width = 24, filled = (int)((double)width * (double)step / (double)(c->steps ? c->steps : 1));
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] step %ld/%ld  loss %.4f  backcopy %.4f  bigram %.4f  %.1f ms/step  ETA %.0fs   ",
                bar, step, c->steps, loss, bc, bg, ms, eta);
        if (step == c->steps) fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %ld/%ld loss %.4f backcopy %.4f bigram %.4f %.1f ms/step ETA %.0fs\n", step, c->steps,
                loss, bc, bg, ms, eta);
    }
}

static const char *METRICS_COLUMNS =
    "step\tloss\tbackcopy_loss\tbigram_loss\tgrad_norm\tlr\tms_per_step\teval_loss\teval_backcopy_loss\teval_bigram_loss\n";

/* Keep the rows of metrics.tsv with step <= upto (after a resume), atomically. */
static int metrics_truncate(const char *path, long upto, BbError *err) {
    FILE *in = fopen(path, "r");
    if (!in) return BB_OK; /* none yet */
    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) { fclose(in); return rc; }
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        char *end;
        long s = strtol(line, &end, 10);
        int complete = strchr(line, '\n') != NULL; /* a crash may have cut the last row */
        if (complete && (line[0] == '#' || end == line || s <= upto)) fputs(line, af.f);
    }
    fclose(in);
    return afile_commit(&af, err);
}

static int write_config_file(const TrainConfig *c, BbError *err) {
    char path[BB_STRLEN + 16];
    snprintf(path, sizeof path, "%s/config.txt", c->out);
    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) return rc;
    bb_write_provenance(af.f);
    blas_describe(af.f, "# ");
    train_config_write(af.f, c, 1);
    return afile_commit(&af, err);
}

int train_run(TrainConfig *c, BbError *err) {
    Task task;
    Model model;
    Optim opt;
    long step = 0;
    int rc;
    if (c->threads > 0) omp_set_num_threads(c->threads);
    blas_set_threads(1);
    if (c->resume[0]) {
        /* continue the run in c->resume from its last checkpoint; only steps, threads and
         * quiet come from the command line (steps / eval_every < 0: not given, keep the
         * run's own), the rest from the checkpoint */
        long *steps;
        int n;
        if ((rc = run_checkpoints(c->resume, &steps, &n, err))) return rc;
        char path[BB_STRLEN + 64];
        ckpt_path(path, sizeof path, c->resume, steps[n - 1]);
        free(steps);
        TrainConfig saved;
        if ((rc = ckpt_read(path, &saved, &task, &model, &opt, &step, err))) return rc;
        if (c->steps >= 0) saved.steps = c->steps; /* < 0: keep the run's own */
        saved.threads = c->threads;
        saved.quiet = c->quiet;
        if (c->eval_every >= 0) saved.eval_every = c->eval_every;
        snprintf(saved.out, sizeof saved.out, "%s", c->resume);
        snprintf(saved.resume, sizeof saved.resume, "%s", c->resume);
        *c = saved;
        if (step > c->steps) {
            rc = bb_fail(err, BB_EINPUT, "%s: last checkpoint is at step %ld, beyond --steps %ld", c->out, step,
                         c->steps);
            goto out_model;
        }
    } else {
        if ((rc = task_build(&task, &c->task, err))) return rc;
        ModelConfig mc = c->model;
        train_model_config_from_task(&mc, &task);
        if ((rc = model_build(&model, &mc, err))) {
            task_free(&task);
            return rc;
        }
        optim_alloc(&opt, &c->optim, model.nparams);
    }
    char ckdir[BB_STRLEN + 16], mpath[BB_STRLEN + 16];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", c->out);
    snprintf(mpath, sizeof mpath, "%s/metrics.tsv", c->out);
    if (!c->resume[0] && access(mpath, F_OK) == 0) {
        rc = bb_fail(err, BB_EINPUT,
                     "%s already holds a run (metrics.tsv exists): continue it with --resume %s, or choose another --out",
                     c->out, c->out);
        goto out_model;
    }
    if ((rc = bb_mkdirs(ckdir, err)) || (rc = write_config_file(c, err))) goto out_model;
    if (c->resume[0] && (rc = metrics_truncate(mpath, step, err))) goto out_model;

    const int T = c->task.seq;
    const int eval_B = c->eval_every > 0 ? c->task.eval_batch : 0;
    Trainer *tr = trainer_alloc(&task, &model, c->batch, c->chunks, eval_B);
    int *inputs = bb_malloc((size_t)c->batch * T * sizeof(int));
    int *targets = bb_malloc((size_t)c->batch * T * sizeof(int));
    int *eval_in = NULL, *eval_tg = NULL;
    if (eval_B) {
        eval_in = bb_malloc((size_t)eval_B * T * sizeof(int));
        eval_tg = bb_malloc((size_t)eval_B * T * sizeof(int));
        task_eval_batch(&task, eval_B, eval_in, eval_tg);
    }

    FILE *metrics = NULL;
    {
        FILE *probe = fopen(mpath, "r");
        int exists = probe != NULL;
        if (probe) fclose(probe);
        metrics = fopen(mpath, "a");
        if (!metrics) {
            rc = bb_fail(err, BB_EIO, "cannot open %s: %s", mpath, strerror(errno));
            goto out_all;
        }
        if (!exists) {
            bb_write_provenance(metrics);
            fputs(METRICS_COLUMNS, metrics);
        }
    }
    char path[BB_STRLEN + 64];
    if (step == 0) {
        ckpt_path(path, sizeof path, c->out, 0);
        if ((rc = ckpt_write(path, c, &model, &opt, 0, err))) {
            fclose(metrics);
            goto out_all;
        }
    }

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    const int tty = isatty(fileno(stderr)) && !c->quiet;
    const long plain_every = c->steps >= 20 ? c->steps / 20 : 1;
    long last_ckpt = step;
    double ms_avg = 0;
    rc = BB_OK;
    while (step < c->steps) {
        double t0 = bb_now();
        task_batch(&task, step, c->batch, inputs, targets);
        LossSums ls;
        trainer_pass(tr, inputs, targets, c->batch, 1, &ls);
        float *grads = tr->chunk_grads;
        double loss = ls.loss_sum / ((double)c->batch * T);
        double gnorm = grad_norm(grads, model.nparams);
        if (!isfinite(loss) || !isfinite(gnorm)) {
            rc = bb_fail(err, BB_ENUM,
                         "non-finite %s at step %ld (loss %g, gradient norm %g); stopped. The last good "
                         "checkpoint is step %ld in %s",
                         isfinite(loss) ? "gradient" : "loss", step + 1, loss, gnorm, last_ckpt, ckdir);
            break;
        }
        if (c->optim.clip > 0 && gnorm > c->optim.clip) {
            float scale = (float)(c->optim.clip / gnorm);
            for (size_t i = 0; i < model.nparams; i++) grads[i] *= scale;
        }
        double lr = optim_lr(&c->optim, opt.t, c->steps);
        optim_step(&opt, model.params, grads, lr);
        step++;
        double ms = 1000.0 * (bb_now() - t0);
        ms_avg = step == 1 ? ms : 0.9 * ms_avg + 0.1 * ms;
        double bc = mean_or_nan(ls.bc_sum, ls.bc_n), bg = mean_or_nan(ls.bg_sum, ls.bg_n);
        double row[9] = {loss, bc, bg, gnorm, lr, ms, NAN, NAN, NAN};
        if (eval_B && step % c->eval_every == 0) {
            LossSums es;
            trainer_pass(tr, eval_in, eval_tg, eval_B, 0, &es);
            row[6] = es.loss_sum / ((double)eval_B * T);
            row[7] = mean_or_nan(es.bc_sum, es.bc_n);
            row[8] = mean_or_nan(es.bg_sum, es.bg_n);
        }
        fprintf(metrics, "%ld", step);
        for (int k = 0; k < 9; k++) {
            fputc('\t', metrics);
            bb_put_num(metrics, k == 5 ? round(ms * 100) / 100 : row[k]); /* ms/step: 0.01 ms is plenty */
        }
        fputc('\n', metrics);
        if (!c->quiet && (tty || step % plain_every == 0 || step == c->steps))
            progress(c, step, loss, bc, bg, ms_avg, tty, 0);
        int interrupted = g_interrupted;
        if (ckpt_scheduled(c, step) || step == c->steps || interrupted) {
            if (fflush(metrics) != 0 || ferror(metrics)) {
                rc = bb_fail(err, BB_EIO, "cannot write %s: %s", mpath, strerror(errno));
                break;
            }
            ckpt_path(path, sizeof path, c->out, step);
            if ((rc = ckpt_write(path, c, &model, &opt, step, err))) break;
            last_ckpt = step;
        }
        if (interrupted) {
            if (tty) fputc('\n', stderr);
            rc = bb_fail(err, BB_EINTR,
                         "interrupted at step %ld; checkpoint saved to %s; continue with: bbsim train --resume %s "
                         "--steps %ld",
                         step, path, c->out, c->steps);
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (fclose(metrics) != 0 && rc == BB_OK) rc = bb_fail(err, BB_EIO, "cannot write %s: %s", mpath, strerror(errno));
out_all:
    free(inputs);
    free(targets);
    free(eval_in);
    free(eval_tg);
    trainer_free(tr);
out_model:
    optim_free(&opt);
    model_free(&model);
    task_free(&task);
    return rc;
}
