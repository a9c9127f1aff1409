/* Claim C17 of docs/figures.md (section overmixing): not built yet; requesting the section is an
 * error, and bbsim claims reports C17 NOT RUN when it is not requested. */
#include "bbsim/claims.h"

int claims_overmixing(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section overmixing (C17) is not built yet", out);
}
