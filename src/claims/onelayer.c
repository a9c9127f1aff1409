/* Claims C1-C5 of docs/figures.md from the runs of paper_repro/onelayer.mk.
 * PLACEHOLDER: not built yet; make repro does not request this section. */
#include "bbsim/claims.h"

int claims_onelayer(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section onelayer (C1-C5) is not built yet", out);
}
