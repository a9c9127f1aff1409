/* A run's persistence: its checkpoints saved (the previous full state kept), its
 * directory taken over or refused, config.txt and metrics.tsv, and --resume: the state
 * rebuilt from the latest checkpoint that verifies, a damaged one skipped
 * (docs/format.md#run-directories). */
#include "train_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bbsim/blas.h"
#include "bbsim/checkpoint.h"
#include "bbsim/tsv.h"

/* ------------------------------------------------------------ metrics.tsv and config.txt */

/* On --resume: metrics.tsv holds one row per update, steps 1..upto in order (what the run
 * wrote before the checkpoint it continues from; flushed before every checkpoint). A row
 * missing, out of order, or the file gone is refused, naming the first missing step: the
 * checkpoints are fine, but the loss curve would have a hole. The rows after upto are
 * dropped, atomically. Opened through bb_open_input (lines_open), so a FIFO or device
 * named metrics.tsv is refused rather than waited on. */
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

/* ------------------------------------------------------------ checkpoints */

/* Remove ckpt/resume.bbck and resume.prev.bbck (absent: fine). */
static int remove_resume_files(const char *dir, BbError *err) {
    char full[BB_STRLEN + 64];
    for (int i = 0; i < 2; i++) {
        (i ? ckpt_resume_prev_path : ckpt_resume_path)(full, sizeof full, dir);
        if (unlink(full) != 0 && errno != ENOENT)
            return bb_fail(err, BB_EIO, "cannot remove %s: %s", full, strerror(errno));
    }
    return BB_OK;
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
int checkpoint_save(const TrainConfig *c, const Model *model, const Optim *opt, long step, int scheduled, char *path,
                    size_t len, BbError *err) {
    const int all = c->ckpt_optim == CKPT_OPTIM_ALL;
    int rc;
    char full[BB_STRLEN + 64];
    if (scheduled) {
        ckpt_path(path, len, c->out, step);
        if ((rc = ckpt_write(path, c, model, opt, step, all ? CKPT_FULL : CKPT_WEIGHTS, err))) return rc;
        if (all) /* the step file holds the full state: an interrupt's resume files are stale */
            return remove_resume_files(c->out, err);
    }
    ckpt_resume_path(full, sizeof full, c->out);
    if (!scheduled) snprintf(path, len, "%s", full);
    if ((rc = keep_previous(c->out, err))) return rc;
    return ckpt_write(full, c, model, opt, step, CKPT_FULL, err);
}

/* ------------------------------------------------------------ the state: --resume or fresh */

/* Free what the state holds. */
static void state_free(TrainState *s) {
    if (!s->have_state) return;
    optim_free(&s->opt);
    model_free(&s->model);
    task_free(&s->task);
    s->have_state = 0;
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

/* Add checkpoint `name` to the candidates when it holds the optimizer state, or when its
 * header does not read (loading it says why); the resume files only when they exist. */
static void cand_add(Cand *cand, int *ncand, const char *dir, long name) {
    char path[BB_STRLEN + 64];
    CkptInfo info;
    BbError ignore;
    cand_path(path, sizeof path, dir, name);
    if (name < 0 && access(path, F_OK) != 0) return;
    const int ok = ckpt_peek(path, &info, &ignore) == BB_OK;
    if (!ok || info.has_optim) {
        cand[*ncand] = (Cand){name, ok ? info.step : LONG_MAX, *ncand};
        (*ncand)++;
    }
}

/* The candidates of a resume, latest first: the two resume files and the step files
 * steps[0..n) that hold the optimizer state. None: the last step file, whose loading
 * refuses weights only, saying where the state is. */
static Cand *resume_candidates(const char *dir, const long *steps, int n, int *ncand) {
    Cand *cand = bb_malloc(sizeof(Cand) * (size_t)(n + 2));
    *ncand = 0;
    for (long name = -1; name >= -2; name--) cand_add(cand, ncand, dir, name);
    for (int i = n - 1; i >= 0; i--) cand_add(cand, ncand, dir, steps[i]);
    if (*ncand == 0) cand[(*ncand)++] = (Cand){steps[n - 1], 0, 0};
    qsort(cand, (size_t)*ncand, sizeof *cand, cand_later_first);
    return cand;
}

/* Load the first candidate that loads into s (its configuration into *saved). A damaged
 * one (BB_ECORRUPT) falls back to the next, saying so; anything else (foreign, changed
 * inputs, weights only) stops. On failure err is the first candidate's error, or that of
 * the one that stopped. */
static int resume_load(const char *dir, const Cand *cand, int ncand, TrainConfig *saved, TrainState *s,
                       BbError *err) {
    char path[BB_STRLEN + 64];
    BbError first;
    int rc = BB_EINPUT;
    for (int k = 0; k < ncand; k++) {
        cand_path(path, sizeof path, dir, cand[k].name);
        BbError e;
        rc = run_ckpt_load(dir, path, cand[k].name < 0 ? -1 : cand[k].name, saved, &s->task, &s->model, &s->opt,
                           &s->step, &e);
        if (rc == BB_OK) return BB_OK;
        if (k == 0) first = e;
        if (rc != BB_ECORRUPT) {
            if (k > 0) first = e;
            break;
        }
        if (k + 1 < ncand) bb_say(stderr, "bbsim train: skipping a damaged checkpoint: %s\n", e.msg);
    }
    *err = first;
    return rc;
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

/* The state of a run: rebuilt from the last checkpoint of c->resume that verifies (its
 * checksum reads, it carries the run's identity and holds the optimizer state), latest
 * first among ckpt/resume.bbck, resume.prev.bbck and the step files that hold the
 * optimizer state (--ckpt-optim all, or format version 1). A damaged one is skipped,
 * saying so; a foreign or renamed one is refused (run_checkpoints). The tables
 * are the run's recorded copies (DIR/inputs/). Only steps, eval_every, threads and quiet
 * come from the command line (steps / eval_every < 0: not given, keep the run's own). */
static int state_resume(TrainConfig *c, TrainState *s, BbError *err) {
    long *steps;
    int n, rc;
    if ((rc = run_checkpoints(c->resume, &steps, &n, err))) {
        if (rc != BB_ENOENT) return rc;
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return bb_fail(err, rc, "%s: the run never saved a checkpoint; start it again with --out %s", inner,
                       c->resume);
    }
    if ((rc = run_meta_read(c->resume, &s->meta, err))) { free(steps); return rc; }
    int ncand;
    Cand *cand = resume_candidates(c->resume, steps, n, &ncand);
    free(steps);
    TrainConfig saved;
    rc = resume_load(c->resume, cand, ncand, &saved, s, err);
    free(cand);
    if (rc) return rc;
    s->have_state = 1;
    if (saved.chunks == 0) saved.chunks = saved.batch < 8 ? saved.batch : 8; /* the rule of runs made before 0.2 */
    if (c->steps >= 0 && c->steps != saved.steps && saved.optim.cosine)
        return bb_fail(err, BB_EINPUT,
                       "%s: --steps %ld: the run's learning rate decays over its %ld steps (--cosine), which a resume "
                       "cannot change; resume without --steps, or train a new run with --steps %ld",
                       c->resume, c->steps, saved.steps, c->steps);
    if (c->steps >= 0) saved.steps = c->steps;
    saved.threads = c->threads;
    saved.quiet = c->quiet;
    if (c->eval_every >= 0) saved.eval_every = c->eval_every;
    snprintf(saved.out, sizeof saved.out, "%s", c->resume);
    snprintf(saved.resume, sizeof saved.resume, "%s", c->resume);
    *c = saved;
    s->meta.have_id = 1;
    s->meta.id = c->run_id;
    if (s->step > c->steps)
        return bb_fail(err, BB_EINPUT, "%s: last checkpoint is at step %ld, beyond --steps %ld", c->out, s->step,
                       c->steps);
    return memory_check(c, &s->model.cfg, 0, err); /* --threads may have changed */
}

static int state_fresh(const TrainConfig *c, TrainState *s, BbError *err) {
    int rc;
    if ((rc = task_build(&s->task, &c->task, err))) return rc;
    ModelConfig mc = c->model;
    train_model_config_from_task(&mc, &s->task);
    if ((rc = model_validate(&mc, err)) || (rc = memory_check(c, &mc, 1, err)) ||
        (rc = model_build(&s->model, &mc, err))) {
        task_free(&s->task);
        return rc;
    }
    optim_alloc(&s->opt, &c->optim, s->model.nparams);
    s->have_state = 1;
    return BB_OK;
}

/* ------------------------------------------------------------ the run directory */

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

/* ------------------------------------------------------------ open, prepare, close */

/* --resume: the run's directory exists: lock it before reading its state. */
static int open_resumed(TrainState *s, TrainConfig *c, BbError *err) {
    struct stat st;
    const int bad = stat(c->resume, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    int rc = bad ? bb_fail(err, BB_EINPUT, "%s: not a run directory (%s)", c->resume, strerror(bad))
                 : run_lock(c->resume, &s->lock, err);
    if (!rc) rc = run_lock_ckpt(c->resume, &s->ckpt_lock, err);
    if (!rc && run_dir_state(c->resume) == DIR_DIED)
        rc = bb_fail(err, BB_EINPUT,
                     "%s: the run was stopped before its first full checkpoint (no %s/ckpt/%s): nothing to resume; "
                     "start it over with the command that started it (config.txt, line '# command')",
                     c->resume, c->resume, CKPT_RESUME_FILE);
    return rc ? rc : state_resume(c, s, err);
}

/* A fresh run: the state first (a configuration that does not build writes nothing), then
 * --out made and locked. */
static int open_fresh(TrainState *s, TrainConfig *c, BbError *err) {
    if (c->chunks == 0) c->chunks = trainer_chunks_auto(c->batch, c->task.seq); /* recorded */
    int rc = state_fresh(c, s, err);
    if (!rc) rc = bb_mkdirs(c->out, err);
    if (!rc) rc = run_lock(c->out, &s->lock, err);
    if (!rc) rc = run_lock_ckpt(c->out, &s->ckpt_lock, err);
    return rc;
}

int state_open(TrainState *s, TrainConfig *c, BbError *err) {
    *s = (TrainState){.lock = -1, .ckpt_lock = -1};
    return c->resume[0] ? open_resumed(s, c, err) : open_fresh(s, c, err);
}

/* A fresh run's --out: refused when it holds a run, or a config.txt or metrics.tsv bbsim
 * did not write; the step-0 weights of a run stopped before its first full checkpoint
 * removed (they may be another configuration's). */
static int dir_take_over(const TrainConfig *c, const char *ckdir, BbError *err) {
    const DirState state = run_dir_state(c->out);
    int rc;
    if (state == DIR_STARTED)
        return bb_fail(err, BB_EINPUT,
                       "%s already holds a run (ckpt/ holds checkpoints): continue it with --resume %s, or choose "
                       "another --out",
                       c->out, c->out);
    if ((rc = check_own_file(c->out, "config.txt", NULL, err)) ||
        (rc = check_own_file(c->out, "metrics.tsv", TRAIN_METRICS_COLUMNS, err)))
        return rc;
    if (state != DIR_DIED) return BB_OK;
    char step0[BB_STRLEN + 64];
    ckpt_path(step0, sizeof step0, c->out, 0);
    bb_say(stderr, "bbsim train: %s holds a run stopped before its first full checkpoint (no %s/%s): "
                   "starting it over\n", c->out, ckdir, CKPT_RESUME_FILE);
    if (unlink(step0) != 0 && errno != ENOENT)
        return bb_fail(err, BB_EIO, "cannot remove %s: %s", step0, strerror(errno));
    return BB_OK;
}

/* A fresh run's record: its input tables copied and hashed, its identity; the full states
 * and metrics.tsv left by a run that never saved a checkpoint removed. */
static int dir_start(TrainConfig *c, TrainState *s, BbError *err) {
    int rc;
    if ((rc = run_inputs_record(c->out, &c->task, &s->meta, err))) return rc;
    s->meta.have_id = 1;
    s->meta.id = c->run_id = ckpt_identity(c, s->meta.input_hash);
    if ((rc = remove_resume_files(c->out, err))) return rc;
    if (unlink(s->mpath) != 0 && errno != ENOENT)
        return bb_fail(err, BB_EIO, "cannot remove %s: %s", s->mpath, strerror(errno));
    return BB_OK;
}

int state_prepare_dir(TrainState *s, TrainConfig *c, BbError *err) {
    char ckdir[BB_STRLEN + 16];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", c->out);
    snprintf(s->mpath, sizeof s->mpath, "%s/metrics.tsv", c->out);
    const int fresh = !c->resume[0];
    int rc;
    if (fresh && (rc = dir_take_over(c, ckdir, err))) return rc;
    if ((rc = bb_mkdirs(ckdir, err))) return rc;
    if (s->ckpt_lock < 0 && (rc = run_lock_ckpt(c->out, &s->ckpt_lock, err))) return rc; /* made just now */
    if (fresh && (rc = dir_start(c, s, err))) return rc;
    /* metrics.tsv first: a resume it refuses leaves config.txt as it was */
    if (!fresh && (rc = metrics_truncate(s->mpath, s->step, err))) return rc;
    if ((rc = write_config_file(c, &s->meta, err))) return rc;
    const int exists = access(s->mpath, F_OK) == 0;
    if (!(s->metrics = fopen(s->mpath, "a")))
        return bb_fail(err, BB_EIO, "cannot open %s: %s", s->mpath, strerror(errno));
    if (!exists) tsv_write_head(s->metrics, TRAIN_METRICS_COLUMNS); /* the column names, then the provenance */
    return BB_OK;
}

int state_close(TrainState *s, int rc, BbError *err) {
    if (s->metrics && fclose(s->metrics) != 0 && rc == BB_OK)
        rc = bb_fail(err, BB_EIO, "cannot write %s: %s", s->mpath, strerror(errno));
    s->metrics = NULL;
    state_free(s);
    run_unlock(s->ckpt_lock);
    run_unlock(s->lock);
    return rc;
}
