/* The training loop (docs/method.md#training): open the run (a fresh state or --resume,
 * resume.c), then one update per step through the step engine (trainer.c), a metrics.tsv
 * row each, a checkpoint on the schedule; Ctrl-C and SIGTERM stop it at the next
 * checkpoint; close. */
#include "train_internal.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bbsim/blas.h"

/* ------------------------------------------------------------ schedule */

/* Checkpoint steps: 0, every, 2 every, ... up to `dense`, then each next one at
 * max(last + every, last x growth) rounded up to a multiple of every. A pure function
 * of the configuration, so resumed and uninterrupted runs save the same steps. */
int train_ckpt_scheduled(const TrainConfig *c, long step) {
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

/* Ctrl-C and SIGTERM only set a flag, from before the first byte is written: the run stops
 * at the next checkpoint (step 0 included), never in the middle of one. A file size limit
 * (ulimit -f) makes writes fail with EFBIG, reported, instead of killing the process
 * halfway through a file. */
static volatile sig_atomic_t g_interrupted = 0;
static void on_signal(int sig) {
    (void)sig;
    g_interrupted = 1;
}

/* The handlers train_run replaced, put back at its end. */
typedef struct {
    struct sigaction old_int, old_term, old_xfsz;
} Signals;

static void signals_catch(Signals *sg) {
    struct sigaction ign = {0}, sa = {0};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &sg->old_xfsz);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &sg->old_int);
    sigaction(SIGTERM, &sa, &sg->old_term);
}

static void signals_release(const Signals *sg) {
    sigaction(SIGINT, &sg->old_int, NULL);
    sigaction(SIGTERM, &sg->old_term, NULL);
    sigaction(SIGXFSZ, &sg->old_xfsz, NULL);
}

/* ------------------------------------------------------------ messages */

/* After a failed write: where the run stands and how to go on. */
static int write_failed(BbError *err, int rc, const TrainConfig *c, long last_ckpt) {
    char inner[sizeof err->msg];
    snprintf(inner, sizeof inner, "%s", err->msg);
    if (last_ckpt < 0)
        return bb_fail(err, rc, "%s. No checkpoint was saved: run the same command again (the run directory %s "
                                "is taken over)", inner, c->out);
    return bb_fail(err, rc, "%s. The last good checkpoint is step %ld; continue with: bbsim train --resume %s",
                   inner, last_ckpt, c->out);
}

/* After a Ctrl-C or SIGTERM, the checkpoint of `step` saved to path: how to go on. */
static int interrupted_at(BbError *err, long step, const char *path, const TrainConfig *c) {
    return bb_fail(err, BB_EINTR,
                   "interrupted at step %ld; checkpoint saved to %s; continue with: bbsim train --resume %s "
                   "--steps %ld",
                   step, path, c->out, c->steps);
}

/* The progress bar (a terminal) or line: the batch losses, ms/step (smoothed) and the ETA. */
static void progress(const TrainConfig *c, long step, double loss, double bc, double bg, double ms, int tty) {
    double eta = ms * (double)(c->steps - step) / 1000.0;
    if (tty) {
        int width = 24, filled = (int)((double)width * (double)step / (double)(c->steps ? c->steps : 1));
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        bb_say(stderr, "\r[%s] step %ld/%ld  loss %.4f  backcopy %.4f  bigram %.4f  %.1f ms/step  ETA %.0fs   ",
                bar, step, c->steps, loss, bc, bg, ms, eta);
        if (step == c->steps) fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %ld/%ld loss %.4f backcopy %.4f bigram %.4f %.1f ms/step ETA %.0fs\n", step, c->steps,
                loss, bc, bg, ms, eta);
    }
}

/* ------------------------------------------------------------ open and close */

/* What train_run holds from open to close: the run's state and directory (resume.c), and
 * the signal handlers it replaced. */
typedef struct {
    TrainState state;
    Signals signals;
} TrainRun;

/* The checkpoint of step 0 (a fresh run, or a resume of a run stopped there). */
static int first_checkpoint(TrainState *s, const TrainConfig *c, BbError *err) {
    char path[BB_STRLEN + 64];
    int rc = checkpoint_save(c, &s->model, &s->opt, 0, 1, path, sizeof path, err);
    if (rc) {
        /* without its full state the step-0 file is no run to resume: leave the
         * directory not started (run_dir_state), so the same command runs again */
        if (!c->resume[0]) unlink(path);
        return write_failed(err, rc, c, c->resume[0] ? 0 : -1);
    }
    if (g_interrupted) return interrupted_at(err, 0, path, c); /* during it; it is whole */
    return BB_OK;
}

/* Threads and BLAS, the signal handlers, the state (fresh or --resume), the run directory,
 * the checkpoint of step 0. train_close releases what it took, failed or not. */
static int train_open(TrainRun *r, TrainConfig *c, BbError *err) {
    if (c->threads > 0) omp_set_num_threads(c->threads);
    blas_set_threads(1);
    blas_warm(bb_threads()); /* blas.h: the library's state after small first calls */
    signals_catch(&r->signals);
    TrainState *s = &r->state;
    int rc = state_open(s, c, err);
    if (!rc && g_interrupted) /* before anything was written */
        rc = bb_fail(err, BB_EINTR,
                     "interrupted before the first checkpoint; nothing to resume: run the same command again");
    if (!rc) rc = state_prepare_dir(s, c, err);
    if (!rc && s->step == 0) rc = first_checkpoint(s, c, err);
    return rc;
}

/* Close metrics.tsv (its error when rc is BB_OK), free the state, unlock, restore the
 * signal handlers. */
static int train_close(TrainRun *r, int rc, BbError *err) {
    rc = state_close(&r->state, rc, err);
    signals_release(&r->signals);
    return rc;
}

/* ------------------------------------------------------------ the loop */

/* Wall seconds per phase of train_run, printed at its end (paper_repro/README.md#profile). */
typedef struct {
    double batch, step, optim, eval, ckpt, total;
    long steps, ckpts;
} Phases;

/* The buffers of the loop (the step engine, one training batch, the evaluation batch), and
 * where it stands. */
typedef struct {
    Trainer *tr;
    int *inputs, *targets;
    int eval_B, *eval_in, *eval_tg;
    int tty;           /* a progress bar on stderr, else a line every plain_every steps */
    long plain_every;
    double ms_avg;     /* ms/step, smoothed */
    long last_ckpt;    /* the step of the last checkpoint saved */
    Phases ph;
} Loop;

static void loop_alloc(Loop *lp, const TrainConfig *c, const TrainState *s) {
    const int T = c->task.seq;
    *lp = (Loop){.tty = isatty(fileno(stderr)) && !c->quiet, .plain_every = c->steps >= 20 ? c->steps / 20 : 1,
                 .last_ckpt = s->step};
    lp->eval_B = c->eval_every > 0 ? c->task.eval_batch : 0;
    lp->tr = trainer_alloc(&s->task, &s->model, c->batch, c->chunks, lp->eval_B);
    lp->inputs = bb_malloc((size_t)c->batch * T * sizeof(int));
    lp->targets = bb_malloc((size_t)c->batch * T * sizeof(int));
    if (lp->eval_B) {
        lp->eval_in = bb_malloc((size_t)lp->eval_B * T * sizeof(int));
        lp->eval_tg = bb_malloc((size_t)lp->eval_B * T * sizeof(int));
        task_eval_batch(&s->task, lp->eval_B, lp->eval_in, lp->eval_tg);
    }
}

static void loop_free(Loop *lp) {
    free(lp->inputs);
    free(lp->targets);
    free(lp->eval_in);
    free(lp->eval_tg);
    trainer_free(lp->tr);
}

/* One metrics.tsv row (TRAIN_METRICS_COLUMNS): the update's batch losses, gradient norm,
 * learning rate, ms/step and, every eval_every steps, the evaluation batch's losses. */
static void metrics_row(FILE *f, long step, const double *train, double gnorm, double lr, double ms,
                        const double *eval) {
    fprintf(f, "%ld", step);
    bb_put_fields(f, 3, train);
    bb_put_fields(f, 3, (double[]){gnorm, lr, round(ms * 100) / 100}); /* ms/step: 0.01 ms is plenty */
    bb_put_fields(f, 3, eval);
    fputc('\n', f);
}

/* One update: batch s->step, forward + backward, gradient norm (and clipping), optimizer.
 * train[] gets the batch's mean loss, backcopy and bigram losses. BB_ENUM on a
 * non-finite loss or gradient (the parameters are then left as they were). */
static int update(const TrainConfig *c, TrainState *s, Loop *lp, double *train, double *gnorm, double *lr,
                  BbError *err) {
    const Task *task = &s->task;
    Model *model = &s->model;
    Phases *ph = &lp->ph;
    const long step = s->step;
    double t0 = bb_now();
    task_batch(task, step, c->batch, lp->inputs, lp->targets);
    double t1 = bb_now();
    train[0] = trainer_step(lp->tr, lp->inputs, lp->targets, c->batch, &train[1], &train[2]);
    double t2 = bb_now();
    ph->batch += t1 - t0;
    ph->step += t2 - t1;
    float *grads = trainer_grads(lp->tr);
    *gnorm = trainer_grad_norm(lp->tr);
    if (!isfinite(train[0]) || !isfinite(*gnorm))
        return bb_fail(err, BB_EDIVERGED, "non-finite %s at step %ld (loss %g, gradient norm %g); stopped",
                       isfinite(train[0]) ? "gradient" : "loss", step + 1, train[0], *gnorm);
    if (c->optim.clip > 0 && *gnorm > c->optim.clip) {
        float scale = (float)(c->optim.clip / *gnorm);
        for (size_t i = 0; i < model->nparams; i++) grads[i] *= scale;
    }
    *lr = optim_lr(&c->optim, s->opt.t, c->steps);
    optim_step(&s->opt, model->params, grads, *lr);
    ph->optim += bb_now() - t2;
    return BB_OK;
}

static void phases_print(const Phases *ph) {
    const double other = ph->total - ph->batch - ph->step - ph->optim - ph->eval - ph->ckpt;
    fprintf(stderr,
            "bbsim train: %ld steps in %.1f s: batches %.1f s, forward+backward %.1f s, optimizer %.1f s, "
            "evaluation %.1f s, %ld checkpoint%s %.1f s, other %.1f s\n",
            ph->steps, ph->total, ph->batch, ph->step, ph->optim, ph->eval, ph->ckpts, ph->ckpts == 1 ? "" : "s",
            ph->ckpt, other);
}

/* The checkpoint after step s->step, when it is scheduled (or the last step) or a Ctrl-C
 * came: metrics.tsv flushed first, so that it holds every row up to the checkpoint. After
 * a Ctrl-C, BB_EINTR saying how to go on. */
static int loop_checkpoint(Loop *lp, TrainState *s, const TrainConfig *c, BbError *err) {
    const long step = s->step;
    const int interrupted = g_interrupted, scheduled = train_ckpt_scheduled(c, step) || step == c->steps;
    char path[BB_STRLEN + 64];
    if (scheduled || interrupted) {
        if (fflush(s->metrics) != 0 || ferror(s->metrics)) {
            bb_fail(err, BB_EIO, "cannot write %s: %s", s->mpath, strerror(errno));
            return write_failed(err, BB_EIO, c, lp->last_ckpt);
        }
        double tc = bb_now();
        int rc = checkpoint_save(c, &s->model, &s->opt, step, scheduled, path, sizeof path, err);
        if (rc) return write_failed(err, rc, c, lp->last_ckpt);
        lp->ph.ckpt += bb_now() - tc;
        lp->ph.ckpts++;
        lp->last_ckpt = step;
    }
    if (!interrupted) return BB_OK;
    if (lp->tty) fputc('\n', stderr);
    return interrupted_at(err, step, path, c);
}

/* One step: the update, the evaluation (every eval_every steps), the metrics.tsv row, the
 * progress, the checkpoint. */
static int loop_step(Loop *lp, TrainState *s, const TrainConfig *c, BbError *err) {
    double t0 = bb_now(), train[3], eval[3] = {NAN, NAN, NAN}, gnorm = NAN, lr = NAN;
    int rc = update(c, s, lp, train, &gnorm, &lr, err);
    if (rc) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return bb_fail(err, rc, "%s. The last good checkpoint is step %ld in %s/ckpt", inner, lp->last_ckpt, c->out);
    }
    const long step = ++s->step;
    double ms = 1000.0 * (bb_now() - t0);
    lp->ms_avg = step == 1 ? ms : 0.9 * lp->ms_avg + 0.1 * ms;
    lp->ph.steps++;
    if (lp->eval_B && step % c->eval_every == 0) {
        double te = bb_now();
        eval[0] = trainer_eval(lp->tr, lp->eval_in, lp->eval_tg, lp->eval_B, &eval[1], &eval[2]);
        lp->ph.eval += bb_now() - te;
    }
    metrics_row(s->metrics, step, train, gnorm, lr, ms, eval);
    if (!c->quiet && (lp->tty || step % lp->plain_every == 0 || step == c->steps))
        progress(c, step, train[0], train[1], train[2], lp->ms_avg, lp->tty);
    return loop_checkpoint(lp, s, c, err);
}

/* Steps up to c->steps; stopped by an error or, after its checkpoint, a Ctrl-C. */
static int train_loop(TrainState *s, const TrainConfig *c, BbError *err) {
    Loop lp;
    loop_alloc(&lp, c, s);
    const double t_start = bb_now();
    int rc = BB_OK;
    while (rc == BB_OK && s->step < c->steps) rc = loop_step(&lp, s, c, err);
    lp.ph.total = bb_now() - t_start;
    if (rc == BB_OK && !c->quiet && lp.ph.steps > 0) phases_print(&lp.ph);
    loop_free(&lp);
    return rc;
}

/* ------------------------------------------------------------ the run */

int train_run(TrainConfig *c, BbError *err) {
    TrainRun r;
    int rc = train_open(&r, c, err);
    if (!rc) rc = train_loop(&r.state, c, err);
    return train_close(&r, rc, err);
}
