/* Claims C15-C17 of docs/figures.md (related work: activation sweep, context and depth
 * sweeps, over-mixing) are not built yet; `bbsim claims` reports them NOT RUN with the
 * reason of their entry in claim_sections. Requesting the section is an error. */
#include "bbsim/claims.h"

int claims_related(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section related (C15-C17) is not built yet (its claims are NOT RUN)", out);
}
