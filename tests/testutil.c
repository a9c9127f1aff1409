/* Shared test helpers: see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

void allclose_impl(const double *actual, const double *expected, size_t n, double atol, double rtol,
                   const char *what, const char *file, int line) {
    size_t worst = 0;
    double worst_excess = -INFINITY;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double tol = atol + rtol * fabs(expected[i]);
        double diff = fabs(actual[i] - expected[i]);
        double excess = isnan(diff) ? INFINITY : diff - tol;
        if (excess > 0) bad++;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    if (bad) {
        print_error("%s:%d: %s: %d of %zu values not close; worst at [%zu]: actual %.9g expected %.9g "
                       "(atol %g rtol %g)\n",
                       file, line, what, bad, n, worst, actual[worst], expected[worst], atol, rtol);
        _fail(file, line);
    }
}

int run_capture(char **out, const char *cmd) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0, k;
    char *buf = malloc(cap);
    while ((k = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += k;
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int run_bbsim(char **out, const char *fmt, ...) {
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", BBSIM_EXE, args);
    return run_capture(out, cmd);
}

char *make_tempdir(void) {
    char *d = strdup("/tmp/bbsim-test-XXXXXX");
    if (!mkdtemp(d)) {
        perror("mkdtemp");
        abort();
    }
    return d;
}

void remove_tempdir(char *dir) {
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
    free(dir);
}

void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}

TrainConfig tiny_run_config(const char *dir) {
    TrainConfig c;
    train_config_default(&c);
    c.task.seq = 16;
    c.task.eval_batch = 16;
    c.model.L = 1;
    c.model.C = 16;
    c.batch = 8;
    c.steps = 30;
    c.ckpt_every = 10;
    c.ckpt_dense = 30;
    c.eval_every = 10;
    c.threads = 1;
    c.quiet = 1;
    snprintf(c.out, sizeof c.out, "%s", dir);
    return c;
}

void train_tiny(const TrainConfig *c) {
    TrainConfig run = *c;
    BbError err;
    if (train_run(&run, &err)) fail_msg("train_run %s: %s", c->out, err.msg);
}
