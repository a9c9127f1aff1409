/* bbsim claims OUT: decide every claim of docs/figures.md from the files `make repro`
 * left in OUT (see include/bbsim/claims.h for the sections and the file layout), write
 * OUT/claims.tsv and print the table. FAIL is a result (exit 0); a missing or malformed
 * input is an error (exit 1, naming the file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/claims.h"
#include "bbsim/cli.h"

/* The profiles of paper_repro/Makefile (PROFILE=...). */
static const char *const profile_names[] = {"quick", "paper", "smoke", NULL};

typedef struct {
    char sections[BB_STRLEN];
    int profile; /* index into profile_names */
    char out[BB_STRLEN];
    int quiet;
    int threads;
} ClaimsOpts;

static int claims_opts(ClaimsOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"sections", OPT_STR, o->sections, 0, 0, NULL,
                   "comma-separated sections to decide, each NAME or NAME:SEEDS (its runs replicated over SEEDS seeds: "
                   "replicate 1 under OUT, replicate k under OUT/seedK; docs/figures.md#seeds); all = every one, "
                   "one seed"};
    t[k++] = (Opt){"profile", OPT_CHOICE, &o->profile, 0, 0, profile_names,
                   "the make repro profile of OUT, recorded in the header"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL, "output file [default: OUT/claims.tsv]"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no table on stdout"};
    return k;
}

/* --threads is accepted like everywhere else, but claims only reads files (no parallel
 * code): it is not part of the options written into claims.tsv. */
static int claims_runtime_opts(ClaimsOpts *o, Opt *t) {
    t[0] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL,
                 "accepted for every command alike; no effect here (claims reads files, no parallel code)"};
    return 1;
}

int cmd_claims(int argc, char **argv) {
    ClaimsOpts o = {.sections = "all", .profile = 0};
    Opt t[8];
    int nopt = claims_opts(&o, t), npos;
    const int nall = nopt + claims_runtime_opts(&o, t + nopt);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bbsim claims OUT [flags]\n\n"
                   "Decides the claims of docs/figures.md from a make repro output directory OUT (run\n"
                   "directories under OUT/runs/, theory under OUT/theory/) and writes OUT/claims.tsv:\n"
                   "id, claim, prediction, measured, fit (side numbers), threshold, verdict, and over seeds:\n"
                   "seeds, seeds_pass, min, max, values (measured is then the median; verdict PASS when every\n"
                   "seed passed, FAIL when none did, MIXED otherwise), and for rates of heads (C15's sink rates)\n"
                   "ci_low, ci_high, pooled_k, pooled_n: pooled over heads x seeds, measured = 100 pooled_k /\n"
                   "pooled_n, verdict PASS / FAIL when its 95%% Wilson interval is all on the passing / failing\n"
                   "side of the threshold, UNDECIDED when it straddles it (docs/figures.md#seeds).\n\nsections:\n");
            for (int s = 0; s < claim_nsections; s++)
                printf("  %-10s %s\n", claim_sections[s].name, claim_sections[s].ids);
            printf("\nflags:\n");
            opts_help(stdout, t, nall);
            return 0;
        }
    char *pos[2];
    BbError err;
    int rc = opts_parse(t, nall, argc, argv, pos, 2, &npos, &err);
    if (rc) return bb_report("claims", rc, &err);
    if (npos != 1) {
        bb_fail(&err, BB_EINPUT, "expected one output directory (bbsim claims OUT), got %d arguments", npos);
        return bb_report("claims", BB_EINPUT, &err);
    }
    const char *dir = pos[0];
    static ClaimList cl; /* large: not on the stack */
    if ((rc = claims_sections_check(o.sections, &err)) || (rc = claims_decide(dir, o.sections, &cl, &err)))
        return bb_report("claims", rc, &err);
    char path[BB_STRLEN];
    if (o.out[0])
        snprintf(path, sizeof path, "%s", o.out);
    else if ((size_t)snprintf(path, sizeof path, "%s/claims.tsv", dir) >= sizeof path) {
        bb_fail(&err, BB_EINPUT, "output path too long: %s/claims.tsv", dir);
        return bb_report("claims", BB_EINPUT, &err);
    }
    if ((rc = claims_write_tsv(&cl, path, t, nopt, &err))) return bb_report("claims", rc, &err);
    if (!o.quiet) claims_print(stdout, &cl);
    return 0;
}
