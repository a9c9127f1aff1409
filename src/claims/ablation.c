/* Claims C13-C14 of docs/figures.md from the runs of paper_repro/ablation.mk.
 * PLACEHOLDER: not built yet; make repro does not request this section. */
#include "bbsim/claims.h"

int claims_ablation(const char *out, ClaimList *l, BbError *err) {
    (void)l;
    return bb_fail(err, BB_EINPUT, "%s: section ablation (C13-C14) is not built yet", out);
}
