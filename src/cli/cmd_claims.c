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

/* The number of seeds of section `name` in the --sections list (NAME or NAME:SEEDS, or
 * "all"): 0 when it is not listed, 1 without a count. */
static int wanted(const char *list, const char *name) {
    if (!strcmp(list, "all")) return 1;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0' || p[n] == ':'))
            return p[n] == ':' ? atoi(p + n + 1) : 1;
    return 0;
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
    /* every requested section must exist, and at least one be named: an empty item (",",
     * "a,,b", a trailing comma) is refused, it would leave sections silently NOT RUN */
    if (strcmp(o.sections, "all")) {
        char buf[BB_STRLEN];
        snprintf(buf, sizeof buf, "%s", o.sections);
        const size_t len = strlen(buf);
        if (!len || buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,")) {
            bb_fail(&err, BB_EINPUT, "--sections '%s': an empty section name (give NAME[:SEEDS],... or all)",
                    o.sections);
            return bb_report("claims", BB_EINPUT, &err);
        }
        for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            char *colon = strchr(s, ':');
            if (colon) { /* NAME:SEEDS, 1 to 99 seeds */
                char *end;
                long seeds = strtol(colon + 1, &end, 10);
                if (end == colon + 1 || *end || seeds < 1 || seeds > 99) {
                    bb_fail(&err, BB_EINPUT, "--sections: '%s': the number of seeds after ':' must be 1 to 99", s);
                    return bb_report("claims", BB_EINPUT, &err);
                }
                *colon = '\0';
            }
            int found = 0;
            const char *names[64];
            for (int k = 0; k < claim_nsections && k < 64; k++) {
                found |= !strcmp(claim_sections[k].name, s);
                names[k] = claim_sections[k].name;
            }
            if (!found) {
                char near[256], hint[300] = "";
                if (bb_suggest(near, sizeof near, s, names, claim_nsections < 64 ? claim_nsections : 64, ""))
                    snprintf(hint, sizeof hint, "did you mean %s? ", near);
                bb_fail(&err, BB_EINPUT, "--sections: unknown section '%s' (%sbbsim claims --help lists them)", s,
                        hint);
                return bb_report("claims", BB_EINPUT, &err);
            }
        }
    }
    /* every claim of the contract gets rows, in contract order: a requested section's
     * measured ones, NOT RUN (with why) for the others */
    static ClaimList cl;
    cl.n = 0;
    for (int k = 0; k < claim_nsections; k++) {
        const ClaimSection *sec = &claim_sections[k];
        const int nseeds = wanted(o.sections, sec->name);
        if (nseeds) {
            if ((rc = claims_decide_seeds(sec, dir, nseeds, &cl, &err))) {
                bb_fail(&err, rc, "section %s: %s", sec->name, err.msg);
                return bb_report("claims", rc, &err);
            }
            for (int c = 0; c < claim_ncontract; c++) { /* a claim its inputs did not decide */
                if (strcmp(claim_contract[c].section, sec->name)) continue;
                int rows = 0;
                for (int i = 0; i < cl.n; i++) rows += !strcmp(cl.c[i].id, claim_contract[c].id);
                if (!rows)
                    claims_not_run(&cl, claim_contract[c].id, claim_contract[c].claim, claim_contract[c].threshold,
                                   "its section ran but its inputs hold no row for it");
            }
            continue;
        }
        for (int c = 0; c < claim_ncontract; c++)
            if (!strcmp(claim_contract[c].section, sec->name))
                claims_not_run(&cl, claim_contract[c].id, claim_contract[c].claim, claim_contract[c].threshold,
                               sec->not_run);
    }
    /* rows in claim order (C1 ... C17), each claim's rows in the order they came */
    for (int i = 1; i < cl.n; i++) {
        Claim c = cl.c[i];
        int j = i;
        while (j > 0 && atoi(cl.c[j - 1].id + 1) > atoi(c.id + 1)) {
            cl.c[j] = cl.c[j - 1];
            j--;
        }
        cl.c[j] = c;
    }
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
