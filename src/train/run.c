/* Run directories read back: the checkpoints a run holds (each checked to belong to the
 * run), its recorded inputs, its lock, and a trained model loaded from one checkpoint
 * (task and model rebuilt from the checkpoint's own configuration).
 * docs/format.md#run-directories. */
#include "bbsim/run.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bbsim/checkpoint.h"

/* ------------------------------------------------------------ config.txt: identity and inputs */

static void meta_clear(RunMeta *m) { memset(m, 0, sizeof *m); }

int run_meta_read(const char *dir, RunMeta *m, BbError *err) {
    char path[BB_STRLEN + 16];
    snprintf(path, sizeof path, "%s/config.txt", dir);
    return run_meta_read_file(path, dir, m, err);
}

int run_meta_read_file(const char *path, const char *dir, RunMeta *m, BbError *err) {
    meta_clear(m);
    char line[BB_STRLEN + 256];
    FILE *f = NULL;
    struct stat st;
    if (stat(path, &st) == 0 || errno != ENOENT) { /* a regular file only (a FIFO would block) */
        int rc = bb_open_input(&f, path, "run configuration", BB_MAX_CONFIG_BYTES, err);
        if (rc) return rc;
    }
    if (!f) { /* a run of bbsim before checkpoint format 3, or a bare ckpt/: no record; but a run
               * with recorded inputs whose config.txt is gone must not read the original tables */
        for (int i = 0; ckpt_input_names[i]; i++) {
            char copy[BB_STRLEN + 64];
            snprintf(copy, sizeof copy, "%s/" RUN_INPUTS_DIR "/%s.txt", dir, ckpt_input_names[i]);
            if (access(copy, F_OK) == 0)
                return bb_fail(err, BB_EINPUT,
                               "%s is missing, but the run recorded its inputs in %s/" RUN_INPUTS_DIR "/ (config.txt "
                               "holds their hashes and the run identity): restore it from a copy of the run",
                               path, dir);
        }
        return BB_OK;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long long h;
        char name[32];
        if (sscanf(line, "# run-id %16llx", &h) == 1) {
            m->have_id = 1;
            m->id = h;
        } else if (sscanf(line, "# input %31s %16llx", name, &h) == 2) {
            int i = 0;
            while (ckpt_input_names[i] && strcmp(ckpt_input_names[i], name)) i++;
            if (!ckpt_input_names[i]) {
                fclose(f);
                return bb_fail(err, BB_EINPUT, "%s: unknown recorded input '%s'", path, name);
            }
            m->recorded[i] = 1;
            m->input_hash[i] = h;
        }
    }
    fclose(f);
    return BB_OK;
}

void run_meta_write(FILE *f, const RunMeta *m) {
    fprintf(f, "# run-id %016llx\n", (unsigned long long)m->id);
    for (int i = 0; i < CKPT_NINPUTS; i++)
        if (m->recorded[i])
            fprintf(f, "# input %s %016llx " RUN_INPUTS_DIR "/%s.txt\n", ckpt_input_names[i],
                    (unsigned long long)m->input_hash[i], ckpt_input_names[i]);
}

/* FNV-1a of a file's bytes, copying them to `to` (atomically) when to != NULL. */
static int hash_file(const char *path, const char *to, uint64_t *h, BbError *err) {
    FILE *in;
    int rc = bb_open_input(&in, path, "input table", BB_MAX_CORPUS_BYTES, err);
    if (rc) return rc;
    AtomicFile af;
    if (to && (rc = afile_open(&af, to, err))) {
        fclose(in);
        return rc;
    }
    *h = 0xcbf29ce484222325ULL;
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0) {
        ckpt_fnv1a(h, buf, got);
        if (to) fwrite(buf, 1, got, af.f);
    }
    int bad = ferror(in);
    fclose(in);
    if (bad) {
        if (to) afile_abort(&af);
        return bb_fail(err, BB_EIO, "cannot read %s", path);
    }
    return to ? afile_commit(&af, err) : BB_OK;
}

int run_inputs_record(const char *dir, const TaskConfig *tc, RunMeta *m, BbError *err) {
    char sub[BB_STRLEN + 16], to[BB_STRLEN + 64];
    snprintf(sub, sizeof sub, "%s/" RUN_INPUTS_DIR, dir);
    TaskConfig t = *tc;
    for (int i = 0; i < CKPT_NINPUTS; i++) {
        m->recorded[i] = 0;
        const char *from = ckpt_input_path(&t, i);
        if (!from[0]) continue;
        int rc = bb_mkdirs(sub, err);
        if (rc) return rc;
        snprintf(to, sizeof to, "%s/%s.txt", sub, ckpt_input_names[i]);
        if ((rc = hash_file(from, to, &m->input_hash[i], err))) return rc;
        m->recorded[i] = 1;
    }
    return BB_OK;
}

int run_inputs_paths(const char *dir, const RunMeta *m, char paths[][BB_STRLEN], const char **inputs,
                     BbError *err) {
    for (int i = 0; i < CKPT_NINPUTS; i++) {
        inputs[i] = NULL;
        if (!m->recorded[i]) continue;
        if (snprintf(paths[i], BB_STRLEN, "%s/" RUN_INPUTS_DIR "/%s.txt", dir, ckpt_input_names[i]) >= BB_STRLEN)
            return bb_fail(err, BB_EINPUT, "run directory path too long: %s", dir);
        uint64_t h;
        int rc = hash_file(paths[i], NULL, &h, err);
        if (rc) return rc;
        if (h != m->input_hash[i])
            return bb_fail(err, BB_EINPUT, "%s: changed since the run started (hash %016llx, recorded %016llx)",
                           paths[i], (unsigned long long)h, (unsigned long long)m->input_hash[i]);
        inputs[i] = paths[i];
    }
    return BB_OK;
}

/* ------------------------------------------------------------ the lock */

int run_lock(const char *dir, int *fd, BbError *err) {
    char path[BB_STRLEN + 16];
    snprintf(path, sizeof path, "%s/" RUN_LOCK_FILE, dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0) return bb_fail(err, BB_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char pid[32] = "";
        ssize_t got = pread(*fd, pid, sizeof pid - 1, 0);
        pid[got > 0 ? got : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(*fd);
        *fd = -1;
        if (saved == EWOULDBLOCK)
            return bb_fail(err, BB_EINPUT, "%s is in use by another bbsim train (pid %s)", dir, pid[0] ? pid : "?");
        return bb_fail(err, BB_EIO, "cannot lock %s: %s", path, strerror(saved));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)len, 0) != len) { /* the pid only informs */
    }
    return BB_OK;
}

int run_lock_ckpt(const char *dir, int *fd, BbError *err) {
    char path[BB_STRLEN + 16];
    snprintf(path, sizeof path, "%s/ckpt", dir);
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return errno == ENOENT ? BB_OK : bb_fail(err, BB_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return BB_OK;
    const int saved = errno;
    close(*fd);
    *fd = -1;
    if (saved != EWOULDBLOCK) return bb_fail(err, BB_EIO, "cannot lock %s: %s", path, strerror(saved));
    char target[PATH_MAX] = "";
    const ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    return bb_fail(err, BB_EINPUT,
                   "%s is in use by another bbsim train: another run's ckpt/ is this folder too (%s%s); give %s a "
                   "ckpt/ folder of its own",
                   path, n > 0 ? "a symbolic link to " : "a symbolic link or a bind mount?", target, dir);
}

void run_unlock(int fd) {
    if (fd >= 0) close(fd); /* releases the flock; the file stays (removing it would race) */
}

/* ------------------------------------------------------------ checkpoints */

/* The identity every checkpoint of dir must carry: config.txt's run-id, or (runs before
 * checkpoint format 3) that of the earliest step file whose header reads. *have = 0: none known. */
static int run_reference(const char *dir, const RunMeta *m, const long *steps, int n, uint64_t *ref, int *have) {
    *have = 0;
    if (m->have_id) {
        *ref = m->id;
        *have = 1;
        return BB_OK;
    }
    for (int i = 0; i < n; i++) {
        char path[BB_STRLEN + 64];
        CkptInfo info;
        BbError ignore;
        ckpt_path(path, sizeof path, dir, steps[i]);
        if (ckpt_peek(path, &info, &ignore) == BB_OK) {
            *ref = info.id;
            *have = 1;
            return BB_OK;
        }
    }
    return BB_OK;
}

static int foreign(BbError *err, const char *path, uint64_t id, uint64_t ref) {
    return bb_fail(err, BB_EINPUT,
                   "%s: checkpoint of another run (run identity %016llx, this run's is %016llx); move it out of "
                   "ckpt/",
                   path, (unsigned long long)id, (unsigned long long)ref);
}

static int renamed(BbError *err, const char *path, long inner) {
    return bb_fail(err, BB_EINPUT, "%s: holds step %ld (renamed?); move it out of ckpt/", path, inner);
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* step_NNNNNNNNN.bbck exactly as ckpt_path writes it: 1, its step in *s. */
static int step_name(const char *name, long *s) {
    char tail[8], back[64];
    if (sscanf(name, "step_%ld.bbc%7s", s, tail) != 2 || strcmp(tail, "k") || *s < 0) return 0;
    snprintf(back, sizeof back, "step_%09ld.bbck", *s);
    return strcmp(back, name) == 0;
}

int run_checkpoints(const char *dir, long **steps, int *n, BbError *err) {
    char path[BB_STRLEN + 16], file[BB_STRLEN + 300];
    snprintf(path, sizeof path, "%s/ckpt", dir);
    DIR *d = opendir(path);
    *steps = NULL;
    *n = 0;
    if (!d) return bb_fail(err, BB_EINPUT, "%s: not a run directory (cannot open %s: %s)", dir, path, strerror(errno));
    int cap = 0, rc = BB_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        long s;
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (name[0] == '.' || (len > 4 && !strcmp(name + len - 4, ".tmp"))) continue; /* a write under way */
        if (!strcmp(name, CKPT_RESUME_FILE) || !strcmp(name, CKPT_RESUME_PREV_FILE)) continue;
        if (!step_name(name, &s)) {
            snprintf(file, sizeof file, "%s/%s", path, name);
            rc = bb_fail(err, BB_EINPUT,
                         "%s: not a checkpoint of this run (ckpt/ holds only step_NNNNNNNNN.bbck, "
                         CKPT_RESUME_FILE " and " CKPT_RESUME_PREV_FILE "); move it out of ckpt/",
                         file);
            break;
        }
        if (*n == cap) *steps = realloc(*steps, sizeof(long) * (size_t)(cap = cap ? 2 * cap : 64));
        if (!*steps) { closedir(d); return bb_fail(err, BB_ENOMEM, "out of memory"); }
        (*steps)[(*n)++] = s;
    }
    closedir(d);
    if (!rc && *n == 0) rc = bb_fail(err, BB_ENOENT, "%s: no checkpoints in %s", dir, path);
    if (!rc) qsort(*steps, (size_t)*n, sizeof(long), cmp_long);
    /* every step file (and the two resume files) must carry this run's identity and its own step;
     * one whose header does not read is damaged, and said so when it is loaded */
    RunMeta m;
    uint64_t ref;
    int have = 0;
    if (!rc) rc = run_meta_read(dir, &m, err);
    if (!rc) run_reference(dir, &m, *steps, *n, &ref, &have);
    for (int i = 0; !rc && i <= *n + 1; i++) {
        CkptInfo info;
        BbError ignore;
        if (i < *n) ckpt_path(file, sizeof file, dir, (*steps)[i]);
        else if (i == *n) ckpt_resume_path(file, sizeof file, dir);
        else ckpt_resume_prev_path(file, sizeof file, dir);
        if (ckpt_peek(file, &info, &ignore) != BB_OK) continue;
        if (i < *n && info.step != (*steps)[i]) rc = renamed(err, file, info.step);
        else if (have && info.id != ref) rc = foreign(err, file, info.id, ref);
    }
    if (rc) {
        free(*steps);
        *steps = NULL;
        *n = 0;
    }
    return rc;
}

int run_ckpt_load(const char *dir, const char *path, long name_step, TrainConfig *cfg, Task *task, Model *model,
                  Optim *opt, long *step, BbError *err) {
    RunMeta m;
    char copies[CKPT_NINPUTS][BB_STRLEN];
    const char *inputs[CKPT_NINPUTS];
    int rc;
    if ((rc = run_meta_read(dir, &m, err)) || (rc = run_inputs_paths(dir, &m, copies, inputs, err))) return rc;
    if ((rc = ckpt_read_inputs(path, inputs, cfg, task, model, opt, step, err))) return rc;
    long *steps = NULL;
    int n = 0, have = 0;
    uint64_t ref = 0;
    if (!m.have_id) { /* runs before checkpoint format 3: the earliest checkpoint is the reference */
        BbError ignore;
        if (run_checkpoints(dir, &steps, &n, &ignore) != BB_OK) n = 0;
    }
    run_reference(dir, &m, steps, n, &ref, &have);
    free(steps);
    if (name_step >= 0 && *step != name_step) rc = renamed(err, path, *step);
    else if (have && cfg->run_id != ref) rc = foreign(err, path, cfg->run_id, ref);
    if (rc) {
        if (opt) optim_free(opt);
        model_free(model);
        task_free(task);
    }
    return rc;
}

/* A run to analyse has no other checkpoint to fall back on: what does not load is bad input. */
static int input_kind(int rc) { return rc == BB_ECORRUPT || rc == BB_ENOENT ? BB_EINPUT : rc; }

int run_load(Run *r, const char *dir, long step, BbError *err) {
    memset(r, 0, sizeof *r);
    if (step < 0) {
        long *steps;
        int n;
        int rc = run_checkpoints(dir, &steps, &n, err);
        if (rc) return input_kind(rc);
        step = steps[n - 1];
        free(steps);
    }
    if (ckpt_path(r->path, sizeof r->path, dir, step))
        return bb_fail(err, BB_EINPUT, "run directory path too long: %s", dir);
    struct stat st;
    if (stat(r->path, &st) != 0)
        return bb_fail(err, BB_EINPUT, "%s: no checkpoint at step %ld (%s)", dir, step, r->path);
    long got;
    int rc = run_ckpt_load(dir, r->path, step, &r->cfg, &r->task, &r->model, NULL, &got, err);
    if (rc) return input_kind(rc);
    if ((rc = model_check_finite(&r->model, r->path, got, err))) { run_free(r); return rc; }
    r->step = got;
    snprintf(r->cfg.out, sizeof r->cfg.out, "%s", dir);
    return BB_OK;
}

void run_free(Run *r) {
    model_free(&r->model);
    task_free(&r->task);
    memset(r, 0, sizeof *r);
}

int run_eval_task(Run *r, int bos, int packing, BbError *err) {
    TaskConfig tc = r->task.cfg;
    if (bos >= 0) tc.bos = bos;
    if (packing >= 0) tc.packing = packing;
    if (tc.bos == r->task.cfg.bos && tc.packing == r->task.cfg.packing) return BB_OK;
    if (tc.packing && tc.bos == 0)
        return bb_fail(err, BB_EINPUT,
                       "--eval-bos 0 with packed evaluation windows: packing needs a BOS to mark where each "
                       "sequence starts (add --eval-packing 0)");
    Task t;
    int rc = task_build(&t, &tc, err);
    if (rc) return rc;
    BB_CHECK(t.V == r->task.V && t.bos_id == r->task.bos_id);
    task_free(&r->task);
    r->task = t;
    return BB_OK;
}

int run_eval_overridden(const Run *r) {
    return r->task.cfg.bos != r->cfg.task.bos || r->task.cfg.packing != r->cfg.task.packing;
}

int run_ckpt_arg(const char *arg, long *step, const char *choices, BbError *err) {
    *step = -1;
    if (!strcmp(arg, "last")) return BB_OK;
    char *end;
    errno = 0;
    *step = strtol(arg, &end, 10);
    if (end == arg || *end || *step < 0) return bb_fail(err, BB_EINPUT, "--ckpt '%s': expected %s", arg, choices);
    if (errno == ERANGE || *step > 1000000000000L) /* strtol's LONG_MAX is no step: --steps is at most 1e12 */
        return bb_fail(err, BB_EINPUT, "--ckpt %s: out of range (a step is at most 1000000000000, the largest --steps)",
                       arg);
    return BB_OK;
}
