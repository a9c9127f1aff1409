/* Errors (GSL style: a status and a message), allocation that cannot fail, the GSL
 * error handler, the clock and the thread count (with its default from the environment). */
#include "bbsim/common.h"

#include <errno.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_errno.h>

/* The length of the UTF-8 sequence at s if it is valid and harmless to show (not a C1
 * control, not a bidirectional control), else 0. ASCII is handled by the caller. */
static int utf8_shown(const unsigned char *s) {
    const unsigned c = s[0];
    int n;
    unsigned lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else return 0; /* a continuation byte alone, an overlong lead (c0, c1) or f5..ff */
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    if (c == 0xc2 && s[1] <= 0x9f) return 0;                                          /* C1 controls */
    if (c == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) return 0;         /* LRE..RLO */
    if (c == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9) return 0;         /* LRI..PDI */
    return n;
}

size_t bb_escape_msg(char *out, size_t cap, const char *in, const char *keep) {
    size_t k = 0;
    const unsigned char *c = (const unsigned char *)in;
    if (cap == 0) return 0;
    while (*c) {
        int n = *c < 0x80 ? (*c >= 0x20 && *c != 0x7f) || (*c && strchr(keep, *c)) : utf8_shown(c);
        if (n > 0) {
            if (k + (size_t)n >= cap) break;
            memcpy(out + k, c, (size_t)n);
            k += (size_t)n;
            c += n;
            continue;
        }
        /* the bytes of a harmful but valid sequence are escaped one by one, like any other */
        if (k + 5 > cap) break; /* "\xHH" does not fit: cut before it */
        snprintf(out + k, 5, "\\x%02x", *c);
        k += 4;
        c++;
    }
    out[k] = '\0';
    return k;
}

int bb_fail(BbError *err, int code, const char *fmt, ...) {
    if (err) {
        char raw[sizeof err->msg]; /* fmt's arguments may point into err->msg itself */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        bb_escape_msg(err->msg, sizeof err->msg, raw, "");
    }
    return code;
}

int bb_say(FILE *f, const char *fmt, ...) {
    char raw[4096], shown[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    bb_escape_msg(shown, sizeof shown, raw, "\n\r\t");
    return fputs(shown, f);
}

int bb_exit_status(int code) {
    switch (code) {
    case BB_OK: return BB_EXIT_OK;
    case BB_EINPUT:
    case BB_ECORRUPT:
    case BB_ENOENT: return BB_EXIT_INPUT;
    case BB_EDIVERGED: return BB_EXIT_DIVERGED;
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
