/* Tests of the optimizers, the training loop, checkpoints and resume. Training runs
 * use tiny models (milliseconds per step). */
#include "testutil.h"
#include <dirent.h>

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bbsim/checkpoint.h"
#include "bbsim/optim.h"
#include "bbsim/run.h"
#include "bbsim/train.h"

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- optimizers against the formulas of docs/method.md#optimizers, in double ---- */

static void test_adamw_formula(void **state) {
    (void)state;
    OptimConfig c;
    optim_config_default(&c);
    c.lr = 0.01;
    c.wd = 0.1;
    float p[3] = {1.0f, -2.0f, 0.5f};
    double ref[3] = {1.0, -2.0, 0.5}, m[3] = {0}, v[3] = {0};
    Optim o;
    optim_alloc(&o, &c, 3);
    for (int t = 1; t <= 5; t++) {
        float g[3] = {0.3f * t, -0.1f, 2.0f / t};
        optim_step(&o, p, g, c.lr);
        for (int i = 0; i < 3; i++) {
            ref[i] *= 1 - c.lr * c.wd;
            m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * (double)g[i] * g[i];
            double mh = m[i] / (1 - pow(c.beta1, t)), vh = v[i] / (1 - pow(c.beta2, t));
            ref[i] -= c.lr * mh / (sqrt(vh) + c.eps);
        }
    }
    double got[3] = {p[0], p[1], p[2]};
    assert_allclose(got, ref, 3, 1e-6, 1e-5);
    optim_free(&o);
}

static void test_sgd_and_adam_formula(void **state) {
    (void)state;
    OptimConfig c;
    optim_config_default(&c);
    c.kind = OPTIM_SGD;
    c.lr = 0.03;
    c.wd = 0.01;
    float p[2] = {1.0f, -1.0f};
    double ref[2] = {1.0, -1.0}, buf[2] = {0};
    Optim o;
    optim_alloc(&o, &c, 2);
    assert_null(o.v);
    for (int t = 1; t <= 4; t++) {
        float g[2] = {0.5f, (float)t};
        optim_step(&o, p, g, c.lr);
        for (int i = 0; i < 2; i++) {
            double gg = g[i] + c.wd * ref[i];
            buf[i] = t == 1 ? gg : c.momentum * buf[i] + gg; /* buf = g at step 1 */
            ref[i] -= c.lr * buf[i];
        }
    }
    double got[2] = {p[0], p[1]};
    assert_allclose(got, ref, 2, 1e-6, 1e-5);
    optim_free(&o);
    /* adam: L2 decay inside the gradient (differs from adamw) */
    c.kind = OPTIM_ADAM;
    c.wd = 0.1;
    float pa[1] = {2.0f}, pw[1] = {2.0f}, g[1] = {0.0f};
    Optim oa, ow;
    optim_alloc(&oa, &c, 1);
    OptimConfig cw = c;
    cw.kind = OPTIM_ADAMW;
    optim_alloc(&ow, &cw, 1);
    optim_step(&oa, pa, g, 0.1);
    optim_step(&ow, pw, g, 0.1);
    /* adam: g = wd p = 0.2, and the first Adam step is lr sign(g): 2 - 0.1;
     * adamw: p (1 - lr wd) = 1.98, then a zero-gradient step moves nothing */
    assert_close(pa[0], 1.9, 1e-5, 0);
    assert_close(pw[0], 1.98, 1e-5, 0);
    optim_free(&oa);
    optim_free(&ow);
}

static void test_lr_schedule(void **state) {
    (void)state;
    OptimConfig c;
    optim_config_default(&c);
    assert_close(optim_lr(&c, 0, 100), 3e-4, 0, 1e-12);
    assert_close(optim_lr(&c, 99, 100), 3e-4, 0, 1e-12); /* no schedule by default */
    c.warmup = 10;
    c.cosine = 1;
    assert_close(optim_lr(&c, 0, 110), 3e-5, 0, 1e-9);
    assert_close(optim_lr(&c, 9, 110), 3e-4, 0, 1e-9);
    assert_close(optim_lr(&c, 60, 110), 1.5e-4, 0, 1e-9);
}

/* ---- runs through the CLI ---- */

#define TINY "--table synthetic --vocab 12 --seq 16 --dim 16 --batch 8 --lr 3e-3 --eval-batch 16 --quiet"

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static int files_equal(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    if (!fa || !fb) {
        if (fa) fclose(fa);
        if (fb) fclose(fb);
        return 0;
    }
    int eq = 1, ca, cb;
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        if (ca != cb) eq = 0;
    } while (eq && ca != EOF);
    fclose(fa);
    fclose(fb);
    return eq;
}

static void copy_file(const char *from, const char *to) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
    assert_int_equal(system(cmd), 0);
}

/* ckpt_read of path, with the optimizer state when t != NULL (*t = its update count). */
static int ckpt_load(const char *path, long *step, long *t, BbError *err) {
    TrainConfig cfg;
    Task task;
    Model m;
    Optim o;
    int rc = ckpt_read(path, &cfg, &task, &m, t ? &o : NULL, step, err);
    if (rc) return rc;
    if (t) {
        *t = o.t;
        optim_free(&o);
    }
    model_free(&m);
    task_free(&task);
    return BB_OK;
}

/* Every step file of run dir is weights only, smaller than half its full ckpt/resume.bbck;
 * the last is step `last`, resume.bbck holds step `full_step`; with o the step files are
 * refused, naming the file. */
static void assert_weights_only_layout(const char *dir, long last, long full_step) {
    long *steps, step, t;
    int n;
    BbError err;
    char path[1200], full[1200];
    assert_int_equal(run_checkpoints(dir, &steps, &n, &err), 0);
    assert_int_equal(steps[n - 1], last);
    ckpt_resume_path(full, sizeof full, dir);
    assert_int_equal(ckpt_load(full, &step, &t, &err), 0);
    assert_int_equal(step, full_step);
    assert_int_equal(t, full_step);
    for (int i = 0; i < n; i++) {
        ckpt_path(path, sizeof path, dir, steps[i]);
        assert_true(file_size(path) > 1000 && 2 * file_size(path) < file_size(full));
        assert_int_equal(ckpt_load(path, &step, NULL, &err), 0);
        assert_int_equal(step, steps[i]);
        assert_int_equal(ckpt_load(path, &step, &t, &err), BB_EINPUT);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "holds weights only (no optimizer state); resume from the latest checkpoint"));
        assert_non_null(strstr(err.msg, "/ckpt/resume.bbck"));
    }
    free(steps);
}

static void test_resume_and_threads_bit_exact(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    /* one run of 120 steps; one of 60 stopped and resumed for 60 more; one on 1 thread;
     * 3 chunks (uneven over 2 threads; TINY alone would be one chunk) */
    assert_int_equal(run_bbsim(&out, "train " TINY " --chunks 3 --steps 120 --out %s/a --threads 2", d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --chunks 3 --steps 60 --out %s/b --threads 2", d), 0);
    free(out);
    char pa[1200], pb[1200], pc[1200], b60[1200];
    snprintf(pb, sizeof pb, "%s/b/ckpt/resume.bbck", d);
    snprintf(b60, sizeof b60, "%s/b60.bbck", d);
    copy_file(pb, b60);
    assert_int_equal(run_bbsim(&out, "train --resume %s/b --steps 120 --quiet", d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --chunks 3 --steps 120 --out %s/c --threads 1", d), 0);
    free(out);
    snprintf(pa, sizeof pa, "%s/a/ckpt/step_000000120.bbck", d);
    snprintf(pb, sizeof pb, "%s/b/ckpt/step_000000120.bbck", d);
    snprintf(pc, sizeof pc, "%s/c/ckpt/step_000000120.bbck", d);
    assert_true(file_size(pa) > 1000);
    assert_true(files_equal(pa, pb)); /* resume is bit-exact */
    assert_true(files_equal(pa, pc)); /* thread count does not matter */
    /* the step files hold the weights only; the full state of step 120, moments
     * included, is the same too */
    snprintf(pa, sizeof pa, "%s/a", d);
    assert_weights_only_layout(pa, 120, 120);
    snprintf(pa, sizeof pa, "%s/a/ckpt/resume.bbck", d);
    snprintf(pb, sizeof pb, "%s/b/ckpt/resume.bbck", d);
    snprintf(pc, sizeof pc, "%s/c/ckpt/resume.bbck", d);
    assert_true(files_equal(pa, pb));
    assert_true(files_equal(pa, pc));
    /* killed between the two writes of step 120 (step_120 written, resume.bbck still at
     * step 60): the resume redoes steps 61..120 and ends with the same bytes */
    copy_file(b60, pb);
    assert_int_equal(run_bbsim(&out, "train --resume %s/b --steps 120 --quiet", d), 0);
    free(out);
    assert_true(files_equal(pa, pb));
    snprintf(pa, sizeof pa, "%s/a/ckpt/step_000000120.bbck", d);
    snprintf(pb, sizeof pb, "%s/b/ckpt/step_000000120.bbck", d);
    assert_true(files_equal(pa, pb));
    /* metrics.tsv of the resumed run has each step once */
    snprintf(pb, sizeof pb, "%s/b/metrics.tsv", d);
    FILE *f = fopen(pb, "r");
    char line[1024];
    long expect = 1, rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strncmp(line, "step", 4)) continue;
        assert_int_equal(atol(line), expect);
        expect++;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 120);
    /* a fresh run into an existing run directory is refused, nothing lost */
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 5 --out %s/a", d), 2);
    assert_non_null(strstr(out, "already holds a run"));
    free(out);
    /* --resume with experiment flags is refused */
    assert_int_equal(run_bbsim(&out, "train --resume %s/a --lr 1", d), 2);
    assert_non_null(strstr(out, "--lr cannot be combined with --resume"));
    free(out);
    /* --resume without --steps keeps the run's own step count (120 here): a finished run
     * stays finished instead of training on to the default preset's 2000 */
    assert_int_equal(run_bbsim(&out, "train --resume %s/c --quiet", d), 0);
    free(out);
    snprintf(pc, sizeof pc, "%s/c/ckpt/step_000000140.bbck", d);
    assert_true(file_size(pc) < 0);
    snprintf(pc, sizeof pc, "%s/c/ckpt/step_000002000.bbck", d);
    assert_true(file_size(pc) < 0);
    remove_tempdir(d);
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *buf = malloc(*n);
    assert_int_equal(fread(buf, 1, *n, f), *n);
    fclose(f);
    return buf;
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static size_t put(unsigned char *out, size_t k, const void *p, size_t n) {
    memcpy(out + k, p, n);
    return k + n;
}

/* Rewrite a full checkpoint of format version 3 the way bbsim wrote it before version 2
 * (docs/format.md#checkpoint-files): version 1, no run identity after the header, no
 * optimizer-state field after the optimizer kind, and no ckpt-optim line in the header
 * (the option did not exist). */
static void convert_to_v1(const char *path) {
    size_t n;
    unsigned char *in = read_all(path, &n), *out = malloc(n);
    uint32_t version, hlen, has_optim;
    memcpy(&version, in + 8, 4);
    memcpy(&hlen, in + 12, 4);
    assert_int_equal(version, 3);
    const unsigned char *head = in + 16, *rest = head + hlen + 8; /* identity; step, nparams, kind, flag, ... */
    memcpy(&has_optim, rest + 20, 4);
    assert_int_equal(has_optim, 1);
    char *text = malloc(hlen + 1);
    memcpy(text, head, hlen);
    text[hlen] = '\0';
    const char *line = strstr(text, "ckpt-optim all\n");
    assert_non_null(line);
    size_t before = (size_t)(line - text), k = 0;
    uint32_t v1 = 1, h1 = hlen - 15;
    k = put(out, k, in, 8); /* magic */
    k = put(out, k, &v1, 4);
    k = put(out, k, &h1, 4);
    k = put(out, k, head, before);
    k = put(out, k, head + before + 15, hlen - before - 15);
    k = put(out, k, rest, 20);                            /* step, nparams, kind */
    const size_t tail = n - 8 - (size_t)(rest + 24 - in); /* updates, parameters, moments */
    k = put(out, k, rest + 24, tail);
    uint64_t sum = fnv1a(out, k);
    k = put(out, k, &sum, 8);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(out, 1, k, f), k);
    fclose(f);
    free(text);
    free(in);
    free(out);
}

/* --ckpt-optim all keeps the full state in every step file (no resume.bbck) and trains the
 * same weights; its resume is bit-exact; a run of format version 1 (every checkpoint
 * full) resumes into the new layout with the bytes of a run that never stopped. */
static void test_ckpt_optim_all_and_v1(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    assert_int_equal(run_bbsim(&out, "train " TINY " --ckpt-optim all --steps 45 --out %s/o", d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 60 --out %s/l", d), 0);
    free(out);
    char dir[1200], path[1200], other[1200], cmd[4096];
    snprintf(cmd, sizeof cmd, "cp -r %s/o %s/v", d, d);
    assert_int_equal(system(cmd), 0);
    snprintf(dir, sizeof dir, "%s/o", d);
    ckpt_resume_path(path, sizeof path, dir);
    assert_true(file_size(path) < 0);
    long *steps, step, t;
    int n;
    BbError err;
    assert_int_equal(run_checkpoints(dir, &steps, &n, &err), 0);
    assert_int_equal(n, 4); /* 0 20 40 45 */
    for (int i = 0; i < n; i++) {
        ckpt_path(path, sizeof path, dir, steps[i]);
        assert_int_equal(ckpt_load(path, &step, &t, &err), 0);
        assert_int_equal(t, steps[i]);
    }
    free(steps);
    snprintf(path, sizeof path, "%s/o/config.txt", d);
    FILE *f = fopen(path, "r");
    char line[256];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) found |= !strcmp(line, "ckpt-optim all\n");
    if (f) fclose(f);
    assert_true(found);
    /* the same weights as the default layout */
    Run ro, rl;
    snprintf(other, sizeof other, "%s/l", d);
    assert_int_equal(run_load(&ro, dir, 40, &err), 0);
    assert_int_equal(run_load(&rl, other, 40, &err), 0);
    assert_memory_equal(ro.model.params, rl.model.params, ro.model.nparams * sizeof(float));
    run_free(&ro);
    run_free(&rl);
    /* resume of an --ckpt-optim all run */
    assert_int_equal(run_bbsim(&out, "train --resume %s/o --steps 60 --quiet", d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --ckpt-optim all --steps 60 --out %s/p", d), 0);
    free(out);
    snprintf(path, sizeof path, "%s/o/ckpt/step_000000060.bbck", d);
    snprintf(other, sizeof other, "%s/p/ckpt/step_000000060.bbck", d);
    assert_true(files_equal(path, other));
    assert_int_equal(ckpt_load(path, &step, &t, &err), 0);
    /* version 1: every checkpoint full; read with and without the optimizer state */
    snprintf(dir, sizeof dir, "%s/v", d);
    assert_int_equal(run_checkpoints(dir, &steps, &n, &err), 0);
    for (int i = 0; i < n; i++) {
        ckpt_path(path, sizeof path, dir, steps[i]);
        convert_to_v1(path);
        assert_int_equal(ckpt_load(path, &step, &t, &err), 0);
        assert_int_equal(t, steps[i]);
        assert_int_equal(ckpt_load(path, &step, NULL, &err), 0);
    }
    free(steps);
    /* (runs of then had no run-id in config.txt: their earliest checkpoint is the reference) */
    snprintf(cmd, sizeof cmd, "sed -i '/^# run-id /d' %s/config.txt", dir);
    assert_int_equal(system(cmd), 0);
    /* ... and resumed: the new checkpoints in the default layout, equal to run l's */
    assert_int_equal(run_bbsim(&out, "train --resume %s/v --steps 60 --quiet", d), 0);
    free(out);
    snprintf(path, sizeof path, "%s/v/ckpt/step_000000060.bbck", d);
    snprintf(other, sizeof other, "%s/l/ckpt/step_000000060.bbck", d);
    assert_true(files_equal(path, other));
    snprintf(path, sizeof path, "%s/v/ckpt/resume.bbck", d);
    snprintf(other, sizeof other, "%s/l/ckpt/resume.bbck", d);
    assert_true(files_equal(path, other));
    remove_tempdir(d);
}

/* The default chunking: ~BB_CHUNK_TOKENS positions per chunk within 1..min(batch, 8),
 * recorded in config.txt; and the summed gradient's norm is the same for any thread count. */
static void test_chunks_and_grad_norm(void **state) {
    (void)state;
    assert_int_equal(trainer_chunks_auto(16, 32), 2);   /* the quick profile's d128 runs */
    assert_int_equal(trainer_chunks_auto(32, 64), 8);
    assert_int_equal(trainer_chunks_auto(8, 16), 1);
    assert_int_equal(trainer_chunks_auto(3, 4096), 3);  /* never more chunks than sequences */
    assert_int_equal(trainer_chunks_auto(512, 256), 8);
    char *d = make_tempdir(), *out = NULL;
    assert_int_equal(run_bbsim(&out, "train --table synthetic --vocab 12 --seq 32 --dim 16 --batch 16 --steps 1 --quiet --out %s/r", d), 0);
    free(out);
    char path[1200], line[256];
    snprintf(path, sizeof path, "%s/r/config.txt", d);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f)) found |= !strcmp(line, "chunks 2\n");
    if (f) fclose(f);
    assert_true(found);
    remove_tempdir(d);

    const size_t n = 50001; /* not a multiple of the block */
    float *g = malloc(3 * n * sizeof(float)), *h = malloc(3 * n * sizeof(float));
    double want = 0;
    for (size_t i = 0; i < 3 * n; i++) g[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < n; i++) {
        double s = (double)((g[i] + g[n + i]) + g[2 * n + i]);
        want += s * s;
    }
    memcpy(h, g, 3 * n * sizeof(float));
    double *part = malloc(grad_norm_blocks(n) * sizeof(double));
    omp_set_num_threads(1);
    double one = grad_norm_sum(g, 3, n, n, part);
    omp_set_num_threads(2);
    double two = grad_norm_sum(h, 3, n, n, part);
    free(part);
    assert_true(fabs(one - sqrt(want)) < 1e-9 * sqrt(want));
    assert_true(one == two);
    assert_memory_equal(g, h, n * sizeof(float));
    for (size_t i = 0; i < n; i++) { /* the sum is in place, in buffer order */
        float a = (float)sin(0.37 * (double)i), b = (float)sin(0.37 * (double)(n + i)),
              c = (float)sin(0.37 * (double)(2 * n + i));
        if (g[i] != (a + b) + c) fail_msg("element %zu: %g, want %g", i, g[i], (a + b) + c);
    }
    free(g);
    free(h);
}

/* The resume files and the last step file of D/RUN equal those of D/r_clean, byte for byte. */
static void same_as_clean(const char *d, const char *run) {
    for (int i = 0; i < 3; i++) {
        char a[1200], b[1200];
        const char *name = i == 0 ? "resume.bbck" : i == 1 ? "resume.prev.bbck" : "step_000000005.bbck";
        snprintf(a, sizeof a, "%s/%s/ckpt/%s", d, run, name);
        snprintf(b, sizeof b, "%s/r_clean/ckpt/%s", d, name);
        if (!files_equal(a, b)) fail_msg("%s differs from the undamaged run's", a);
    }
}

static void test_bad_checkpoints(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 3 --out %s/r", d), 0);
    free(out);
    char good[1200], path[1200], cmd[4096];
    snprintf(good, sizeof good, "%s/r/ckpt/step_000000003.bbck", d);
    long size = file_size(good);
    Run r;
    BbError err;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/r", d);
    assert_int_equal(run_load(&r, dir, -1, &err), 0);
    assert_int_equal(r.step, 3);
    run_free(&r);
    /* truncated (a weights-only file: the step files are) */
    snprintf(path, sizeof path, "%s/r/ckpt/step_000000004.bbck", d);
    snprintf(cmd, sizeof cmd, "head -c %ld %s > %s", size - 100, good, path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_load(&r, dir, 4, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "truncated checkpoint"));
    assert_non_null(strstr(err.msg, path));
    /* corrupt: flip one byte in the parameters */
    snprintf(cmd, sizeof cmd, "cp %s %s && printf '\\x55' | dd of=%s bs=1 seek=%ld conv=notrunc 2>/dev/null", good,
             path, path, size / 2);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_load(&r, dir, 4, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    assert_non_null(strstr(err.msg, path));
    /* foreign file */
    write_text(path, "this is not a checkpoint at all\n");
    assert_int_equal(run_load(&r, dir, 4, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "not a bbsim checkpoint"));
    /* missing step, missing directory */
    assert_int_equal(run_load(&r, dir, 77, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "no checkpoint at step 77"));
    assert_int_equal(run_load(&r, "/nonexistent/run", -1, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "not a run directory"));
    /* a resume reads ckpt/resume.bbck, not the (here foreign) last step file; a truncated
     * or corrupt resume.bbck, with no resume.prev.bbck to fall back on, is refused, naming
     * it */
    assert_int_equal(unlink(path), 0);
    char full[1200], saved[1200], prev[1200], prev_saved[1200];
    ckpt_resume_path(full, sizeof full, dir);
    ckpt_resume_prev_path(prev, sizeof prev, dir);
    snprintf(saved, sizeof saved, "%s/saved.bbck", d);
    snprintf(prev_saved, sizeof prev_saved, "%s/prev.bbck", d);
    copy_file(full, saved);
    assert_int_equal(rename(prev, prev_saved), 0);
    size = file_size(full);
    snprintf(cmd, sizeof cmd, "head -c %ld %s > %s", size - 100, saved, full);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 10", dir), 2);
    assert_non_null(strstr(out, "truncated checkpoint"));
    assert_non_null(strstr(out, full));
    free(out);
    snprintf(cmd, sizeof cmd, "cp %s %s && printf '\\x55' | dd of=%s bs=1 seek=%ld conv=notrunc 2>/dev/null", saved,
             full, full, size - 1000);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 10", dir), 2);
    assert_non_null(strstr(out, "checksum mismatch"));
    assert_non_null(strstr(out, full));
    free(out);
    /* with resume.prev.bbck (the state of step 2) back, the damaged resume.bbck is
     * skipped, saying so, and the run goes on from step 2: it ends with the bytes of a
     * run never damaged */
    copy_file(prev_saved, prev);
    snprintf(cmd, sizeof cmd, "cp -r %s %s/r_damaged", dir, d);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run_bbsim(&out, "train --resume %s/r_damaged --steps 5", d), 0);
    assert_non_null(strstr(out, "skipping"));
    assert_non_null(strstr(out, "checksum mismatch"));
    assert_non_null(strstr(out, "/r_damaged/ckpt/resume.bbck"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 5 --out %s/r_clean --quiet", d), 0);
    free(out);
    same_as_clean(d, "r_damaged");
    /* one flipped byte in resume.bbck's configuration header ("vocab 12" -> "vocab 1t") is
     * damage too (the checksum says so), not a bad setting: the run falls back the same way */
    snprintf(cmd, sizeof cmd, "cp -r %s %s/r_header", dir, d);
    assert_int_equal(system(cmd), 0);
    {
        char hp[1200];
        snprintf(hp, sizeof hp, "%s/r_header/ckpt/resume.bbck", d);
        FILE *hf = fopen(hp, "r+b");
        assert_non_null(hf);
        char head[4096];
        const size_t got = fread(head, 1, sizeof head, hf);
        long at = -1;
        for (size_t i = 0; at < 0 && i + 10 <= got; i++)
            if (!memcmp(head + i, "\nvocab 12\n", 10)) at = (long)i;
        assert_true(at >= 0);
        assert_int_equal(fseek(hf, at + 8, SEEK_SET), 0);
        assert_int_equal(fputc('t', hf), 't');
        assert_int_equal(fclose(hf), 0);
    }
    assert_int_equal(run_bbsim(&out, "train --resume %s/r_header --steps 5", d), 0);
    assert_non_null(strstr(out, "skipping a damaged checkpoint"));
    assert_non_null(strstr(out, "checksum mismatch"));
    free(out);
    same_as_clean(d, "r_header");
    /* without either resume file the last step file is tried: weights only, refused,
     * saying where the full state is */
    assert_int_equal(unlink(full), 0);
    assert_int_equal(unlink(prev), 0);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 10", dir), 2);
    assert_non_null(strstr(out, good));
    assert_non_null(strstr(out, "holds weights only (no optimizer state); resume from the latest checkpoint"));
    free(out);
    /* put back, the run resumes */
    copy_file(saved, full);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 10 --quiet", dir), 0);
    free(out);
    remove_tempdir(d);
}

static void test_ctrl_c_saves(void **state) {
    (void)state;
    char *d = make_tempdir();
    char cmd[2048], log[1200];
    snprintf(log, sizeof log, "%s/log", d);
    pid_t pid = fork();
    if (pid == 0) {
        snprintf(cmd, sizeof cmd, "%s/r", d);
        if (!freopen(log, "w", stderr)) _exit(99);
        execl(BBSIM_EXE, BBSIM_EXE, "train", "--table", "synthetic", "--vocab", "12", "--seq", "16", "--dim", "16", "--batch", "8",
              "--steps", "100000000", "--ckpt-every", "1000000", "--ckpt-dense", "0", "--quiet", "--out", cmd,
              (char *)NULL);
        _exit(98);
    }
    /* wait for the step-0 checkpoint, then a little training, then Ctrl-C */
    char ck0[1200];
    snprintf(ck0, sizeof ck0, "%s/r/ckpt/step_000000000.bbck", d);
    for (int i = 0; i < 200 && file_size(ck0) <= 0; i++) sleep_ms(50);
    sleep_ms(300);
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    FILE *f = fopen(log, "r");
    char text[2048] = "";
    size_t k = fread(text, 1, sizeof text - 1, f);
    text[k] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "interrupted at step"));
    long step = atol(strstr(text, "interrupted at step") + 20);
    assert_true(step > 0);
    /* the interrupt came between two scheduled checkpoints: the step files stay those of
     * the schedule (here step 0 only, what the analyses read) */
    Run r;
    BbError err;
    snprintf(cmd, sizeof cmd, "%s/r", d);
    assert_int_equal(run_load(&r, cmd, -1, &err), 0);
    assert_int_equal(r.step, 0);
    run_free(&r);
    /* no temporary files left behind */
    snprintf(cmd, sizeof cmd, "ls %s/r/ckpt | grep -c tmp", d);
    char *out = NULL;
    FILE *p = popen(cmd, "r");
    char buf[16] = "";
    if (fgets(buf, sizeof buf, p)) (void)0;
    pclose(p);
    assert_int_equal(atoi(buf), 0);
    /* the full state of the interrupted step is in resume.bbck; resumed for 10 more
     * steps, the run ends with the bytes of one that ran them in one go */
    snprintf(cmd, sizeof cmd, "%s/r", d);
    assert_weights_only_layout(cmd, 0, step);
    assert_int_equal(run_bbsim(&out, "train --resume %s/r --steps %ld --quiet", d, step + 10), 0);
    free(out);
    assert_int_equal(run_bbsim(&out,
                               "train --table synthetic --vocab 12 --seq 16 --dim 16 --batch 8 --steps %ld --ckpt-every 1000000 "
                               "--ckpt-dense 0 --quiet --out %s/u",
                               step + 10, d),
                     0);
    free(out);
    char pr[1200], pu[1200];
    snprintf(pr, sizeof pr, "%s/r/ckpt/resume.bbck", d);
    snprintf(pu, sizeof pu, "%s/u/ckpt/resume.bbck", d);
    assert_true(files_equal(pr, pu));
    snprintf(pr, sizeof pr, "%s/r/ckpt/step_%09ld.bbck", d, step + 10);
    snprintf(pu, sizeof pu, "%s/u/ckpt/step_%09ld.bbck", d, step + 10);
    assert_true(files_equal(pr, pu));
    /* and the same step files: none for the interrupted step */
    long *sr, *su;
    int nr, nu;
    snprintf(pr, sizeof pr, "%s/r", d);
    snprintf(pu, sizeof pu, "%s/u", d);
    assert_int_equal(run_checkpoints(pr, &sr, &nr, &err), 0);
    assert_int_equal(run_checkpoints(pu, &su, &nu, &err), 0);
    assert_int_equal(nr, 2);
    assert_int_equal(nu, 2);
    assert_memory_equal(sr, su, 2 * sizeof(long));
    free(sr);
    free(su);
    remove_tempdir(d);
}

/* The run_id of DIR/config.txt ("# run-id HEX"), 0 when absent. */
static unsigned long long config_run_id(const char *dir) {
    char path[1200], line[512];
    snprintf(path, sizeof path, "%s/config.txt", dir);
    FILE *f = fopen(path, "r");
    unsigned long long id = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "# run-id ", 9)) id = strtoull(line + 9, NULL, 16);
    if (f) fclose(f);
    return id;
}

/* --cosine decays over --steps: two cosine runs of 40 and 80 steps are two runs (another
 * identity, so a swapped checkpoint is refused), and a resume may not change the horizon
 * (it once joined two schedules: lr 4.6e-6 at step 40, 0.0015 at 41). Without --cosine the
 * steps stay out of the identity and a resume may extend the run. */
static void test_cosine_horizon(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, a[1100], b[1100], c[1100], e[1100];
    snprintf(a, sizeof a, "%s/a", d);
    snprintf(b, sizeof b, "%s/b", d);
    snprintf(c, sizeof c, "%s/c", d);
    snprintf(e, sizeof e, "%s/e", d);
    assert_int_equal(run_bbsim(&out, "train " TINY " --cosine --steps 40 --out %s", a), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --cosine --steps 80 --out %s", b), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 40 --out %s", c), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 80 --out %s", e), 0);
    free(out);
    assert_true(config_run_id(a) != 0 && config_run_id(a) != config_run_id(b));
    assert_true(config_run_id(c) != 0 && config_run_id(c) == config_run_id(e));
    /* a longer resume of the 40-step cosine run: refused, nothing written */
    char step40[1200], step80[1200];
    snprintf(step40, sizeof step40, "%s/ckpt/step_000000040.bbck", a);
    snprintf(step80, sizeof step80, "%s/ckpt/step_000000080.bbck", a);
    const long before = file_size(step40);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 80 --quiet", a), 2);
    assert_non_null(out);
    assert_non_null(strstr(out, "decays over its 40 steps (--cosine)"));
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
    free(out);
    assert_int_equal(file_size(step80), -1);
    assert_int_equal(file_size(step40), before);
    /* the same horizon is fine, and so is a longer plain run */
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 40 --quiet", a), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 80 --quiet", c), 0);
    free(out);
    /* a step file of the 80-step cosine run in the 40-step one's ckpt/: another run */
    char from[1200];
    snprintf(from, sizeof from, "%s/ckpt/step_000000020.bbck", b);
    snprintf(step40, sizeof step40, "%s/ckpt/step_000000020.bbck", a);
    copy_file(from, step40);
    assert_int_equal(run_bbsim(&out, "analyze %s --ckpt all --out %s/an --quiet", a, d), 2);
    assert_non_null(out);
    assert_non_null(strstr(out, "checkpoint of another run"));
    free(out);
    remove_tempdir(d);
}

static void test_nonfinite_stops(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    /* SGD at an absurd learning rate diverges within a few steps */
    int rc = run_bbsim(&out, "train " TINY " --optim sgd --lr 100 --wd 0 --steps 2000 --out %s/r", d);
    assert_int_equal(rc, 4); /* BB_EXIT_DIVERGED: the atlas keeps such a run */
    assert_non_null(strstr(out, "non-finite"));
    assert_non_null(strstr(out, "at step"));
    assert_non_null(strstr(out, "last good checkpoint is step"));
    free(out);
    Run r;
    BbError err;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/r", d);
    assert_int_equal(run_load(&r, dir, -1, &err), 0); /* the kept checkpoint is finite */
    for (size_t i = 0; i < r.model.nparams; i++) assert_true(isfinite(r.model.params[i]));
    run_free(&r);
    remove_tempdir(d);
}

static void test_smoke_learns_backcopy(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    assert_int_equal(run_bbsim(&out, "train --table synthetic --vocab 16 --seq 32 --dim 32 --batch 16 --lr 3e-3 --steps 400 --quiet "
                                     "--out %s/r",
                               d),
                     0);
    free(out);
    char path[1200];
    snprintf(path, sizeof path, "%s/r/metrics.tsv", d);
    FILE *f = fopen(path, "r");
    char line[1024];
    double first = NAN, last = NAN;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strncmp(line, "step", 4)) continue;
        long step;
        double loss, bc;
        assert_int_equal(sscanf(line, "%ld\t%lf\t%lf", &step, &loss, &bc), 3);
        if (step <= 10) first = isnan(first) ? bc : fmax(first, bc);
        if (step > 380) last = isnan(last) ? bc : fmax(last, bc);
    }
    fclose(f);
    /* backcopy starts near log V and must fall far below it */
    assert_true(first > 1.5);
    if (!(last < 0.2 * first)) fail_msg("backcopy loss %.3f at the end vs %.3f at the start", last, first);
    remove_tempdir(d);
}

static void test_bad_flags(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(run_bbsim(&out, "train --bogus 1"), 2);
    assert_non_null(strstr(out, "unknown flag '--bogus'"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --optim lion"), 2);
    assert_non_null(strstr(out, "choose one of: adamw, sgd, adam"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --batch 0"), 2);
    assert_non_null(strstr(out, "--batch"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --help"), 0);
    assert_non_null(strstr(out, "--ckpt-growth"));
    free(out);
    /* bench's configuration list: unknown names and an empty list are refused */
    assert_int_equal(run_bbsim(&out, "bench --configs quick,nope --list"), 2);
    assert_non_null(strstr(out, "unknown configuration 'nope'"));
    free(out);
    assert_int_equal(run_bbsim(&out, "bench --configs , --list"), 2);
    assert_non_null(strstr(out, "no configuration named"));
    free(out);
    assert_int_equal(run_bbsim(&out, "bench --configs quick --list"), 0);
    assert_non_null(strstr(out, "quick-3L-d128\t3\t128\t16\t32"));
    free(out);
}

/* bbsim train --plan: the cost row of a configuration, nothing written; its checkpoint
 * count is what a run of that configuration saves, and its FLOPs are 3 forwards a step. */
static void test_plan(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, path[512];
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 50 --ckpt 10,30,1.5 --out %s/p --plan", d), 0);
    long steps = -1, ckpts = -1;
    double gflop = -1, tflop = -1, eval = -1, mem = -1;
    size_t params = 0;
    const char *row = strstr(out, "\n50\t");
    assert_non_null(row);
    assert_int_equal(sscanf(row + 1, "%ld\t%ld\t%lf\t%lf\t%lf\t%zu\t%lf", &steps, &ckpts, &gflop, &tflop, &eval, &params,
                            &mem),
                     7);
    free(out);
    snprintf(path, sizeof path, "%s/p", d);
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
    assert_int_equal(steps, 50);
    assert_true(gflop > 0 && params > 0 && mem > 0);
    assert_close(tflop, 50 * gflop / 1000, 1e-6, 1e-3);
    /* the run itself: step files = the plan's checkpoints */
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 50 --ckpt 10,30,1.5 --out %s/p", d), 0);
    free(out);
    snprintf(path, sizeof path, "%s/p/ckpt", d);
    DIR *dir = opendir(path);
    assert_non_null(dir);
    long files = 0;
    for (struct dirent *e; (e = readdir(dir));) files += !strncmp(e->d_name, "step_", 5);
    closedir(dir);
    assert_int_equal(files, ckpts);
    assert_int_equal(run_bbsim(&out, "train --resume %s/p --plan", d), 2);
    assert_non_null(strstr(out, "--plan cannot be combined with --resume"));
    free(out);
    remove_tempdir(d);
}

/* every attention kind, its own parameters included (sink, wgate, bgate): the thread
 * count does not change a byte of the weights */
static void test_threads_bit_exact_every_attention(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    for (int a = 0; a < ATTN_NKINDS; a++) {
        char pa[1200], pc[1200];
        for (int t = 1; t <= 2; t++) {
            assert_int_equal(run_bbsim(&out, "train " TINY " --layers 2 --heads 2 --attn %s --chunks 3 --steps 20 "
                                             "--out %s/%s_%d --threads %d",
                                       attn_kind_names[a], d, attn_kind_names[a], t, t),
                             0);
            free(out);
        }
        snprintf(pa, sizeof pa, "%s/%s_1/ckpt/step_000000020.bbck", d, attn_kind_names[a]);
        snprintf(pc, sizeof pc, "%s/%s_2/ckpt/step_000000020.bbck", d, attn_kind_names[a]);
        assert_true(file_size(pa) > 1000);
        if (!files_equal(pa, pc)) fail_msg("--attn %s: 1 and 2 threads give different weights", attn_kind_names[a]);
    }
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_formula),
        cmocka_unit_test(test_sgd_and_adam_formula),
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_resume_and_threads_bit_exact),
        cmocka_unit_test(test_threads_bit_exact_every_attention),
        cmocka_unit_test(test_ckpt_optim_all_and_v1),
        cmocka_unit_test(test_chunks_and_grad_norm),
        cmocka_unit_test(test_bad_checkpoints),
        cmocka_unit_test(test_ctrl_c_saves),
        cmocka_unit_test(test_cosine_horizon),
        cmocka_unit_test(test_nonfinite_stops),
        cmocka_unit_test(test_smoke_learns_backcopy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
