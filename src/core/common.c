/* Shared plumbing: error messages, option tables, atomic files, provenance, the
 * xoshiro256** GSL rng type. See include/bbsim/common.h. */
#include "bbsim/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <gsl/gsl_errno.h>

int bb_fail(BbError *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void bb_panic(const char *file, int line, const char *what) {
    fprintf(stderr, "bbsim: internal error at %s:%d: %s\n", file, line, what);
    abort();
}

void *bb_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bbsim: out of memory (asked for %zu bytes)\n", n);
        exit(BB_ENOMEM);
    }
    return p;
}

void *bb_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "bbsim: out of memory (asked for %zu x %zu bytes)\n", count, size);
        exit(BB_ENOMEM);
    }
    return p;
}

/* ------------------------------------------------------------------ options */

static const Opt *opt_find(const Opt *opts, int nopts, const char *name) {
    for (int i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

int intlist_has(const BbIntList *l, int v) {
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == v) return 1;
    return 0;
}

int parse_intlist(const char *s, BbIntList *out, int lo, int hi, BbError *err) {
    out->n = 0;
    if (*s == '\0') return BB_OK; /* empty list */
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end != ',' && *end != '\0'))
            return bb_fail(err, BB_EINPUT, "'%s' is not a comma-separated list of integers", s);
        if (v < lo || v > hi)
            return bb_fail(err, BB_EINPUT, "%ld in '%s' is out of range [%d, %d]", v, s, lo, hi);
        if (out->n == BB_MAXLIST)
            return bb_fail(err, BB_EINPUT, "list '%s' has more than %d entries", s, BB_MAXLIST);
        out->v[out->n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return BB_OK;
}

static int set_value(const Opt *o, const char *value, BbError *err) {
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT:
    case OPT_LONG: {
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno)
            return bb_fail(err, BB_EINPUT, "--%s: '%s' is not an integer", o->name, value);
        if ((double)v < o->lo || (double)v > o->hi)
            return bb_fail(err, BB_EINPUT, "--%s: %lld is out of range [%.0f, %.0f]", o->name, v,
                           o->lo, o->hi);
        if (o->kind == OPT_INT) *(int *)o->dest = (int)v;
        else *(long *)o->dest = (long)v;
        return BB_OK;
    }
    case OPT_U64: {
        if (*value == '-')
            return bb_fail(err, BB_EINPUT, "--%s: '%s' must be a non-negative integer", o->name, value);
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno)
            return bb_fail(err, BB_EINPUT, "--%s: '%s' is not a non-negative integer", o->name, value);
        *(uint64_t *)o->dest = (uint64_t)v;
        return BB_OK;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return bb_fail(err, BB_EINPUT, "--%s: '%s' is not a finite number", o->name, value);
        if (v < o->lo || v > o->hi)
            return bb_fail(err, BB_EINPUT, "--%s: %g is out of range [%g, %g]", o->name, v, o->lo, o->hi);
        *(double *)o->dest = v;
        return BB_OK;
    }
    case OPT_STR:
        if (strlen(value) >= BB_STRLEN)
            return bb_fail(err, BB_EINPUT, "--%s: value is longer than %d characters", o->name, BB_STRLEN - 1);
        strcpy((char *)o->dest, value);
        return BB_OK;
    case OPT_FLAG:
        if (strcmp(value, "0") && strcmp(value, "1"))
            return bb_fail(err, BB_EINPUT, "--%s: '%s' must be 0 or 1", o->name, value);
        *(int *)o->dest = value[0] == '1';
        return BB_OK;
    case OPT_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(o->choices[i], value) == 0) {
                *(int *)o->dest = i;
                return BB_OK;
            }
        {
            char list[512] = "";
            for (int i = 0; o->choices[i]; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, o->choices[i], sizeof list - strlen(list) - 1);
            }
            return bb_fail(err, BB_EINPUT, "--%s: unknown value '%s' (choose one of: %s)", o->name, value, list);
        }
    case OPT_EACH: {
        const OptEach *each = o->dest;
        return each->fn(each->ctx, o, value, err);
    }
    case OPT_INTLIST: {
        int rc = parse_intlist(value, (BbIntList *)o->dest, (int)o->lo, (int)o->hi, err);
        if (rc) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
            return bb_fail(err, rc, "--%s: %s", o->name, inner);
        }
        return BB_OK;
    }
    }
    return bb_fail(err, BB_EINPUT, "--%s: unsupported option kind", o->name);
}

int opts_set(const Opt *opts, int nopts, const char *name, const char *value, BbError *err) {
    const Opt *o = opt_find(opts, nopts, name);
    if (!o) return bb_fail(err, BB_EINPUT, "unknown option '%s'", name);
    return set_value(o, value, err);
}

int opts_parse(const Opt *opts, int nopts, int argc, char **argv, char **pos, int maxpos,
               int *npos, BbError *err) {
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npos >= maxpos)
                return bb_fail(err, BB_EINPUT, "unexpected argument '%s' (see --help)", a);
            pos[(*npos)++] = argv[i];
            continue;
        }
        char name[128];
        const char *eq = strchr(a + 2, '=');
        size_t nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (nlen >= sizeof name) return bb_fail(err, BB_EINPUT, "unknown flag '%s' (see --help)", a);
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        const Opt *o = opt_find(opts, nopts, name);
        if (!o) return bb_fail(err, BB_EINPUT, "unknown flag '--%s' (see --help)", name);
        const char *value;
        if (o->kind == OPT_FLAG && !eq) {
            value = "1";
        } else if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc) return bb_fail(err, BB_EINPUT, "--%s needs a value", name);
            value = argv[++i];
        }
        int rc = set_value(o, value, err);
        if (rc) return rc;
    }
    return BB_OK;
}

int bb_format_num(char *buf, size_t len, double x) {
    if (isnan(x)) return snprintf(buf, len, "NaN");
    if (isinf(x)) return snprintf(buf, len, x > 0 ? "Inf" : "-Inf");
    int n = 0;
    for (int digits = 6; digits <= 17; digits++) { // %.17g always reads back exactly
        n = snprintf(buf, len, "%.*g", digits, x);
        if (digits == 17 || strtod(buf, NULL) == x) break;
    }
    return n;
}

void bb_put_num(FILE *f, double x) {
    char buf[40];
    bb_format_num(buf, sizeof buf, x);
    fputs(buf, f);
}

void bb_put_fields(FILE *f, int n, const double *x) {
    for (int i = 0; i < n; i++) {
        fputc('\t', f);
        bb_put_num(f, x[i]);
    }
}

void opts_format(const Opt *o, char *buf, size_t len) {
    switch (o->kind) {
    case OPT_INT: snprintf(buf, len, "%d", *(int *)o->dest); break;
    case OPT_LONG: snprintf(buf, len, "%ld", *(long *)o->dest); break;
    case OPT_U64: snprintf(buf, len, "%llu", (unsigned long long)*(uint64_t *)o->dest); break;
    case OPT_DOUBLE: bb_format_num(buf, len, *(double *)o->dest); break;
    case OPT_STR: snprintf(buf, len, "%s", (const char *)o->dest); break;
    case OPT_FLAG: snprintf(buf, len, "%d", *(int *)o->dest); break;
    case OPT_CHOICE: snprintf(buf, len, "%s", o->choices[*(int *)o->dest]); break;
    case OPT_EACH: snprintf(buf, len, "%s", ""); break;
    case OPT_INTLIST: {
        const BbIntList *l = o->dest;
        buf[0] = '\0';
        for (int i = 0; i < l->n; i++) {
            size_t k = strlen(buf);
            snprintf(buf + k, len - k, "%s%d", i ? "," : "", l->v[i]);
        }
        break;
    }
    }
}

void opts_help(FILE *f, const Opt *opts, int nopts) {
    for (int i = 0; i < nopts; i++) {
        const Opt *o = &opts[i];
        char val[BB_STRLEN + 64], flag[160];
        opts_format(o, val, sizeof val);
        /* print %g for doubles in help: shorter than the round-trip form */
        if (o->kind == OPT_DOUBLE) snprintf(val, sizeof val, "%g", *(double *)o->dest);
        const char *meta = o->kind == OPT_EACH ? ((const OptEach *)o->dest)->meta : o->kind == OPT_FLAG ? "" : o->kind == OPT_CHOICE ? "NAME"
                         : o->kind == OPT_INTLIST ? "LIST" : o->kind == OPT_STR ? "STR"
                         : o->kind == OPT_DOUBLE ? "X" : "N";
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, meta[0] ? " " : "", meta);
        fprintf(f, "  %-24s %s", flag, o->help);
        if (o->kind == OPT_CHOICE) {
            fprintf(f, " (");
            for (int c = 0; o->choices[c]; c++) fprintf(f, "%s%s", c ? "|" : "", o->choices[c]);
            fprintf(f, ")");
        }
        if (o->kind == OPT_EACH) fprintf(f, "\n");
        else if (o->kind == OPT_FLAG) fprintf(f, " [default: %s]\n", *(int *)o->dest ? "on" : "off");
        else fprintf(f, " [default: %s]\n", val[0] ? val : "none");
    }
}

void opts_write(FILE *f, const Opt *opts, int nopts) {
    for (int i = 0; i < nopts; i++) {
        if (opts[i].kind == OPT_EACH) continue;
        char val[BB_STRLEN + 64];
        opts_format(&opts[i], val, sizeof val);
        fprintf(f, "%s %s\n", opts[i].name, val);
    }
}

int opts_read(const Opt *opts, int nopts, FILE *f, const char *where, BbError *err) {
    char line[BB_STRLEN + 256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] != '\n' && !feof(f))
            return bb_fail(err, BB_EINPUT, "%s:%d: line too long", where, lineno);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0 || line[0] == '#') continue;
        if (strcmp(line, "end") == 0) return BB_OK;
        char *sp = strchr(line, ' ');
        const char *value = sp ? sp + 1 : "";
        if (sp) *sp = '\0';
        if (opts_set(opts, nopts, line, value, err)) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
            return bb_fail(err, BB_EINPUT, "%s:%d: %s", where, lineno, inner);
        }
    }
    if (ferror(f)) return bb_fail(err, BB_EIO, "%s: read error", where);
    return BB_OK;
}

/* ------------------------------------------------------------- atomic files */

int afile_open(AtomicFile *af, const char *path, BbError *err) {
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) return bb_fail(err, BB_EINPUT, "path too long: %s", path);
    strcpy(af->path, path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp", path);
    af->f = fopen(af->tmp, "wb");
    if (!af->f) return bb_fail(err, BB_EIO, "cannot create %s: %s", af->tmp, strerror(errno));
    return BB_OK;
}

int afile_commit(AtomicFile *af, BbError *err) {
    if (!af->f) return bb_fail(err, BB_EIO, "%s: not open", af->path);
    int bad = fflush(af->f) != 0 || ferror(af->f);
    int saved = errno;
    if (!bad && fsync(fileno(af->f)) != 0 && errno != EINVAL && errno != EROFS) {
        bad = 1;
        saved = errno;
    }
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    af->f = NULL;
    if (bad) {
        unlink(af->tmp);
        return bb_fail(err, BB_EIO, "cannot write %s: %s (nothing was replaced)", af->path,
                       strerror(saved ? saved : EIO));
    }
    if (rename(af->tmp, af->path) != 0) {
        saved = errno;
        unlink(af->tmp);
        return bb_fail(err, BB_EIO, "cannot rename %s to %s: %s", af->tmp, af->path, strerror(saved));
    }
    return BB_OK;
}

void afile_abort(AtomicFile *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        unlink(af->tmp);
    }
}

int bb_mkdirs(const char *path, BbError *err) {
    char buf[BB_STRLEN];
    if (strlen(path) >= sizeof buf) return bb_fail(err, BB_EINPUT, "path too long: %s", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return bb_fail(err, BB_EIO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return bb_fail(err, BB_EIO, "cannot create directory %s: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return bb_fail(err, BB_EIO, "%s exists and is not a directory", buf);
    return BB_OK;
}

/* --------------------------------------------------------------- provenance */

static char g_cmdline[4096] = "(library)";

void bb_set_cmdline(int argc, char **argv) {
    g_cmdline[0] = '\0';
    for (int i = 0; i < argc; i++) {
        size_t k = strlen(g_cmdline);
        snprintf(g_cmdline + k, sizeof g_cmdline - k, "%s%s", i ? " " : "", argv[i]);
    }
}

const char *bb_cmdline(void) { return g_cmdline; }

void bb_write_provenance(FILE *f) {
    fprintf(f, "# bbsim %s\n", BBSIM_VERSION);
    fprintf(f, "# command %s\n", g_cmdline);
    fprintf(f, "# threads %d\n", bb_threads());
    fprintf(f, "# built against %s\n", BBSIM_BLAS_NAME);
}

/* -------------------------------------------------------------------- rng */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t bb_seed_mix(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t x = a;
    uint64_t h = splitmix64(&x);
    x = h ^ b;
    h = splitmix64(&x);
    x = h ^ c;
    return splitmix64(&x);
}

typedef struct {
    uint64_t s[4];
} XoshiroState;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t xoshiro_next(XoshiroState *st) {
    uint64_t *s = st->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void xoshiro_set(void *vstate, unsigned long seed) {
    XoshiroState *st = vstate;
    uint64_t x = (uint64_t)seed;
    for (int i = 0; i < 4; i++) st->s[i] = splitmix64(&x);
}

/* GSL's get() returns values in [min, max]; we expose the top 32 bits. */
static unsigned long xoshiro_get(void *vstate) { return (unsigned long)(xoshiro_next(vstate) >> 32); }

static double xoshiro_get_double(void *vstate) {
    return (double)(xoshiro_next(vstate) >> 11) * 0x1.0p-53; /* [0,1) with 53 bits */
}

static const gsl_rng_type xoshiro_type = {"xoshiro256**", 0xffffffffUL, 0, sizeof(XoshiroState),
                                          &xoshiro_set, &xoshiro_get, &xoshiro_get_double};
const gsl_rng_type *bb_rng_xoshiro = &xoshiro_type;

gsl_rng *bb_rng_alloc(uint64_t seed) {
    _Static_assert(sizeof(unsigned long) == 8, "bbsim needs 64-bit unsigned long (LP64)");
    gsl_rng *r = gsl_rng_alloc(bb_rng_xoshiro);
    if (!r) {
        fprintf(stderr, "bbsim: out of memory allocating a random stream\n");
        exit(BB_ENOMEM);
    }
    gsl_rng_set(r, (unsigned long)seed);
    return r;
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
