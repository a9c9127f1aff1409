/* bbsim explore: one self-contained HTML page of a run (src/analysis/explore.c): for a
 * sample of its checkpoints, the attention maps, value and residual norms of one sequence
 * of the fixed evaluation batch, the head table and the dynamics row, all from the
 * analysis functions of include/bbsim/analysis.h, embedded as JSON into the page template
 * plots/explore.html (compiled into the binary; docs/explore.md). */
#ifndef BBSIM_EXPLORE_H
#define BBSIM_EXPLORE_H

#include <stdio.h>
#include "bbsim/analysis.h"

typedef struct ExploreRequest {
    int seq;       /* sequence K of the run's evaluation batch [0] */
    int max_ckpts; /* at most this many checkpoints (>= 2), geometrically spaced [40] */
    AnalysisConfig ac;
} ExploreRequest;

void explore_request_default(ExploreRequest *r);

/* Indices into n checkpoints at steps[0..n) (ascending), at most max (>= 2) of them: all
 * when n <= max, else max indices with the first and the last, the k-th the checkpoint
 * nearest (in log step) to a geometric grid in step + 1 from steps[0] to steps[n-1], made
 * strictly increasing: even in log t whatever the run's own checkpoint schedule. Returns
 * how many were written into idx (room for min(n, max)). */
int explore_pick_checkpoints(const long *steps, int n, int max, int *idx);

/* s as a JSON string literal (quotes included) safe inside an HTML <script> element:
 * '"' and '\' escaped, and every control byte, byte >= 0x7f and each of < > & ' written
 * as \u00XX, so no text can close the script element or start a comment or an entity. */
void explore_json_string(FILE *f, const char *s);

/* The page data (the JSON object the template reads) of the run in dir, to f. */
int explore_write_json(FILE *f, const char *dir, const ExploreRequest *req, FILE *report, BbError *err);

/* The whole page into out, atomically (afile_open/commit: nothing left on failure). Bad
 * input (no run, --seq beyond the batch): BB_EINPUT/BB_ENOENT with a message. report (NULL:
 * quiet) gets a line on what was written; a progress line on a terminal. */
int explore_run(const char *dir, const char *out, const ExploreRequest *req, FILE *report, BbError *err);

/* The page template (plots/explore.html, compiled in by CMakeLists.txt) and its
 * placeholder, replaced by the JSON. */
extern const unsigned char explore_template[];
extern const size_t explore_template_len;
#define EXPLORE_PLACEHOLDER "/*BBSIM_DATA*/null"

#endif
