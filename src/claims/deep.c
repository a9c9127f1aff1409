/* Claims C6-C9 of docs/figures.md from the runs of paper_repro/deep.mk.
 * PLACEHOLDER: not built yet; make repro does not request this section. */
#include "bbsim/claims.h"

int claims_deep(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section deep (C6-C9) is not built yet", out);
}
