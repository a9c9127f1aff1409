/* A training run's configuration: defaults, the flag table (which also reads and
 * writes config.txt and checkpoint headers), and the model fields that come from the
 * task. Used by the training loop, checkpoints and every command that loads a run. */
#include "bbsim/train_config.h"

#include <string.h>

const char *const ckpt_optim_names[] = {"last", "all", NULL};

void train_config_default(TrainConfig *c) {
    memset(c, 0, sizeof *c);
    task_config_default(&c->task);
    model_config_default(&c->model);
    optim_config_default(&c->optim);
    c->steps = 10000;
    c->batch = 512;
    c->chunks = 0;
    c->threads = 0;
    snprintf(c->out, sizeof c->out, "run");
    c->ckpt_every = 20;
    c->ckpt_dense = 1000;
    c->ckpt_growth = 1.05;
    c->eval_every = 0;
}

const char *const train_preset_names[] = {"small", "paper", NULL};

int train_config_preset(TrainConfig *c, int preset) {
    switch (preset) {
    case TRAIN_PRESET_PAPER: /* the library defaults: the paper's one-layer size */
        return BB_OK;
    case TRAIN_PRESET_SMALL:
        c->model.C = 64;
        c->task.seq = 64;
        c->batch = 32;
        c->optim.lr = 3e-3;
        c->steps = 2000;
        c->eval_every = 100;
        c->ckpt_dense = 200;
        c->ckpt_growth = 1.1;
        return BB_OK;
    }
    return BB_EINPUT;
}

/* The runtime options come last so train_config_write can leave them out. */
static int train_opts_split(TrainConfig *c, Opt *o, int *nexperiment) {
    int k = 0;
    k += task_opts(&c->task, o + k);
    k += model_opts(&c->model, o + k);
    k += optim_opts(&c->optim, o + k);
    o[k++] = (Opt){"steps", OPT_LONG, &c->steps, 0, 1e12, NULL, "training steps (updates)"};
    o[k++] = (Opt){"batch", OPT_INT, &c->batch, 1, 1 << 20, NULL, "sequences per step"};
    o[k++] = (Opt){"chunks", OPT_INT, &c->chunks, 0, 4096, NULL,
                   "split each batch into this many chunks, one per thread at a time (0 = batch x seq / 256, "
                   "clamped to 1..min(batch, 8)); "
                   "results depend on it, never on --threads"};
    o[k++] = (Opt){"ckpt-every", OPT_LONG, &c->ckpt_every, 1, 1e12, NULL, "checkpoint every N steps while dense"};
    o[k++] = (Opt){"ckpt-dense", OPT_LONG, &c->ckpt_dense, 0, 1e12, NULL, "dense checkpoints up to this step"};
    o[k++] = (Opt){"ckpt-growth", OPT_DOUBLE, &c->ckpt_growth, 1, 100, NULL,
                   "after that, the next checkpoint is at >= last x growth (1 = stay dense)"};
    o[k++] = (Opt){"eval-every", OPT_LONG, &c->eval_every, 0, 1e12, NULL,
                   "losses on the evaluation batch every N steps (0 = off)"};
    o[k++] = (Opt){"ckpt-optim", OPT_CHOICE, &c->ckpt_optim, 0, 0, ckpt_optim_names,
                   "which checkpoints hold the optimizer state: last (the step files hold the weights only, "
                   "ckpt/resume.bbck the full state of the latest) or all (every step file)"};
    *nexperiment = k;
    o[k++] = (Opt){"out", OPT_PATH, c->out, 0, 0, NULL, "run directory"};
    o[k++] = (Opt){"resume", OPT_PATH, c->resume, 0, 0, NULL, "continue the run in this directory from its last checkpoint"};
    o[k++] = (Opt){"threads", OPT_INT, &c->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    o[k++] = (Opt){"quiet", OPT_FLAG, &c->quiet, 0, 1, NULL, "no progress output"};
    BB_CHECK(k <= TRAIN_NOPTS);
    return k;
}

int train_opts(TrainConfig *c, Opt *out) {
    int nexp;
    return train_opts_split(c, out, &nexp);
}

void train_config_write(FILE *f, const TrainConfig *c, int runtime) {
    Opt o[TRAIN_NOPTS];
    int nexp, n = train_opts_split((TrainConfig *)c, o, &nexp);
    opts_write(f, o, runtime ? n : nexp);
}

/* A config option read through a wrapper that notes that the file set it. */
typedef struct {
    Opt real;
    int seen;
} SeenOpt;

static int seen_set(void *ctx, const Opt *o, const char *value, BbError *err) {
    (void)o;
    SeenOpt *s = ctx;
    s->seen = 1;
    return opts_set(&s->real, 1, s->real.name, value, err);
}

/* Files without a `table` line come from before tables had names (bbsim 0.2), when the
 * only built-in table was the synthetic one. Every config.txt and checkpoint header of
 * then lists `vocab` and `table-seed`, so a file that sets either of them and no `table`
 * means --table synthetic; one that sets none of the three (a hand-written subset) keeps
 * the table c had. */
int train_config_read(FILE *f, TrainConfig *c, const char *where, BbError *err) {
    Opt o[TRAIN_NOPTS];
    int nexp, n = train_opts_split(c, o, &nexp);
    SeenOpt seen[3];
    OptEach each[3];
    static const char *const tracked[3] = {"table", "vocab", "table-seed"};
    for (int k = 0; k < 3; k++) {
        int i = 0;
        while (strcmp(o[i].name, tracked[k])) i++; /* every one is in the table */
        seen[k] = (SeenOpt){o[i], 0};
        each[k] = (OptEach){seen_set, &seen[k], ""};
        o[i].kind = OPT_EACH;
        o[i].dest = &each[k];
    }
    int rc = opts_read(o, n, f, where, err);
    if (rc == BB_OK && !seen[0].seen && (seen[1].seen || seen[2].seen)) c->task.table = TASK_TABLE_SYNTHETIC;
    return rc;
}

void train_model_config_from_task(ModelConfig *mc, const Task *t) {
    mc->V = t->V;
    mc->maxT = t->cfg.seq;
    mc->bos_id = t->bos_id;
    mc->triggers.n = t->ntrig;
    for (int i = 0; i < t->ntrig; i++) mc->triggers.v[i] = t->trig[i];
}
