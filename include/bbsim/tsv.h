/* The tidy TSV files bbsim writes (analysis, dynamics, interventions, theory, claims,
 * training metrics, bench) and reads back (`bbsim claims`): one layout, one writer, one
 * reader, and the one escape of text fields (token labels). The layout:
 *   line 1   the column names, tab-separated (letters, digits and '_'; all distinct)
 *   then     '#' lines: the provenance (bb_write_provenance), then whatever the writer
 *            adds (settings, what the columns mean)
 *   then     the rows, one field per column ('#' lines may follow between them)
 * The names come first because numpy's genfromtxt(names=True) takes the first line as the
 * names; genfromtxt, pandas.read_csv(sep='\t', comment='#'), gnuplot (columnheaders,
 * commentschars "#") and tsv_read all skip the '#' lines after it. No field contains a
 * tab, newline, '#' or '"' (text goes through tsv_escape). */
#ifndef BBSIM_TSV_H
#define BBSIM_TSV_H

#include <stddef.h>
#include "bbsim/common.h"

/* ---- writing ---- */
typedef struct TsvWriter {
    AtomicFile af;
    FILE *f;   /* af.f: the '#' lines and the rows go here, after tsv_begin */
    int ncols; /* number of columns of the name line */
} TsvWriter;

/* Open DIR/NAME (NAME alone when dir is NULL) atomically and write the column-name line
 * `columns` (names separated by tabs, no newline) and the provenance. A bad name (empty,
 * a character other than [A-Za-z0-9_], a repeat) is a programming error (BB_CHECK). */
int tsv_begin(TsvWriter *w, const char *dir, const char *name, const char *columns, BbError *err);
/* afile_commit / afile_abort of the file. */
int tsv_commit(TsvWriter *w, BbError *err);
void tsv_abort(TsvWriter *w);
/* The column-name line (checked as above) and the provenance on a stream the caller opened
 * (train's metrics.tsv, appended to row by row). Returns the number of columns. */
int tsv_write_head(FILE *f, const char *columns);

/* Every option of a command as "# config NAME VALUE" lines (OPT_EACH ones left out). */
void tsv_options(FILE *f, const Opt *opts, int nopts);

/* ---- the escape of text fields (docs/method.md#token-labels) ----
 *   \\ backslash   \s space (TSV_ESC_LABEL only)   \t tab   \n newline   \r return
 *   \x23 '#'   \x22 '"'   \xHH any other byte outside '!'..'~' (two upper-case hex digits)
 * Printable ASCII other than '\', '#' and '"' stays as it is. An escaped label is one word
 * of printable ASCII with no '#' or '"'; TSV_ESC_TEXT (claims text) keeps its spaces.
 * tsv_unescape inverts both. */
typedef enum { TSV_ESC_LABEL, TSV_ESC_TEXT } TsvEscape;
/* Escape s[0..n) into out (cap >= 1 bytes, always NUL-terminated), stopping before the
 * first escape that would not fit. Returns the number of bytes of s escaped (n when it
 * all fit). */
size_t tsv_escape(char *out, size_t cap, const void *s, size_t n, TsvEscape mode);
/* fputs of the escape of the string s (any length). */
void tsv_put_text(FILE *f, const char *s, TsvEscape mode);
/* Decode an escaped field into out[0..cap), *n bytes (no NUL added). BB_EINPUT on an
 * unknown or cut escape, or when cap is too small. */
int tsv_unescape(unsigned char *out, size_t cap, const char *s, size_t *n);

/* ---- reading: '#' lines and empty lines skipped, the first other line names the
 * columns, every row must have as many fields ---- */
typedef struct Tsv {
    char path[BB_STRLEN];
    int nrows, ncols;
    char **names; /* ncols column names */
    char **cells; /* nrows * ncols fields, row-major; point into buf */
    char *buf;    /* the file's text, fields NUL-terminated in place */
} Tsv;

/* Read a whole file. Missing/unreadable file: BB_EIO; no header, or a row with the wrong
 * number of fields: BB_EINPUT naming path:line. On error *t is left empty (tsv_free-able). */
int tsv_read(const char *path, Tsv *t, BbError *err);
void tsv_free(Tsv *t);

/* Column index by name, or -1. tsv_require fails with BB_EINPUT naming file and column. */
int tsv_col(const Tsv *t, const char *name);
int tsv_require(const Tsv *t, const char *name, int *col, BbError *err);

const char *tsv_str(const Tsv *t, int row, int col);
/* The field as a number; NaN when it is not one (empty, "NaN", text). */
double tsv_num(const Tsv *t, int row, int col);

/* Look up a value in a long-format metric table (columns layer, head, metric, value:
 * analysis metrics.tsv and its intervention twin). BB_EINPUT when absent. */
int tsv_metric(const Tsv *t, int layer, int head, const char *metric, double *value, BbError *err);

#endif
