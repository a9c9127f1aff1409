/* The training loop (docs/method.md#training): the batch is split into a fixed number of
 * chunks; each chunk's forward/backward runs on one thread with its own Workspace and
 * writes its own gradient buffer; the buffers are summed in chunk order. So the numbers
 * depend on the seed and the configuration, never on the thread count. */
#include "bbsim/train.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bbsim/blas.h"
#include "bbsim/checkpoint.h"
#include "bbsim/run.h"
#include "bbsim/tsv.h"

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
    double grad_norm;      /* of the last trainer_step's summed gradient */
    double *norm_part;     /* grad_norm_sum's block sums */
};

int trainer_chunks_auto(int batch, int seq) {
    long n = (long)batch * seq / BB_CHUNK_TOKENS;
    const int most = batch < 8 ? batch : 8;
    return n < 1 ? 1 : n > most ? most : (int)n;
}

Trainer *trainer_alloc(const Task *task, const Model *model, int batch, int chunks, int eval_batch) {
    Trainer *tr = bb_calloc(1, sizeof *tr);
    tr->task = task;
    tr->model = model;
    tr->nchunk = chunks > 0 ? chunks : trainer_chunks_auto(batch, task->cfg.seq);
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

static void progress(const TrainConfig *c, long step, double loss, double bc, double bg, double ms,
                     int tty, double elapsed_steps_ms) {
    (void)elapsed_steps_ms;
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

static const char *METRICS_COLUMNS =
    "step\tloss\tbackcopy_loss\tbigram_loss\tgrad_norm\tlr\tms_per_step\teval_loss\teval_backcopy_loss\teval_bigram_loss";

/* On --resume: metrics.tsv holds one row per update, steps 1..upto in order (what the run
 * wrote before the checkpoint it continues from; flushed before every checkpoint). A row
 * missing, out of order, or the file gone is refused, naming the first missing step: the
 * checkpoints are fine, but the loss curve would have a hole. The rows after upto are
 * dropped, atomically. Opened through bb_open_input, so a FIFO or device named
 * metrics.tsv is refused rather than waited on. */
static int metrics_gap(const char *path, long missing, long upto, const char *found, BbError *err) {
    return bb_fail(err, BB_EINPUT,
                   "%s has no row for step %ld (%s), but the checkpoint resumed from is step %ld: the file is "
                   "damaged, the checkpoints are not; restore metrics.tsv from a copy of the run, or train the run "
                   "again into a new folder (bbsim train --config DIR/config.txt --out NEW gives the same bytes)",
                   path, missing, found, upto);
}

static int metrics_truncate(const char *path, long upto, BbError *err) {
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return upto > 0 ? metrics_gap(path, 1, upto, "the file is missing", err) : BB_OK;
    LineReader in;
    int rc = lines_open(&in, path, "metrics file", LLONG_MAX, err);
    if (rc) return rc;
    AtomicFile af;
    if ((rc = afile_open(&af, path, err))) {
        lines_close(&in);
        return rc;
    }
    long expected = 1; /* the step of the next row */
    while (lines_next(&in, &rc, err)) {
        const char *line = in.line;
        if (line[in.len - 1] != '\n') break; /* a crash may have cut the last row */
        char *end;
        const long s = strtol(line, &end, 10);
        if (line[0] != '#' && end != line) { /* a row (not a comment, not the column names) */
            if (s > upto) continue;
            if (s != expected) {
                char found[64];
                snprintf(found, sizeof found, "line %d holds step %ld", in.lineno, s);
                rc = metrics_gap(path, expected, upto, found, err);
                break;
            }
            expected++;
        }
        fputs(line, af.f);
    }
    lines_close(&in);
    if (!rc && expected <= upto) {
        char found[64] = "the file has no rows";
        if (expected > 1) snprintf(found, sizeof found, "the rows end at step %ld", expected - 1);
        rc = metrics_gap(path, expected, upto, found, err);
    }
    if (rc) {
        afile_abort(&af);
        return rc;
    }
    return afile_commit(&af, err);
}

/* config.txt: provenance, every setting, then the run identity and the hashes of the
 * recorded inputs as "#" lines (so --config still reads the file). */
static int write_config_file(const TrainConfig *c, const RunMeta *meta, BbError *err) {
    char path[BB_STRLEN + 16];
    snprintf(path, sizeof path, "%s/config.txt", c->out);
    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) return rc;
    bb_write_provenance(af.f);
    blas_describe(af.f, "# ");
    train_config_write(af.f, c, 1);
    run_meta_write(af.f, meta);
    return afile_commit(&af, err);
}

/* Before ckpt/resume.bbck is replaced, keep it as resume.prev.bbck: a hard link, renamed
 * over the older copy, so resume.bbck stays in place throughout (where the file system has
 * no hard links, a rename: for a moment only resume.prev.bbck exists, which --resume also
 * reads). Takes no space of its own until resume.bbck is replaced. */
static int keep_previous(const char *dir, BbError *err) {
    char cur[BB_STRLEN + 64], prev[BB_STRLEN + 64], tmp[BB_STRLEN + 80];
    ckpt_resume_path(cur, sizeof cur, dir);
    ckpt_resume_prev_path(prev, sizeof prev, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", prev);
    if (access(cur, F_OK) != 0) return BB_OK; /* the first one */
    unlink(tmp); /* left by a process killed here */
    if (link(cur, tmp) == 0) {
        if (rename(tmp, prev) == 0) return BB_OK;
        const int e = errno;
        unlink(tmp);
        return bb_fail(err, BB_EIO, "cannot rename %s to %s: %s", tmp, prev, strerror(e));
    }
    if (rename(cur, prev) == 0) return BB_OK;
    return bb_fail(err, BB_EIO, "cannot keep %s as %s: %s", cur, prev, strerror(errno));
}

/* The checkpoint of `step`. On the schedule (and at the last step), --ckpt-optim all:
 * ckpt/step_N.bbck with the optimizer state (the resume files of an interrupt removed);
 * last: step_N.bbck with the weights only, then the full state in ckpt/resume.bbck (the
 * one it replaces kept as resume.prev.bbck). An
 * interrupt between two scheduled steps writes only resume.bbck: the step files, which the
 * analyses read, stay those of the schedule. Each write is atomic and the step file comes
 * first, so if the process dies between the two, resume.bbck still holds the full state of
 * the previous checkpoint and --resume redoes the steps since (the same bytes). path gets
 * the step file, or resume.bbck when only that was written. */
static int checkpoint_save(const TrainConfig *c, const Model *model, const Optim *opt, long step, int scheduled,
                           char *path, size_t len, BbError *err) {
    const int all = c->ckpt_optim == CKPT_OPTIM_ALL;
    int rc;
    char full[BB_STRLEN + 64];
    if (scheduled) {
        ckpt_path(path, len, c->out, step);
        if ((rc = ckpt_write(path, c, model, opt, step, all ? CKPT_FULL : CKPT_WEIGHTS, err))) return rc;
        if (all) { /* the step file holds the full state: an interrupt's resume files are stale */
            for (int i = 0; i < 2; i++) {
                (i ? ckpt_resume_prev_path : ckpt_resume_path)(full, sizeof full, c->out);
                if (unlink(full) != 0 && errno != ENOENT)
                    return bb_fail(err, BB_EIO, "cannot remove %s: %s", full, strerror(errno));
            }
            return BB_OK;
        }
    }
    ckpt_resume_path(full, sizeof full, c->out);
    if (!scheduled) snprintf(path, len, "%s", full);
    if ((rc = keep_previous(c->out, err))) return rc;
    return ckpt_write(full, c, model, opt, step, CKPT_FULL, err);
}

/* A resume candidate: name -1 = resume.bbck, -2 = resume.prev.bbck, else the step file of
 * that step; step = the step its header gives (LONG_MAX when the header does not read:
 * tried first, so that the damage is reported); order breaks ties (the list order). */
typedef struct {
    long name, step;
    int order;
} Cand;

static int cand_later_first(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? 1 : -1;
    return x->order - y->order;
}

static void cand_path(char *buf, size_t len, const char *dir, long name) {
    if (name == -1) ckpt_resume_path(buf, len, dir);
    else if (name == -2) ckpt_resume_prev_path(buf, len, dir);
    else ckpt_path(buf, len, dir, name);
}

/* The state of a run: rebuilt from the last checkpoint of c->resume that verifies (its
 * checksum reads, it carries the run's identity and holds the optimizer state), latest
 * first among ckpt/resume.bbck, resume.prev.bbck and the step files that hold the
 * optimizer state (--ckpt-optim all, or format version 1). A damaged one is skipped,
 * saying so; a foreign or renamed one is refused (run_checkpoints). The tables
 * are the run's recorded copies (DIR/inputs/). Only steps, eval_every, threads and quiet
 * come from the command line (steps / eval_every < 0: not given, keep the run's own). */
static int state_resume(TrainConfig *c, RunMeta *meta, Task *task, Model *model, Optim *opt, long *step,
                        BbError *err) {
    char path[BB_STRLEN + 64];
    long *steps;
    int n, rc;
    if ((rc = run_checkpoints(c->resume, &steps, &n, err))) {
        if (rc != BB_ENOENT) return rc;
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return bb_fail(err, rc, "%s: the run never saved a checkpoint; start it again with --out %s", inner,
                       c->resume);
    }
    if ((rc = run_meta_read(c->resume, meta, err))) { free(steps); return rc; }
    /* the candidates: the two resume files and each step file that holds the optimizer
     * state (or whose header does not read: loading it says why), latest first */
    int ncand = 0;
    Cand *cand = bb_malloc(sizeof(Cand) * (size_t)(n + 2));
    for (long name = -1; name >= -2; name--) {
        CkptInfo info;
        BbError ignore;
        cand_path(path, sizeof path, c->resume, name);
        if (access(path, F_OK) != 0) continue;
        const int ok = ckpt_peek(path, &info, &ignore) == BB_OK;
        if (!ok || info.has_optim) {
            cand[ncand] = (Cand){name, ok ? info.step : LONG_MAX, ncand};
            ncand++;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        CkptInfo info;
        BbError ignore;
        cand_path(path, sizeof path, c->resume, steps[i]);
        const int ok = ckpt_peek(path, &info, &ignore) == BB_OK;
        if (!ok || info.has_optim) {
            cand[ncand] = (Cand){steps[i], ok ? info.step : LONG_MAX, ncand};
            ncand++;
        }
    }
    if (ncand == 0) cand[ncand++] = (Cand){steps[n - 1], 0, 0}; /* weights only: refused, saying where the state is */
    free(steps);
    qsort(cand, (size_t)ncand, sizeof *cand, cand_later_first);
    TrainConfig saved;
    BbError first;
    rc = BB_EINPUT;
    for (int k = 0; k < ncand; k++) {
        cand_path(path, sizeof path, c->resume, cand[k].name);
        BbError e;
        rc = run_ckpt_load(c->resume, path, cand[k].name < 0 ? -1 : cand[k].name, &saved, task, model, opt, step,
                           &e);
        if (rc == BB_OK) break;
        if (k == 0) first = e;
        /* damage falls back to an earlier checkpoint; anything else (foreign, changed
         * inputs, weights only) stops */
        if (rc != BB_ECORRUPT) {
            if (k > 0) first = e;
            break;
        }
        if (k + 1 < ncand) bb_say(stderr, "bbsim train: skipping a damaged checkpoint: %s\n", e.msg);
    }
    free(cand);
    if (rc) {
        *err = first;
        return rc;
    }
    if (saved.chunks == 0) saved.chunks = saved.batch < 8 ? saved.batch : 8; /* the rule of runs made before 0.2 */
    if (c->steps >= 0 && c->steps != saved.steps && saved.optim.cosine) {
        optim_free(opt);
        model_free(model);
        task_free(task);
        return bb_fail(err, BB_EINPUT,
                       "%s: --steps %ld: the run's learning rate decays over its %ld steps (--cosine), which a resume "
                       "cannot change; resume without --steps, or train a new run with --steps %ld",
                       c->resume, c->steps, saved.steps, c->steps);
    }
    if (c->steps >= 0) saved.steps = c->steps;
    saved.threads = c->threads;
    saved.quiet = c->quiet;
    if (c->eval_every >= 0) saved.eval_every = c->eval_every;
    snprintf(saved.out, sizeof saved.out, "%s", c->resume);
    snprintf(saved.resume, sizeof saved.resume, "%s", c->resume);
    *c = saved;
    meta->have_id = 1;
    meta->id = c->run_id;
    if (*step > c->steps) {
        optim_free(opt);
        model_free(model);
        task_free(task);
        return bb_fail(err, BB_EINPUT, "%s: last checkpoint is at step %ld, beyond --steps %ld", c->out, *step,
                       c->steps);
    }
    return BB_OK;
}

double train_footprint(const TrainConfig *c, const ModelConfig *mc, int with_state, int *seqs) {
    const double n = (double)model_param_count(mc), T = c->task.seq;
    int nchunk = c->chunks > 0 ? c->chunks : trainer_chunks_auto(c->batch, c->task.seq);
    if (nchunk > c->batch) nchunk = c->batch;
    const int Bc = (c->batch + nchunk - 1) / nchunk, nws = bb_threads() < nchunk ? bb_threads() : nchunk;
    if (seqs) *seqs = Bc;
    const double moments = c->optim.kind == OPTIM_SGD ? 1 : 2;
    const double eval_B = c->eval_every > 0 ? c->task.eval_batch : 0;
    return (with_state ? (1 + moments) * n * sizeof(float) : 0) + (double)nchunk * n * sizeof(float) +
           (double)nws * (double)workspace_bytes_for(mc, Bc, c->task.seq) +
           2.0 * ((double)c->batch + eval_B) * T * sizeof(int);
}

/* Refuse a run that needs more memory than the process may take (bb_memory_room), before
 * it allocates or writes anything: the number and the limit in the message. */
static int memory_check(const TrainConfig *c, const ModelConfig *mc, int with_state, BbError *err) {
    unsigned long long room;
    char what[160];
    int seqs;
    const double need = train_footprint(c, mc, with_state, &seqs);
    if (!bb_memory_room(&room, what, sizeof what) || need <= (double)room) return BB_OK;
    return bb_fail(err, BB_ENOMEM,
                   "this run needs %.0f MiB of memory (the weights, the optimizer state, and on each of %d threads the "
                   "activations of %d sequences of %d tokens), more than the %.0f MiB %s; lower --batch, --seq, "
                   "--dim or --threads, or raise --chunks",
                   need / 1048576.0, bb_threads(), seqs, c->task.seq, (double)room / 1048576.0, what);
}

static int state_fresh(const TrainConfig *c, Task *task, Model *model, Optim *opt, BbError *err) {
    int rc;
    if ((rc = task_build(task, &c->task, err))) return rc;
    ModelConfig mc = c->model;
    train_model_config_from_task(&mc, task);
    if ((rc = model_validate(&mc, err)) || (rc = memory_check(c, &mc, 1, err)) || (rc = model_build(model, &mc, err))) {
        task_free(task);
        return rc;
    }
    optim_alloc(opt, &c->optim, model->nparams);
    return BB_OK;
}

/* What a run directory holds, for a fresh run (docs/format.md#write-errors):
 *   DIR_FREE     no checkpoint: nothing, or a run whose first checkpoint could not be written
 *   DIR_DIED     only the step-0 weights (step_000000000.bbck without optimizer state) and no
 *                resume file: a run killed before its first full checkpoint, which --resume
 *                cannot continue
 *   DIR_STARTED  a run --resume continues: a step file beyond step 0, a resume file next to
 *                a step file, or a step file with the optimizer state (--ckpt-optim all).
 * A fresh run takes over the first two and refuses the third. */
typedef enum { DIR_FREE, DIR_DIED, DIR_STARTED } DirState;
static DirState run_dir_state(const char *dir) {
    char path[BB_STRLEN + 64];
    snprintf(path, sizeof path, "%s/ckpt", dir);
    DIR *d = opendir(path);
    if (!d) return DIR_FREE;
    struct dirent *e;
    int step0 = 0, later = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "step_", 5) || !strstr(e->d_name, ".bbck") || strstr(e->d_name, ".tmp")) continue;
        if (!strcmp(e->d_name, "step_000000000.bbck")) step0 = 1;
        else later = 1;
    }
    closedir(d);
    if (later) return DIR_STARTED;
    if (!step0) return DIR_FREE;
    for (int i = 0; i < 2; i++) {
        (i ? ckpt_resume_prev_path : ckpt_resume_path)(path, sizeof path, dir);
        if (access(path, F_OK) == 0) return DIR_STARTED;
    }
    CkptInfo info;
    BbError ignore;
    ckpt_path(path, sizeof path, dir, 0);
    return ckpt_peek(path, &info, &ignore) == BB_OK && info.has_optim ? DIR_STARTED : DIR_DIED;
}

/* A fresh run replaces DIR/NAME (config.txt, metrics.tsv) only when bbsim wrote it: its
 * first line is bbsim's provenance (or metrics.tsv's column names), or it is empty.
 * Anything else there is not a run's, and refused rather than overwritten. */
static int check_own_file(const char *dir, const char *name, const char *first_line, BbError *err) {
    char path[BB_STRLEN + 32], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (lstat(path, &st) != 0 ? errno == ENOENT : S_ISREG(st.st_mode) && st.st_size == 0)
        return BB_OK; /* absent, or empty: a run killed before its first lines reached the file */
    FILE *f;
    int ours = 0;
    BbError ignore;
    if (bb_open_input(&f, path, name, BB_MAX_TSV_BYTES, &ignore) == BB_OK) {
        if (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            ours = !strncmp(line, "# bbsim ", 8) || (first_line && !strcmp(line, first_line));
        }
        fclose(f);
    }
    if (ours) return BB_OK;
    return bb_fail(err, BB_EINPUT,
                   "%s is not a bbsim run, but holds a %s that bbsim did not write; choose another --out "
                   "(a fresh run would replace it)",
                   dir, path);
}

/* The run directory (locked by the caller): refuse to train over another run, record the
 * inputs (fresh runs), write config.txt, remove a stale ckpt/resume.bbck and metrics.tsv
 * (fresh runs), cut metrics.tsv back to the resumed step, open it for appending (header
 * when new). */
static int run_dir_prepare(TrainConfig *c, RunMeta *meta, long step, const char *mpath, FILE **metrics,
                           int *ckpt_lock, BbError *err) {
    char ckdir[BB_STRLEN + 16];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", c->out);
    int rc;
    const DirState state = c->resume[0] ? DIR_STARTED : run_dir_state(c->out);
    if (!c->resume[0] && state == DIR_STARTED)
        return bb_fail(err, BB_EINPUT,
                       "%s already holds a run (ckpt/ holds checkpoints): continue it with --resume %s, or choose "
                       "another --out",
                       c->out, c->out);
    if (!c->resume[0] && ((rc = check_own_file(c->out, "config.txt", NULL, err)) ||
                          (rc = check_own_file(c->out, "metrics.tsv", METRICS_COLUMNS, err))))
        return rc;
    if (state == DIR_DIED) { /* its step-0 weights may be another configuration's: they go too */
        char step0[BB_STRLEN + 64];
        ckpt_path(step0, sizeof step0, c->out, 0);
        bb_say(stderr, "bbsim train: %s holds a run stopped before its first full checkpoint (no %s/%s): "
                       "starting it over\n", c->out, ckdir, CKPT_RESUME_FILE);
        if (unlink(step0) != 0 && errno != ENOENT)
            return bb_fail(err, BB_EIO, "cannot remove %s: %s", step0, strerror(errno));
    }
    if ((rc = bb_mkdirs(ckdir, err))) return rc;
    if (*ckpt_lock < 0 && (rc = run_lock_ckpt(c->out, ckpt_lock, err))) return rc; /* made just now */
    if (!c->resume[0]) {
        if ((rc = run_inputs_record(c->out, &c->task, meta, err))) return rc;
        meta->have_id = 1;
        meta->id = c->run_id = ckpt_identity(c, meta->input_hash);
        /* the full states or metrics left by a run that never saved a checkpoint must go */
        char full[BB_STRLEN + 64];
        for (int i = 0; i < 2; i++) {
            (i ? ckpt_resume_prev_path : ckpt_resume_path)(full, sizeof full, c->out);
            if (unlink(full) != 0 && errno != ENOENT)
                return bb_fail(err, BB_EIO, "cannot remove %s: %s", full, strerror(errno));
        }
        if (unlink(mpath) != 0 && errno != ENOENT)
            return bb_fail(err, BB_EIO, "cannot remove %s: %s", mpath, strerror(errno));
    }
    /* metrics.tsv first: a resume it refuses leaves config.txt as it was */
    if (c->resume[0] && (rc = metrics_truncate(mpath, step, err))) return rc;
    if ((rc = write_config_file(c, meta, err))) return rc;
    const int exists = access(mpath, F_OK) == 0;
    if (!(*metrics = fopen(mpath, "a"))) return bb_fail(err, BB_EIO, "cannot open %s: %s", mpath, strerror(errno));
    if (!exists) tsv_write_head(*metrics, METRICS_COLUMNS); /* the column names, then the provenance */
    return BB_OK;
}

/* The buffers of the loop: the step engine, one training batch, the evaluation batch. */
typedef struct {
    Trainer *tr;
    int *inputs, *targets;
    int eval_B, *eval_in, *eval_tg;
} Loop;

static void loop_alloc(Loop *lp, const TrainConfig *c, const Task *task, const Model *model) {
    const int T = c->task.seq;
    lp->eval_B = c->eval_every > 0 ? c->task.eval_batch : 0;
    lp->tr = trainer_alloc(task, model, c->batch, c->chunks, lp->eval_B);
    lp->inputs = bb_malloc((size_t)c->batch * T * sizeof(int));
    lp->targets = bb_malloc((size_t)c->batch * T * sizeof(int));
    lp->eval_in = lp->eval_tg = NULL;
    if (lp->eval_B) {
        lp->eval_in = bb_malloc((size_t)lp->eval_B * T * sizeof(int));
        lp->eval_tg = bb_malloc((size_t)lp->eval_B * T * sizeof(int));
        task_eval_batch(task, lp->eval_B, lp->eval_in, lp->eval_tg);
    }
}

static void loop_free(Loop *lp) {
    free(lp->inputs);
    free(lp->targets);
    free(lp->eval_in);
    free(lp->eval_tg);
    trainer_free(lp->tr);
}

/* One metrics.tsv row (METRICS_COLUMNS): the update's batch losses, gradient norm,
 * learning rate, ms/step and, every eval_every steps, the evaluation batch's losses. */
static void metrics_row(FILE *f, long step, const double *train, double gnorm, double lr, double ms,
                        const double *eval) {
    fprintf(f, "%ld", step);
    bb_put_fields(f, 3, train);
    bb_put_fields(f, 3, (double[]){gnorm, lr, round(ms * 100) / 100}); /* ms/step: 0.01 ms is plenty */
    bb_put_fields(f, 3, eval);
    fputc('\n', f);
}

/* One update: batch `step`, forward + backward, gradient norm (and clipping), optimizer.
 * train[] gets the batch's mean loss, backcopy and bigram losses. BB_ENUM on a
 * non-finite loss or gradient (the parameters are then left as they were). */
/* Wall seconds per phase of train_run, printed at its end (paper_repro/README.md#profile). */
typedef struct {
    double batch, step, optim, eval, ckpt, total;
    long steps, ckpts;
} Phases;

static int update(const TrainConfig *c, const Task *task, Model *model, Optim *opt, Loop *lp, long step,
                  double *train, double *gnorm, double *lr, Phases *ph, BbError *err) {
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
        return bb_fail(err, BB_ENUM, "non-finite %s at step %ld (loss %g, gradient norm %g); stopped",
                       isfinite(train[0]) ? "gradient" : "loss", step + 1, train[0], *gnorm);
    if (c->optim.clip > 0 && *gnorm > c->optim.clip) {
        float scale = (float)(c->optim.clip / *gnorm);
        for (size_t i = 0; i < model->nparams; i++) grads[i] *= scale;
    }
    *lr = optim_lr(&c->optim, opt->t, c->steps);
    optim_step(opt, model->params, grads, *lr);
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

int train_run(TrainConfig *c, BbError *err) {
    Task task;
    Model model;
    Optim opt;
    RunMeta meta = {0};
    long step = 0;
    int rc, lock = -1, ckpt_lock = -1; /* DIR/.lock, and DIR/ckpt itself (however it is reached) */
    if (c->threads > 0) omp_set_num_threads(c->threads);
    blas_set_threads(1);
    blas_warm(bb_threads()); /* blas.h: the library's state after small first calls */
    /* a file size limit (ulimit -f) makes writes fail with EFBIG, reported, instead of
     * killing the process halfway through a file */
    struct sigaction ign = {0}, old_xfsz;
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old_xfsz);
    /* Ctrl-C and SIGTERM only set a flag, from before the first byte is written: the run
     * stops at the next checkpoint (step 0 included), never in the middle of one */
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (!c->resume[0] && c->chunks == 0) c->chunks = trainer_chunks_auto(c->batch, c->task.seq); /* recorded */
    if (c->resume[0]) { /* the run's directory exists: lock it before reading its state */
        struct stat st;
        const int bad = stat(c->resume, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
        rc = bad ? bb_fail(err, BB_EINPUT, "%s: not a run directory (%s)", c->resume, strerror(bad))
                 : run_lock(c->resume, &lock, err);
        if (!rc) rc = run_lock_ckpt(c->resume, &ckpt_lock, err);
        if (!rc && run_dir_state(c->resume) == DIR_DIED)
            rc = bb_fail(err, BB_EINPUT,
                         "%s: the run was stopped before its first full checkpoint (no %s/ckpt/%s): nothing to resume; "
                         "start it over with the command that started it (config.txt, line '# command')",
                         c->resume, c->resume, CKPT_RESUME_FILE);
        if (!rc) rc = state_resume(c, &meta, &task, &model, &opt, &step, err);
        if (!rc && (rc = memory_check(c, &model.cfg, 0, err))) { /* --threads may have changed */
            optim_free(&opt);
            model_free(&model);
            task_free(&task);
        }
    } else {
        rc = state_fresh(c, &task, &model, &opt, err);
        if (!rc && ((rc = bb_mkdirs(c->out, err)) || (rc = run_lock(c->out, &lock, err)) ||
                    (rc = run_lock_ckpt(c->out, &ckpt_lock, err)))) {
            optim_free(&opt);
            model_free(&model);
            task_free(&task);
        }
    }
    if (!rc && g_interrupted) { /* before anything was written */
        optim_free(&opt);
        model_free(&model);
        task_free(&task);
        rc = bb_fail(err, BB_EINTR, "interrupted before the first checkpoint; nothing to resume: run the same command again");
    }
    if (rc) {
        run_unlock(ckpt_lock);
    run_unlock(lock);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGXFSZ, &old_xfsz, NULL);
        return rc;
    }
    char ckdir[BB_STRLEN + 16], mpath[BB_STRLEN + 16], path[BB_STRLEN + 64];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", c->out);
    snprintf(mpath, sizeof mpath, "%s/metrics.tsv", c->out);
    FILE *metrics = NULL;
    if ((rc = run_dir_prepare(c, &meta, step, mpath, &metrics, &ckpt_lock, err))) goto out_model;
    if (step == 0) {
        if ((rc = checkpoint_save(c, &model, &opt, 0, 1, path, sizeof path, err))) {
            /* without its full state the step-0 file is no run to resume: leave the
             * directory not started (run_dir_state), so the same command runs again */
            if (!c->resume[0]) unlink(path);
            rc = write_failed(err, rc, c, c->resume[0] ? 0 : -1);
            fclose(metrics);
            goto out_model;
        }
        if (g_interrupted) { /* during the step-0 checkpoint, which is now whole */
            rc = bb_fail(err, BB_EINTR,
                         "interrupted at step 0; checkpoint saved to %s; continue with: bbsim train --resume %s "
                         "--steps %ld",
                         path, c->out, c->steps);
            fclose(metrics);
            goto out_model;
        }
    }
    Loop lp;
    loop_alloc(&lp, c, &task, &model);
    const int tty = isatty(fileno(stderr)) && !c->quiet;
    const long plain_every = c->steps >= 20 ? c->steps / 20 : 1;
    Phases ph = {0};
    const double t_start = bb_now();
    long last_ckpt = step;
    double ms_avg = 0;
    rc = BB_OK;
    while (step < c->steps) {
        double t0 = bb_now(), train[3], eval[3] = {NAN, NAN, NAN}, gnorm = NAN, lr = NAN;
        if ((rc = update(c, &task, &model, &opt, &lp, step, train, &gnorm, &lr, &ph, err))) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err->msg);
            rc = bb_fail(err, rc, "%s. The last good checkpoint is step %ld in %s", inner, last_ckpt, ckdir);
            break;
        }
        step++;
        double ms = 1000.0 * (bb_now() - t0);
        ms_avg = step == 1 ? ms : 0.9 * ms_avg + 0.1 * ms;
        ph.steps++;
        if (lp.eval_B && step % c->eval_every == 0) {
            double te = bb_now();
            eval[0] = trainer_eval(lp.tr, lp.eval_in, lp.eval_tg, lp.eval_B, &eval[1], &eval[2]);
            ph.eval += bb_now() - te;
        }
        metrics_row(metrics, step, train, gnorm, lr, ms, eval);
        if (!c->quiet && (tty || step % plain_every == 0 || step == c->steps))
            progress(c, step, train[0], train[1], train[2], ms_avg, tty, 0);
        const int interrupted = g_interrupted, scheduled = train_ckpt_scheduled(c, step) || step == c->steps;
        if (scheduled || interrupted) {
            if (fflush(metrics) != 0 || ferror(metrics)) {
                bb_fail(err, BB_EIO, "cannot write %s: %s", mpath, strerror(errno));
                rc = write_failed(err, BB_EIO, c, last_ckpt);
                break;
            }
            double tc = bb_now();
            if ((rc = checkpoint_save(c, &model, &opt, step, scheduled, path, sizeof path, err))) {
                rc = write_failed(err, rc, c, last_ckpt);
                break;
            }
            ph.ckpt += bb_now() - tc;
            ph.ckpts++;
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
    ph.total = bb_now() - t_start;
    if (rc == BB_OK && !c->quiet && ph.steps > 0) phases_print(&ph);
    if (fclose(metrics) != 0 && rc == BB_OK) rc = bb_fail(err, BB_EIO, "cannot write %s: %s", mpath, strerror(errno));
    loop_free(&lp);
out_model:
    optim_free(&opt);
    model_free(&model);
    task_free(&task);
    run_unlock(ckpt_lock);
    run_unlock(lock);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGXFSZ, &old_xfsz, NULL);
    return rc;
}
