/* The TSV reader behind `bbsim claims` (see include/bbsim/tsv.h): one read of the file,
 * fields cut in place, so a table of a few thousand rows costs one allocation. */
#include "bbsim/tsv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tsv_free(Tsv *t) {
    free(t->names);
    free(t->cells);
    free(t->buf);
    t->names = t->cells = NULL;
    t->buf = NULL;
    t->nrows = t->ncols = 0;
}

/* Split line (NUL-terminated, no newline) at tabs into out[0..max); returns the count
 * (which may exceed max: the caller reports it). */
static int split_tabs(char *line, char **out, int max) {
    int n = 0;
    for (char *p = line;;) {
        if (n < max) out[n] = p;
        n++;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

int tsv_read(const char *path, Tsv *t, BbError *err) {
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) return bb_fail(err, BB_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf) return bb_fail(err, BB_ENOMEM, "%s: out of memory", path);
    if (rerr) {
        free(buf);
        return bb_fail(err, BB_EIO, "%s: read error", path);
    }
    buf[len] = '\0';
    t->buf = buf;

    /* count lines for an upper bound on rows */
    size_t nlines = 1;
    for (size_t i = 0; i < len; i++) nlines += buf[i] == '\n';
    int lineno = 0;
    char *p = buf;
    size_t rowcap = 0;
    while (*p) {
        char *nl = strchr(p, '\n');
        char *next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = '\0';
        if (nl > p && nl[-1] == '\r') nl[-1] = '\0';
        lineno++;
        if (p[0] == '#' || p[0] == '\0') {
            p = next;
            continue;
        }
        if (!t->names) {
            int n = 1;
            for (const char *c = p; *c; c++) n += *c == '\t';
            t->names = malloc(sizeof(char *) * (size_t)n);
            rowcap = nlines;
            t->cells = malloc(sizeof(char *) * (size_t)n * rowcap);
            if (!t->names || !t->cells) {
                tsv_free(t);
                return bb_fail(err, BB_ENOMEM, "%s: out of memory", path);
            }
            t->ncols = split_tabs(p, t->names, n);
        } else {
            char **row = t->cells + (size_t)t->nrows * (size_t)t->ncols;
            int n = split_tabs(p, row, t->ncols);
            if (n != t->ncols) {
                int nc = t->ncols;
                tsv_free(t);
                return bb_fail(err, BB_EINPUT, "%s:%d: %d fields, the header has %d", path, lineno, n, nc);
            }
            t->nrows++;
        }
        p = next;
    }
    if (!t->names) {
        tsv_free(t);
        return bb_fail(err, BB_EINPUT, "%s: no header line (empty or truncated file)", path);
    }
    return 0;
}

int tsv_col(const Tsv *t, const char *name) {
    for (int j = 0; j < t->ncols; j++)
        if (!strcmp(t->names[j], name)) return j;
    return -1;
}

int tsv_require(const Tsv *t, const char *name, int *col, BbError *err) {
    *col = tsv_col(t, name);
    if (*col < 0) return bb_fail(err, BB_EINPUT, "%s: no column '%s'", t->path, name);
    return 0;
}

const char *tsv_str(const Tsv *t, int row, int col) { return t->cells[(size_t)row * (size_t)t->ncols + (size_t)col]; }

double tsv_num(const Tsv *t, int row, int col) {
    const char *s = tsv_str(t, row, col);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') return NAN;
    return v;
}

int tsv_metric(const Tsv *t, int layer, int head, const char *metric, double *value, BbError *err) {
    int cl, ch, cm, cv, rc;
    if ((rc = tsv_require(t, "layer", &cl, err)) || (rc = tsv_require(t, "head", &ch, err)) ||
        (rc = tsv_require(t, "metric", &cm, err)) || (rc = tsv_require(t, "value", &cv, err)))
        return rc;
    for (int i = 0; i < t->nrows; i++)
        if (tsv_num(t, i, cl) == layer && tsv_num(t, i, ch) == head && !strcmp(tsv_str(t, i, cm), metric)) {
            *value = tsv_num(t, i, cv);
            return 0;
        }
    return bb_fail(err, BB_EINPUT, "%s: no metric '%s' for layer %d head %d", t->path, metric, layer, head);
}
