/* Claims C15-C17 of docs/figures.md from the runs of paper_repro/related.mk.
 * PLACEHOLDER: not built yet; make repro does not request this section. */
#include "bbsim/claims.h"

int claims_related(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section related (C15-C17) is not built yet", out);
}
