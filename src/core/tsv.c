/* bbsim's TSV files (the layout is in include/bbsim/tsv.h): the writer every table goes
 * through (column names first, then the '#' provenance), the escape of text fields, and
 * the reader behind `bbsim claims` (one read of the file, fields cut in place, so a table
 * of a few thousand rows costs one allocation). */
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
    FILE *f;
    int rc = bb_open_input(&f, path, "table", BB_MAX_TSV_BYTES, err); /* missing, not a file, too large: BB_EINPUT */
    if (rc) return rc;
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
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *c = buf; c < nul; c++) line += *c == '\n';
        tsv_free(t);
        return bb_fail(err, BB_EINPUT, "%s:%d: NUL byte", path, line);
    }

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

/* ------------------------------------------------------------ writing */

/* Column names numpy's genfromtxt keeps as they are. */
static int name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Number of tab-separated names in columns; aborts on an empty, badly spelt or repeated name. */
static int check_columns(const char *columns) {
    int n = 0;
    for (const char *name = columns;;) {
        size_t len = strcspn(name, "\t");
        BB_CHECK(len > 0); /* an empty column name */
        for (size_t i = 0; i < len; i++) BB_CHECK(name_char((unsigned char)name[i]));
        for (const char *prev = columns; prev < name; prev += strcspn(prev, "\t") + 1)
            BB_CHECK(!(strcspn(prev, "\t") == len && !memcmp(prev, name, len))); /* a repeated name */
        n++;
        if (!name[len]) return n;
        name += len + 1;
    }
}

int tsv_write_head(FILE *f, const char *columns) {
    const int n = check_columns(columns);
    fprintf(f, "%s\n", columns);
    bb_write_provenance(f);
    return n;
}

int tsv_begin(TsvWriter *w, const char *dir, const char *name, const char *columns, BbError *err) {
    memset(w, 0, sizeof *w);
    char path[BB_STRLEN];
    int len = dir ? snprintf(path, sizeof path, "%s/%s", dir, name) : snprintf(path, sizeof path, "%s", name);
    if (len < 0 || (size_t)len >= sizeof path)
        return bb_fail(err, BB_EINPUT, "output path too long: %s%s%s", dir ? dir : "", dir ? "/" : "", name);
    int rc = afile_open(&w->af, path, err);
    if (rc) return rc;
    w->f = w->af.f;
    w->ncols = tsv_write_head(w->f, columns);
    return BB_OK;
}

int tsv_commit(TsvWriter *w, BbError *err) {
    w->f = NULL;
    return afile_commit(&w->af, err);
}

void tsv_abort(TsvWriter *w) {
    w->f = NULL;
    afile_abort(&w->af);
}

void tsv_options(FILE *f, const Opt *opts, int nopts) {
    for (int i = 0; i < nopts; i++) {
        if (opts[i].kind == OPT_EACH) continue;
        char val[BB_STRLEN + 64];
        opts_format(&opts[i], val, sizeof val);
        fprintf(f, "# config %s %s\n", opts[i].name, val);
    }
}

/* ------------------------------------------------------------ the escape */

/* The escape of byte c into piece (at most 4 characters + NUL). */
static void escape_byte(char piece[5], unsigned char c, TsvEscape mode) {
    switch (c) {
    case '\\': strcpy(piece, "\\\\"); return;
    case '\t': strcpy(piece, "\\t"); return;
    case '\n': strcpy(piece, "\\n"); return;
    case '\r': strcpy(piece, "\\r"); return;
    case ' ': strcpy(piece, mode == TSV_ESC_LABEL ? "\\s" : " "); return;
    default: break;
    }
    if (c > ' ' && c < 127 && c != '#' && c != '"') piece[0] = (char)c, piece[1] = '\0';
    else snprintf(piece, 5, "\\x%02X", c);
}

size_t tsv_escape(char *out, size_t cap, const void *src, size_t n, TsvEscape mode) {
    BB_CHECK(cap >= 1);
    const unsigned char *s = src;
    size_t k = 0, i;
    for (i = 0; i < n; i++) {
        char piece[5];
        escape_byte(piece, s[i], mode);
        const size_t m = strlen(piece);
        if (k + m >= cap) break; /* cut between escapes, never inside one */
        memcpy(out + k, piece, m);
        k += m;
    }
    out[k] = '\0';
    return i;
}

void tsv_put_text(FILE *f, const char *s, TsvEscape mode) {
    for (; *s; s++) {
        char piece[5];
        escape_byte(piece, (unsigned char)*s, mode);
        fputs(piece, f);
    }
}

static int hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int tsv_unescape(unsigned char *out, size_t cap, const char *s, size_t *n) {
    size_t k = 0;
    for (const char *p = s; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '\\') {
            switch (*++p) {
            case '\\': c = '\\'; break;
            case 's': c = ' '; break;
            case 't': c = '\t'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 'x': {
                const int hi = p[1] ? hex_digit((unsigned char)p[1]) : -1;
                const int lo = hi >= 0 && p[2] ? hex_digit((unsigned char)p[2]) : -1;
                if (lo < 0) return BB_EINPUT;
                c = hi * 16 + lo;
                p += 2;
                break;
            }
            default: return BB_EINPUT; /* unknown escape, or a '\' at the end */
            }
        }
        if (k == cap) return BB_EINPUT;
        out[k++] = (unsigned char)c;
    }
    *n = k;
    return BB_OK;
}
