/* The theory checker's outputs: the common header of every curve TSV (column names,
 * provenance, every option). The claims table itself is src/claims/claims.c. */
#include <stdio.h>
#include "bbsim/theory.h"

int theory_tsv_open(TsvWriter *w, const char *dir, const char *name, const char *columns, const Opt *opts,
                    int nopts, BbError *err) {
    int rc = tsv_begin(w, dir, name, columns, err);
    if (rc) return rc;
    tsv_options(w->f, opts, nopts);
    return BB_OK;
}
