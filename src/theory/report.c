/* The theory checker's outputs: the common header of every curve TSV (provenance + every
 * option). The claims table itself is src/claims/claims.c. */
#include <stdio.h>
#include <string.h>
#include "bbsim/theory.h"

int theory_tsv_open(AtomicFile *af, const char *dir, const char *name, const Opt *opts, int nopts, BbError *err) {
    char path[BB_STRLEN];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return bb_fail(err, BB_EINPUT, "output path too long: %s/%s", dir, name);
    int rc = afile_open(af, path, err);
    if (rc) return rc;
    bb_write_provenance(af->f);
    for (int i = 0; i < nopts; i++) {
        char val[BB_STRLEN + 64];
        opts_format(&opts[i], val, sizeof val);
        fprintf(af->f, "# %s %s\n", opts[i].name, val);
    }
    return BB_OK;
}

