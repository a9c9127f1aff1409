/* Reading back the tidy TSV files bbsim writes (analysis, dynamics, interventions,
 * theory): '#' provenance lines skipped, the first other line names the columns, every
 * row must have as many fields. Used by `bbsim claims` to decide each figure's claim
 * from the same files gnuplot draws. */
#ifndef BBSIM_TSV_H
#define BBSIM_TSV_H

#include "bbsim/common.h"

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
