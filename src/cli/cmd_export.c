/* bbsim export RUN_DIR: a trained model as named tensors for NumPy / PyTorch (safetensors
 * or .npz, docs/format.md#exported-models), with the fixed evaluation batch and bbsim's
 * own loss on it, so that a reimplementation (examples/load_bbsim.py) can check itself.
 * The writers are in src/core/export.c; this file maps the parameter table onto names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/analysis.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"
#include "bbsim/export.h"

/* The version of the naming convention of docs/format.md#exported-models (metadata
 * "naming_version"): bumped whenever a name, shape or layout changes. */
#define EXPORT_NAMING_VERSION 1

enum { FORMAT_AUTO, FORMAT_SAFETENSORS, FORMAT_NPZ };
static const char *const format_names[] = {"auto", "safetensors", "npz", NULL};
static const char *const format_ext[] = {"", ".safetensors", ".npz"};

typedef struct {
    char ckpt[64];
    int format;
    char out[BB_STRLEN];
    int eval_batch;
    int threads, quiet;
} ExportOpts;

#define NOPTS 6

static int export_opts(ExportOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint: a step or 'last'"};
    t[k++] = (Opt){"format", OPT_CHOICE, &o->format, 0, 0, format_names,
                   "file format (auto: from --out's extension, else safetensors)"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL,
                   "output file; its directory must exist [default: RUN_DIR/export/step_STEP.EXT]"};
    t[k++] = (Opt){"eval-batch", OPT_INT, &o->eval_batch, 0, 1 << 20, NULL,
                   "sequences of the fixed evaluation batch exported with the model (0 = the run's --eval-batch)"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads for the loss (0 = OpenMP default)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no summary on stdout"};
    BB_CHECK(k <= NOPTS);
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("export", rc, err); }

static void usage(const Opt *t, int n) {
    printf("usage: bbsim export RUN_DIR [--ckpt STEP|last] [--format safetensors|npz] [--out FILE] [flags]\n\n"
           "Writes a checkpoint's parameters as named float32 tensors (TransformerLens-like names, every\n"
           "matrix applied as x @ W, attention split per head), the fixed evaluation batch as int32\n"
           "eval.inputs / eval.targets (B, N), and as metadata the run's configuration and bbsim's mean\n"
           "loss on that batch (eval_loss). Names and shapes: docs/format.md#exported-models; a NumPy-only\n"
           "loader that reproduces the loss: examples/load_bbsim.py.\n\n");
    opts_help(stdout, t, n);
}

/* ------------------------------------------------------------ the tensors */

#define MAX_TENSORS (16 + 12 * BB_MAXL)

/* Exported tensors, each owning a copy of its data (transposed / split parameters). */
typedef struct {
    ExportTensor t[MAX_TENSORS];
    void *own[MAX_TENSORS];
    int n;
} TensorSet;

/* A new float32 tensor of shape (d0[, d1[, d2]]) named by fmt; returns its buffer to fill. */
static float *tensor_add(TensorSet *ts, int ndim, size_t d0, size_t d1, size_t d2, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static float *tensor_add(TensorSet *ts, int ndim, size_t d0, size_t d1, size_t d2, const char *fmt, ...) {
    BB_CHECK(ts->n < MAX_TENSORS && ndim >= 1 && ndim <= 3);
    ExportTensor *t = &ts->t[ts->n];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->dtype = EXPORT_F32;
    t->ndim = ndim;
    const size_t dims[3] = {d0, d1, d2};
    for (int d = 0; d < ndim; d++) t->shape[d] = dims[d];
    float *buf = bb_malloc(export_elements(t) * sizeof(float));
    t->data = ts->own[ts->n++] = buf;
    return buf;
}

static void tensor_add_int(TensorSet *ts, const char *name, const int *data, size_t d0, size_t d1) {
    _Static_assert(sizeof(int) == 4, "int32 tensors are written from int arrays");
    BB_CHECK(ts->n < MAX_TENSORS);
    ExportTensor *t = &ts->t[ts->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = EXPORT_I32;
    t->ndim = 2;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = data; /* not owned */
}

static void tensor_set_free(TensorSet *ts) {
    for (int i = 0; i < ts->n; i++) free(ts->own[i]);
    ts->n = 0;
}

static void copy_vec(float *dst, const float *src, size_t n) { memcpy(dst, src, n * sizeof(float)); }

/* dst (cols, rows) = src (rows, cols) transposed: bbsim's (out, in) weights become x @ W. */
static void transpose(float *dst, const float *src, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

/* W_Q / W_K / W_V (H, C, hs) from part 0 / 1 / 2 of wqkv (3C, C) = rows [q; k; v]:
 * W[h][c][e] = wqkv[part*C + h*hs + e][c], so q_h = x @ W_Q[h]. */
static void split_heads(float *dst, const float *wqkv, int part, size_t C, size_t H) {
    const size_t hs = C / H;
    for (size_t h = 0; h < H; h++)
        for (size_t c = 0; c < C; c++)
            for (size_t e = 0; e < hs; e++) dst[(h * C + c) * hs + e] = wqkv[(part * C + h * hs + e) * C + c];
}

/* The parameter table (BB_PARAMS, model.h) under the names of docs/format.md. */
static void model_tensors(TensorSet *ts, const Model *m) {
    const ModelConfig *c = &m->cfg;
    const ParamPtrs *p = &m->p;
    const size_t V = (size_t)c->V, T = (size_t)c->maxT;
    if (c->kind == MODEL_SIMPLE) {
        const size_t S = (size_t)c->simple_hidden;
        copy_vec(tensor_add(ts, 1, V, 0, 0, "simple.bos_logit"), p->s_bos_logit, V);
        copy_vec(tensor_add(ts, 1, V, 0, 0, "simple.prev_logit"), p->s_prev_logit, V);
        copy_vec(tensor_add(ts, 1, V, 0, 0, "simple.value"), p->s_value, V);
        copy_vec(tensor_add(ts, 1, V, 0, 0, "simple.bos_value"), p->s_bos_value, V);
        transpose(tensor_add(ts, 2, V, V, 0, "simple.W_O"), p->s_wo, V, V);
        transpose(tensor_add(ts, 2, V, S, 0, "simple.W_in"), p->s_w1, S, V);
        transpose(tensor_add(ts, 2, S, V, 0, "simple.W_out"), p->s_w2, V, S);
        return;
    }
    const size_t C = (size_t)c->C, H = (size_t)c->H, hs = C / H;
    copy_vec(tensor_add(ts, 2, V, C, 0, "embed.W_E"), p->wte, V * C);
    copy_vec(tensor_add(ts, 2, T, C, 0, "pos_embed.W_pos"), p->wpe, T * C);
    for (int l = 0; l < c->L; l++) {
        if (p->wqkv[l]) {
            copy_vec(tensor_add(ts, 1, C, 0, 0, "blocks.%d.ln1.w", l), p->ln1_w[l], C);
            copy_vec(tensor_add(ts, 1, C, 0, 0, "blocks.%d.ln1.b", l), p->ln1_b[l], C);
            split_heads(tensor_add(ts, 3, H, C, hs, "blocks.%d.attn.W_Q", l), p->wqkv[l], 0, C, H);
            split_heads(tensor_add(ts, 3, H, C, hs, "blocks.%d.attn.W_K", l), p->wqkv[l], 1, C, H);
            split_heads(tensor_add(ts, 3, H, C, hs, "blocks.%d.attn.W_V", l), p->wqkv[l], 2, C, H);
            /* W_O[h][e][c] = wo[c][h*hs + e]: wo transposed is already (H*hs, C) */
            transpose(tensor_add(ts, 3, H, hs, C, "blocks.%d.attn.W_O", l), p->wo[l], C, C);
            if (p->keyslot[l]) copy_vec(tensor_add(ts, 2, H, hs, 0, "blocks.%d.attn.k_slot", l), p->keyslot[l], C);
            if (p->sink[l]) copy_vec(tensor_add(ts, 1, H, 0, 0, "blocks.%d.attn.sink", l), p->sink[l], H);
            if (p->wgate[l]) { /* (G, C) -> W_gate (C, G): gate = sigmoid(ln1 @ W_gate + b_gate) */
                const size_t G = (size_t)attn_gate_width(c->attn, c->C, c->H);
                transpose(tensor_add(ts, 2, C, G, 0, "blocks.%d.attn.W_gate", l), p->wgate[l], G, C);
                copy_vec(tensor_add(ts, 1, G, 0, 0, "blocks.%d.attn.b_gate", l), p->bgate[l], G);
            }
        }
        if (p->w1[l]) {
            copy_vec(tensor_add(ts, 1, C, 0, 0, "blocks.%d.ln2.w", l), p->ln2_w[l], C);
            copy_vec(tensor_add(ts, 1, C, 0, 0, "blocks.%d.ln2.b", l), p->ln2_b[l], C);
            if (p->w2[l]) {
                transpose(tensor_add(ts, 2, C, 4 * C, 0, "blocks.%d.mlp.W_in", l), p->w1[l], 4 * C, C);
                transpose(tensor_add(ts, 2, 4 * C, C, 0, "blocks.%d.mlp.W_out", l), p->w2[l], C, 4 * C);
            } else { /* --linear-mlp */
                transpose(tensor_add(ts, 2, C, C, 0, "blocks.%d.mlp.W_lin", l), p->w1[l], C, C);
            }
        }
    }
    copy_vec(tensor_add(ts, 1, C, 0, 0, "ln_final.w"), p->lnf_w, C);
    copy_vec(tensor_add(ts, 1, C, 0, 0, "ln_final.b"), p->lnf_b, C);
    transpose(tensor_add(ts, 2, C, V, 0, "unembed.W_U"), p->wout, V, C);
}

/* ------------------------------------------------------------ metadata */

static void int_list(char *buf, size_t len, const BbIntList *l) {
    buf[0] = '\0';
    for (int i = 0; i < l->n; i++) {
        size_t k = strlen(buf);
        snprintf(buf + k, len - k, "%s%d", i ? "," : "", l->v[i]);
    }
}

static void model_meta(ExportMeta *meta, const Run *run, const EvalBatch *eb, double loss) {
    const ModelConfig *c = &run->model.cfg;
    char buf[BB_STRLEN + 64];
    export_meta_add(meta, "format", "bbsim-export");
    export_meta_add(meta, "naming_version", "%d", EXPORT_NAMING_VERSION);
    export_meta_add(meta, "bbsim_version", "%s", BBSIM_VERSION);
    export_meta_add(meta, "bbsim_command", "%s", bb_cmdline());
    export_meta_add(meta, "run", "%s", run->cfg.out);
    export_meta_add(meta, "step", "%ld", run->step);
    export_meta_add(meta, "model", "%s", model_kind_names[c->kind]);
    export_meta_add(meta, "attn", "%s", attn_kind_names[c->attn]);
    if (c->kind == MODEL_TRANSFORMER) {
        export_meta_add(meta, "n_layers", "%d", c->L);
        export_meta_add(meta, "n_heads", "%d", c->H);
        export_meta_add(meta, "d_model", "%d", c->C);
        export_meta_add(meta, "d_head", "%d", c->C / c->H);
        bb_format_float(buf, sizeof buf, BB_LN_EPS);
        export_meta_add(meta, "ln_eps", "%s", buf);
    } else {
        export_meta_add(meta, "d_hidden", "%d", c->simple_hidden);
    }
    export_meta_add(meta, "d_vocab", "%d", c->V);
    export_meta_add(meta, "n_ctx", "%d", c->maxT);
    export_meta_add(meta, "bos_id", "%d", c->bos_id);
    int_list(buf, sizeof buf, &c->triggers);
    export_meta_add(meta, "triggers", "%s", buf);
    export_meta_add(meta, "eval_batch", "%d", eb->B);
    export_meta_add(meta, "eval_seq", "%d", eb->T);
    bb_format_num(buf, sizeof buf, loss);
    export_meta_add(meta, "eval_loss", "%s", buf);
    /* every setting of the run, as config.txt holds it */
    TrainConfig cfg = run->cfg;
    Opt o[TRAIN_NOPTS];
    const int n = train_opts(&cfg, o);
    for (int i = 0; i < n; i++) {
        if (o[i].kind == OPT_EACH) continue;
        char key[96];
        opts_format(&o[i], buf, sizeof buf);
        snprintf(key, sizeof key, "config.%s", o[i].name);
        export_meta_add(meta, key, "%s", buf);
    }
}

/* ------------------------------------------------------------ the command */

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

/* The format from --format and --out's extension; BB_EINPUT when they disagree. */
static int resolve_format(ExportOpts *o, BbError *err) {
    const int by_ext = ends_with(o->out, ".npz") ? FORMAT_NPZ : ends_with(o->out, ".safetensors") ? FORMAT_SAFETENSORS
                                                                                                  : FORMAT_AUTO;
    if (o->format == FORMAT_AUTO) o->format = by_ext == FORMAT_AUTO ? FORMAT_SAFETENSORS : by_ext;
    else if (by_ext != FORMAT_AUTO && by_ext != o->format)
        return bb_fail(err, BB_EINPUT, "--out %s has the extension of %s but --format is %s", o->out,
                       format_names[by_ext], format_names[o->format]);
    return BB_OK;
}

/* --out's directory must exist (bbsim does not create it: a typo would scatter files). */
static int check_out(const char *out, BbError *err) {
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
        return bb_fail(err, BB_EINPUT, "--out %s is a directory; give a file name", out);
    char dir[BB_STRLEN];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (!slash) return BB_OK; /* the current directory */
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return bb_fail(err, BB_EINPUT, "--out %s: directory %s does not exist", out, dir);
    return BB_OK;
}

int cmd_export(int argc, char **argv) {
    ExportOpts o;
    memset(&o, 0, sizeof o);
    snprintf(o.ckpt, sizeof o.ckpt, "last");
    Opt table[NOPTS];
    const int nopt = export_opts(&o, table);
    if (opts_wants_help(argc, argv)) {
        usage(table, nopt);
        return 0;
    }
    BbError err = {{0}};
    const char *dir;
    int rc = opts_parse_run_dir(table, nopt, argc, argv, "bbsim export RUN_DIR [flags]", &dir, &err);
    if (rc) return fail(rc, &err);
    long step;
    if ((rc = run_ckpt_arg(o.ckpt, &step, "a step or 'last'", &err)) || (rc = resolve_format(&o, &err)) ||
        (o.out[0] && (rc = check_out(o.out, &err))))
        return fail(rc, &err);
    if (o.threads > 0) bb_threads_apply(o.threads);
    blas_set_threads(1);

    Run run;
    if ((rc = run_load(&run, dir, step, &err))) return fail(rc, &err);
    char path[BB_STRLEN + 64];
    if (o.out[0]) snprintf(path, sizeof path, "%s", o.out);
    else snprintf(path, sizeof path, "%s/export/step_%ld%s", dir, run.step, format_ext[o.format]);

    /* bbsim's own loss on the batch: mean -log q(target) over its B x N positions */
    const int B = o.eval_batch > 0 ? o.eval_batch : run.cfg.task.eval_batch;
    EvalBatch eb;
    analysis_batch(&eb, &run.task, B, NULL);
    AnalysisConfig ac;
    analysis_config_default(&ac);
    Analysis an;
    analysis_collect(&an, &run.model, &run.task, &eb, NULL, &ac, ANALYSIS_RISKS, bb_threads());
    const double loss = an.risks.loss[DOM_ALL];
    rc = analysis_check_risk(&an, run.path, run.step, &err);
    analysis_free(&an);
    if (!rc && !o.out[0]) { /* DIR/export/, made once the checkpoint is known to be sound */
        char sub[BB_STRLEN + 16];
        snprintf(sub, sizeof sub, "%s/export", dir);
        rc = bb_mkdirs(sub, &err);
    }
    if (rc) {
        analysis_batch_free(&eb);
        run_free(&run);
        return fail(rc, &err);
    }

    TensorSet *ts = bb_calloc(1, sizeof *ts);
    model_tensors(ts, &run.model);
    const int nmodel = ts->n;
    tensor_add_int(ts, "eval.inputs", eb.inputs, (size_t)eb.B, (size_t)eb.T);
    tensor_add_int(ts, "eval.targets", eb.targets, (size_t)eb.B, (size_t)eb.T);
    ExportMeta meta = {0};
    model_meta(&meta, &run, &eb, loss);
    /* Ctrl-C or SIGTERM while the file is written: its .tmp is removed, nothing replaced, exit 130 */
    bb_catch_interrupts();
    rc = o.format == FORMAT_NPZ ? export_write_npz(path, ts->t, ts->n, &meta, &err)
                                : export_write_safetensors(path, ts->t, ts->n, &meta, &err);
    bb_release_interrupts();
    if (!rc && !o.quiet) {
        struct stat st;
        const long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        bb_say(stdout, "bbsim export: %s, step %ld -> %s (%s, %d model tensors, %zu parameters, %lld bytes)\n", dir,
               run.step, path, format_names[o.format], nmodel, run.model.nparams, bytes);
        printf("bbsim eval loss %.9g on %d sequences x %d positions (eval.inputs, eval.targets; metadata eval_loss)\n",
               loss, eb.B, eb.T);
    }
    export_meta_free(&meta);
    tensor_set_free(ts);
    free(ts);
    analysis_batch_free(&eb);
    run_free(&run);
    return rc ? fail(rc, &err) : 0;
}
