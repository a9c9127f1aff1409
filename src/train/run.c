/* Run directories read back: the checkpoints a run holds, and a trained model loaded
 * from one of them (task and model rebuilt from the checkpoint's own configuration). */
#include "bbsim/run.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/checkpoint.h"

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int run_checkpoints(const char *dir, long **steps, int *n, BbError *err) {
    char path[BB_STRLEN + 16];
    snprintf(path, sizeof path, "%s/ckpt", dir);
    DIR *d = opendir(path);
    *steps = NULL;
    *n = 0;
    if (!d) return bb_fail(err, BB_EINPUT, "%s: not a run directory (cannot open %s: %s)", dir, path, strerror(errno));
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long s;
        char tail[8];
        if (sscanf(e->d_name, "step_%ld.bbc%7s", &s, tail) == 2 && strcmp(tail, "k") == 0) {
            if (*n == cap) *steps = realloc(*steps, sizeof(long) * (size_t)(cap = cap ? 2 * cap : 64));
            if (!*steps) { closedir(d); return bb_fail(err, BB_ENOMEM, "out of memory"); }
            (*steps)[(*n)++] = s;
        }
    }
    closedir(d);
    if (*n == 0) return bb_fail(err, BB_EINPUT, "%s: no checkpoints in %s", dir, path);
    qsort(*steps, (size_t)*n, sizeof(long), cmp_long);
    return BB_OK;
}

int run_load(Run *r, const char *dir, long step, BbError *err) {
    memset(r, 0, sizeof *r);
    if (step < 0) {
        long *steps;
        int n;
        int rc = run_checkpoints(dir, &steps, &n, err);
        if (rc) return rc;
        step = steps[n - 1];
        free(steps);
    }
    if (ckpt_path(r->path, sizeof r->path, dir, step))
        return bb_fail(err, BB_EINPUT, "run directory path too long: %s", dir);
    struct stat st;
    if (stat(r->path, &st) != 0)
        return bb_fail(err, BB_EINPUT, "%s: no checkpoint at step %ld (%s)", dir, step, r->path);
    long got;
    int rc = ckpt_read(r->path, &r->cfg, &r->task, &r->model, NULL, &got, err);
    if (rc) return rc;
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
    *step = strtol(arg, &end, 10);
    if (end == arg || *end || *step < 0) return bb_fail(err, BB_EINPUT, "--ckpt '%s': expected %s", arg, choices);
    return BB_OK;
}
