/* Errors (GSL style: a status and a message), allocation that cannot fail, the GSL
 * error handler, the clock and the thread count (with its default from the environment). */
#include "bbsim/common.h"

#include <errno.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <gsl/gsl_errno.h>

int bb_fail(BbError *err, int code, const char *fmt, ...) {
    if (err) {
        char raw[sizeof err->msg]; /* fmt's arguments may point into err->msg itself */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        size_t k = 0;
        for (const unsigned char *c = (const unsigned char *)raw; *c && k + 1 < sizeof err->msg; c++) {
            if (*c >= 0x20 && *c != 0x7f) {
                err->msg[k++] = (char)*c;
                continue;
            }
            if (k + 5 > sizeof err->msg) break; /* "\xHH" does not fit: cut before it */
            snprintf(err->msg + k, 5, "\\x%02x", *c);
            k += 4;
        }
        err->msg[k] = '\0';
    }
    return code;
}

int bb_exit_status(int code) {
    switch (code) {
    case BB_OK: return BB_EXIT_OK;
    case BB_EINPUT: return BB_EXIT_INPUT;
    case BB_EINTR: return BB_EXIT_INTERRUPTED;
    default: return BB_EXIT_FAILURE;
    }
}

int bb_report(const char *cmd, int code, const BbError *err) {
    fprintf(stderr, "bbsim %s: %s\n", cmd, err->msg);
    return bb_exit_status(code);
}

void bb_panic(const char *file, int line, const char *what) {
    fprintf(stderr, "bbsim: internal error at %s:%d: %s\n", file, line, what);
    abort();
}

void *bb_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bbsim: out of memory (asked for %zu bytes)\n", n);
        exit(BB_EXIT_FAILURE);
    }
    return p;
}

void *bb_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "bbsim: out of memory (asked for %zu x %zu bytes)\n", count, size);
        exit(BB_EXIT_FAILURE);
    }
    return p;
}

static void gsl_handler(const char *reason, const char *file, int line, int gsl_errno) {
    fprintf(stderr, "bbsim: GSL error %d (%s) at %s:%d: %s\n", gsl_errno, gsl_strerror(gsl_errno), file,
            line, reason);
    abort();
}

void bb_install_gsl_handler(void) { gsl_set_error_handler(&gsl_handler); }

double bb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int bb_threads(void) { return omp_get_max_threads(); }

int bb_threads_default(const char *omp_num_threads, const char *slurm_cpus_per_task) {
    if (omp_num_threads && *omp_num_threads) return 0;
    if (!slurm_cpus_per_task || !*slurm_cpus_per_task) return 0;
    char *end;
    errno = 0;
    long n = strtol(slurm_cpus_per_task, &end, 10);
    return errno || *end || n < 1 || n > 1024 ? 0 : (int)n;
}

void bb_threads_apply(int n) {
    if (n <= 0) n = bb_threads_default(getenv("OMP_NUM_THREADS"), getenv("SLURM_CPUS_PER_TASK"));
    if (n > 0) omp_set_num_threads(n);
}
