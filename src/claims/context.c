/* Claim C16 of docs/figures.md (section context): not built yet; requesting the section is an
 * error, and bbsim claims reports C16 NOT RUN when it is not requested. */
#include "bbsim/claims.h"

int claims_context(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section context (C16) is not built yet", out);
}
