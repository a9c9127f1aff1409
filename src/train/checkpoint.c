/* Checkpoint files: the configuration, the parameters and (optionally) the optimizer
 * state at one step, with a checksum. The byte layout, its versions and a NumPy reader
 * are in docs/format.md#checkpoint-files. Writes are atomic (temp + rename); reads check
 * every field and the checksum, and say damage with BB_ECORRUPT. */
#include "bbsim/checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[8] = {'B', 'B', 'S', 'I', 'M', 'C', 'K', '\0'};
/* 1: always the optimizer state; 2: a u32 after the optimizer kind says whether it is there;
 * 3: a u64 run identity after the configuration header (docs/format.md#run-identity) */
enum { FORMAT_VERSION = 3, FORMAT_OLDEST = 1 };

const char *const ckpt_input_names[] = {"corpus", "transitions", "marginal", "labels", NULL};

char *ckpt_input_path(TaskConfig *tc, int i) {
    char *p[CKPT_NINPUTS] = {tc->corpus, tc->transitions, tc->marginal, tc->labels};
    BB_CHECK(i >= 0 && i < CKPT_NINPUTS);
    return p[i];
}

typedef struct {
    FILE *f;
    uint64_t hash;
    int short_read; /* a read ran past the end of the file */
} HashFile;

void ckpt_fnv1a(uint64_t *h, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t x = *h;
    for (size_t i = 0; i < n; i++) {
        x ^= p[i];
        x *= 0x100000001b3ULL;
    }
    *h = x;
}

static void hput(HashFile *hf, const void *data, size_t n) {
    ckpt_fnv1a(&hf->hash, data, n);
    fwrite(data, 1, n, hf->f);
}

/* 0 ok; -1 short read (truncated) */
static int hget(HashFile *hf, void *data, size_t n) {
    if (fread(data, 1, n, hf->f) != n) {
        hf->short_read = 1;
        return -1;
    }
    ckpt_fnv1a(&hf->hash, data, n);
    return 0;
}

int ckpt_path(char *buf, size_t len, const char *dir, long step) {
    return snprintf(buf, len, "%s/ckpt/step_%09ld.bbck", dir, step) >= (int)len ? -1 : 0;
}

int ckpt_resume_path(char *buf, size_t len, const char *dir) {
    return snprintf(buf, len, "%s/ckpt/" CKPT_RESUME_FILE, dir) >= (int)len ? -1 : 0;
}

int ckpt_resume_prev_path(char *buf, size_t len, const char *dir) {
    return snprintf(buf, len, "%s/ckpt/" CKPT_RESUME_PREV_FILE, dir) >= (int)len ? -1 : 0;
}

uint64_t ckpt_identity(const TrainConfig *c, const uint64_t *input_hash) {
    /* what --resume may change (steps, eval-every) is left out; but --cosine decays over
     * --steps, so there the steps are the schedule and stay in (a resume may not change
     * them). chunks 0 is what runs made before 0.2 recorded, and resume reads it as the
     * rule of then (state_resume, resume.c) */
    TrainConfig k = *c;
    if (!k.optim.cosine) k.steps = 0;
    k.eval_every = 0;
    if (k.chunks == 0) k.chunks = k.batch < 8 ? k.batch : 8;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    train_config_write(mem, &k, 0);
    for (int i = 0; input_hash && i < CKPT_NINPUTS; i++)
        if (ckpt_input_path(&k.task, i)[0]) fprintf(mem, "input %s %016llx\n", ckpt_input_names[i],
                                                    (unsigned long long)input_hash[i]);
    fclose(mem);
    uint64_t h = 0xcbf29ce484222325ULL;
    ckpt_fnv1a(&h, text, len);
    free(text);
    return h;
}

int ckpt_write(const char *path, const TrainConfig *cfg, const Model *m, const Optim *o, long step,
               CkptContents what, BbError *err) {
    AtomicFile af;
    int rc = afile_open(&af, path, err);
    if (rc) return rc;
    /* The header: the experiment's configuration only (no paths or thread counts), so
     * the same experiment gives the same bytes wherever and however it ran. */
    char *text = NULL;
    size_t textlen = 0;
    FILE *mem = open_memstream(&text, &textlen);
    train_config_write(mem, cfg, 0);
    fputs("end\n", mem);
    fclose(mem);
    HashFile hf = {af.f, 0xcbf29ce484222325ULL, 0};
    uint32_t version = FORMAT_VERSION, hlen = (uint32_t)textlen, okind = (uint32_t)o->cfg.kind,
             has_optim = what == CKPT_FULL;
    uint64_t ustep = (uint64_t)step, n = m->nparams, t = (uint64_t)o->t;
    hput(&hf, MAGIC, sizeof MAGIC);
    hput(&hf, &version, sizeof version);
    hput(&hf, &hlen, sizeof hlen);
    hput(&hf, text, textlen);
    uint64_t id = cfg->run_id ? cfg->run_id : ckpt_identity(cfg, NULL);
    hput(&hf, &id, sizeof id);
    hput(&hf, &ustep, sizeof ustep);
    hput(&hf, &n, sizeof n);
    hput(&hf, &okind, sizeof okind);
    hput(&hf, &has_optim, sizeof has_optim);
    hput(&hf, &t, sizeof t);
    hput(&hf, m->params, n * sizeof(float));
    if (has_optim) {
        hput(&hf, o->m, n * sizeof(float));
        if (o->v) hput(&hf, o->v, n * sizeof(float));
    }
    uint64_t sum = hf.hash;
    fwrite(&sum, sizeof sum, 1, af.f);
    free(text);
    return afile_commit(&af, err); /* reports a failed write (EFBIG, ENOSPC) naming path, removes the .tmp */
}

static int truncated(BbError *err, const char *path, const char *what) {
    return bb_fail(err, BB_ECORRUPT, "%s: truncated checkpoint (file ends inside %s)", path, what);
}

/* The header up to the step: magic, version, configuration, identity (stored from version
 * 3, computed from the configuration before). */
static int read_header(HashFile *hf, const char *path, TrainConfig *cfg, uint32_t *version, BbError *err) {
    char magic[8];
    uint32_t hlen;
    if (hget(hf, magic, sizeof magic) || memcmp(magic, MAGIC, sizeof MAGIC))
        return bb_fail(err, BB_ECORRUPT, "%s: not a bbsim checkpoint (bad magic)", path);
    if (hget(hf, version, sizeof *version)) return truncated(err, path, "the version");
    if (*version < FORMAT_OLDEST || *version > FORMAT_VERSION)
        return bb_fail(err, BB_ECORRUPT, "%s: checkpoint format version %u, this bbsim reads versions %d to %d", path,
                       *version, FORMAT_OLDEST, FORMAT_VERSION);
    if (hget(hf, &hlen, sizeof hlen)) return truncated(err, path, "the header length");
    if (hlen > (1u << 20)) return bb_fail(err, BB_ECORRUPT, "%s: corrupt checkpoint (header of %u bytes)", path, hlen);
    char *text = bb_malloc(hlen + 1);
    if (hget(hf, text, hlen)) {
        free(text);
        return truncated(err, path, "the configuration header");
    }
    text[hlen] = '\0';
    train_config_default(cfg);
    FILE *mem = fmemopen(text, hlen, "r");
    char where[BB_STRLEN + 32];
    snprintf(where, sizeof where, "%s (configuration header)", path);
    int rc = mem ? train_config_read(mem, cfg, where, err) : bb_fail(err, BB_EINPUT, "%s: empty header", path);
    if (mem) fclose(mem);
    free(text);
    if (rc) return rc;
    if (*version >= 3) {
        if (hget(hf, &cfg->run_id, sizeof cfg->run_id)) return truncated(err, path, "the run identity");
    } else {
        cfg->run_id = ckpt_identity(cfg, NULL);
    }
    return BB_OK;
}

int ckpt_peek(const char *path, CkptInfo *info, BbError *err) {
    memset(info, 0, sizeof *info);
    FILE *f; /* a regular file only: a FIFO named step_N.bbck would block the reader */
    if (bb_open_input(&f, path, "checkpoint", LLONG_MAX, err)) return BB_EINPUT;
    HashFile hf = {f, 0xcbf29ce484222325ULL, 0};
    TrainConfig cfg;
    uint32_t version, okind, has_optim = 1;
    uint64_t ustep, n;
    int rc = read_header(&hf, path, &cfg, &version, err);
    if (!rc && (hget(&hf, &ustep, sizeof ustep) || hget(&hf, &n, sizeof n) || hget(&hf, &okind, sizeof okind) ||
                (version >= 2 && hget(&hf, &has_optim, sizeof has_optim))))
        rc = truncated(err, path, "the step and sizes");
    fclose(f);
    if (rc) return rc;
    info->version = version;
    info->id = cfg.run_id;
    info->step = (long)ustep;
    info->has_optim = has_optim == 1;
    return BB_OK;
}

int ckpt_read(const char *path, TrainConfig *cfg, Task *task, Model *m, Optim *o, long *step, BbError *err) {
    return ckpt_read_inputs(path, NULL, cfg, task, m, o, step, err);
}

/* The checksum over the whole file (the last 8 bytes: FNV-1a of every byte before them),
 * for a header that did not parse: damage there reads as damage ("corrupt checkpoint"),
 * not as a bad setting. */
static int verify_checksum(FILE *f, const char *path, BbError *err) {
    char magic[8];
    rewind(f);
    if (fread(magic, 1, sizeof magic, f) != sizeof magic || memcmp(magic, MAGIC, sizeof MAGIC))
        return bb_fail(err, BB_ECORRUPT, "%s: not a bbsim checkpoint (bad magic)", path);
    if (fseek(f, 0, SEEK_END) != 0) return bb_fail(err, BB_EINPUT, "%s: cannot seek: %s", path, strerror(errno));
    const long size = ftell(f);
    if (size < (long)(sizeof magic + sizeof(uint64_t))) return truncated(err, path, "the header");
    rewind(f);
    uint64_t hash = 0xcbf29ce484222325ULL, sum;
    char buf[1 << 16];
    for (long left = size - (long)sizeof sum; left > 0;) {
        const size_t want = left < (long)sizeof buf ? (size_t)left : sizeof buf;
        if (fread(buf, 1, want, f) != want) return truncated(err, path, "the data");
        ckpt_fnv1a(&hash, buf, want);
        left -= (long)want;
    }
    if (fread(&sum, sizeof sum, 1, f) != 1) return truncated(err, path, "the checksum");
    if (sum != hash) return bb_fail(err, BB_ECORRUPT, "%s: corrupt checkpoint (checksum mismatch)", path);
    return BB_OK;
}

/* The task and the model (its weights not read yet) of the header's configuration, the
 * tables from inputs[i] where given, checked against the file's parameter count n and
 * optimizer kind. On failure nothing is left allocated. */
static int build_from_header(const char *path, const char *const *inputs, const TrainConfig *cfg, uint64_t n,
                             uint32_t okind, Task *task, Model *m, BbError *err) {
    TaskConfig tc = cfg->task; /* the run's recorded copies of its tables, when given */
    for (int i = 0; inputs && i < CKPT_NINPUTS; i++)
        if (inputs[i]) snprintf(ckpt_input_path(&tc, i), BB_STRLEN, "%s", inputs[i]);
    int rc = task_build(task, &tc, err);
    if (rc) return rc;
    ModelConfig mc = cfg->model;
    train_model_config_from_task(&mc, task);
    if ((rc = model_alloc(m, &mc, err))) {
        task_free(task);
        return rc;
    }
    if (n != m->nparams)
        rc = bb_fail(err, BB_EINPUT, "%s: checkpoint holds %llu parameters, its configuration needs %zu", path,
                     (unsigned long long)n, m->nparams);
    else if ((int)okind != cfg->optim.kind)
        rc = bb_fail(err, BB_ECORRUPT, "%s: corrupt checkpoint (optimizer kind %u, configuration says %s)", path,
                     okind, optim_kind_names[cfg->optim.kind]);
    if (rc) {
        model_free(m);
        task_free(task);
    }
    return rc;
}

/* What follows the sizes: the parameters into m, the optimizer state (when has_optim) into
 * *opt (oc, t updates), then the checksum, which ends the file. On failure *opt is freed. */
static int read_data(HashFile *hf, const char *path, const OptimConfig *oc, int has_optim, uint64_t t, Model *m,
                     Optim *opt, BbError *err) {
    const size_t n = m->nparams;
    uint64_t sum;
    int rc = BB_OK;
    *opt = (Optim){0};
    if (hget(hf, m->params, n * sizeof(float))) return truncated(err, path, "the parameters");
    if (has_optim) {
        optim_alloc(opt, oc, n);
        opt->t = (long)t;
    }
    if (has_optim && (hget(hf, opt->m, n * sizeof(float)) || (opt->v && hget(hf, opt->v, n * sizeof(float)))))
        rc = truncated(err, path, "the optimizer state");
    else if (fread(&sum, sizeof sum, 1, hf->f) != 1)
        rc = truncated(err, path, "the checksum");
    else if (sum != hf->hash)
        rc = bb_fail(err, BB_ECORRUPT, "%s: corrupt checkpoint (checksum mismatch)", path);
    else if (fgetc(hf->f) != EOF)
        rc = bb_fail(err, BB_ECORRUPT, "%s: corrupt checkpoint (trailing bytes after the checksum)", path);
    if (rc) optim_free(opt);
    return rc;
}

int ckpt_read_inputs(const char *path, const char *const *inputs, TrainConfig *cfg, Task *task, Model *m, Optim *o,
                     long *step, BbError *err) {
    FILE *f; /* a regular file only: a FIFO named step_N.bbck would block the reader */
    if (bb_open_input(&f, path, "checkpoint", LLONG_MAX, err)) return BB_EINPUT;
    HashFile hf = {f, 0xcbf29ce484222325ULL, 0};
    uint32_t version, okind, has_optim = 1; /* version 1 always holds it */
    uint64_t ustep, n, t;
    int rc, have_state = 0;
    Optim tmp;
    if ((rc = read_header(&hf, path, cfg, &version, err))) {
        /* a header that does not parse (a flipped bit in "vocab 64" reads as a bad value)
         * in a file whose checksum fails is damage, said as such: resume then falls back to
         * an earlier checkpoint; a file cut short says so itself */
        BbError sum_err;
        const int sum_rc = hf.short_read ? BB_OK : verify_checksum(f, path, &sum_err);
        if (sum_rc) {
            rc = sum_rc;
            *err = sum_err;
        }
        goto fail;
    }
    if (hget(&hf, &ustep, sizeof ustep) || hget(&hf, &n, sizeof n) || hget(&hf, &okind, sizeof okind) ||
        (version >= 2 && hget(&hf, &has_optim, sizeof has_optim)) || hget(&hf, &t, sizeof t)) {
        rc = truncated(err, path, "the step and sizes");
        goto fail;
    }
    if (has_optim > 1) {
        rc = bb_fail(err, BB_ECORRUPT, "%s: corrupt checkpoint (optimizer-state flag %u)", path, has_optim);
        goto fail;
    }
    if ((rc = build_from_header(path, inputs, cfg, n, okind, task, m, err))) goto fail;
    have_state = 1;
    if ((rc = read_data(&hf, path, &cfg->optim, has_optim, t, m, &tmp, err))) goto fail;
    if (o && !has_optim) { /* checked last: a damaged file says so first */
        const char *slash = strrchr(path, '/');
        int dirlen = slash ? (int)(slash - path) : 1;
        rc = bb_fail(err, BB_EINPUT,
                     "%s holds weights only (no optimizer state); resume from the latest checkpoint, whose full "
                     "state is in %.*s/" CKPT_RESUME_FILE,
                     path, dirlen, slash ? path : ".");
        goto fail;
    }
    if (o) *o = tmp;
    else optim_free(&tmp);
    *step = (long)ustep;
    fclose(f);
    return BB_OK;
fail:
    if (have_state) {
        model_free(m);
        task_free(task);
    }
    fclose(f);
    return rc;
}
