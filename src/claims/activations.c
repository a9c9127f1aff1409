/* Claim C15 of docs/figures.md (section activations): not built yet; requesting the section is an
 * error, and bbsim claims reports C15 NOT RUN when it is not requested. */
#include "bbsim/claims.h"

int claims_activations(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section activations (C15) is not built yet", out);
}
