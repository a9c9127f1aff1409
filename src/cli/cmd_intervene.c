/* bbsim intervene: risks before and after interventions inside the forward pass of a
 * trained model (spec/analysis.md): remove a head, an MLP or a layer, zero the BOS value
 * or residual, force the attention pattern. Several named sets in one call (--set NAME
 * starts a new one); each is compared with the full model on the same batch. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/analysis.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"

#define MAX_SETS 32
#define MAX_FLAGS 256

static const char *const iv_flags[] = {"no-attn", "no-mlp", "no-layer", "zero-bos-value", "zero-bos-residual",
                                       "oracle-attn", "all-bos", NULL};

typedef struct {
    char name[64];
    char spec[1024];
    Intervention iv;
    int nflags;
} IvSet;

typedef struct {
    int set;
    const char *flag, *value;
} IvFlag;

typedef struct {
    char ckpt[64];
    int eval_batch;
    char tokens[BB_STRLEN];
    char out[BB_STRLEN];
    int threads, quiet;
    AnalysisConfig ac;
} IntervOpts;

static int interv_opts(IntervOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint: a step or 'last'"};
    t[k++] = (Opt){"eval-batch", OPT_INT, &o->eval_batch, 0, 1 << 20, NULL,
                   "sequences of the fixed evaluation batch (0 = the run's --eval-batch)"};
    t[k++] = (Opt){"tokens", OPT_STR, o->tokens, 0, 0, NULL, "token ids of an extra domain, e.g. 3,7 (\"\" = none)"};
    t[k++] = (Opt){"out", OPT_STR, o->out, 0, 0, NULL, "output directory (\"\" = RUN_DIR/intervene)"};
    t[k++] = (Opt){"chunk", OPT_INT, &o->ac.chunk, 1, 4096, NULL, "sequences per forward call (one per thread)"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no table on stdout"};
    return k;
}

static int fail(int rc, const BbError *err) {
    fprintf(stderr, "bbsim intervene: %s\n", err->msg);
    return rc;
}

static void usage(const Opt *table, int nopt) {
    printf("usage: bbsim intervene RUN_DIR INTERVENTION... [--set NAME INTERVENTION...]... [flags]\n\n"
           "Risks per domain (all, trigger = backcopy, nontrigger = bigram, --tokens) of the full model and\n"
           "with interventions applied inside the forward pass; interventions.tsv and, with every metric\n"
           "of bbsim analyze under each intervention, intervention_metrics.tsv.\n\n"
           "interventions (repeatable, comma lists allowed; L.H = layer L head H, L alone = all heads):\n"
           "  --no-attn L.H            zero the head's attention output\n"
           "  --no-mlp L               drop the layer's MLP output\n"
           "  --no-layer L             both: the whole layer\n"
           "  --zero-bos-value L.H     v_0 := 0 for the head\n"
           "  --zero-bos-residual L    h_0 := 0 after layer L\n"
           "  --oracle-attn L.H        trigger rows one-hot on i-1, the others on key 0\n"
           "  --all-bos L.H            every row one-hot on key 0\n"
           "  --set NAME               start a new intervention set called NAME (default: named by its flags)\n\n"
           "flags:\n");
    opts_help(stdout, table, nopt);
}

static int is_iv_flag(const char *name) {
    for (int k = 0; iv_flags[k]; k++)
        if (!strcmp(name, iv_flags[k])) return 1;
    return 0;
}

/* Set names: letters, digits and "-_.:,+" only (they go into a TSV column). */
static int valid_name(const char *s) {
    if (!*s || strlen(s) >= 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-_.:,+", *s)))
            return 0;
    return 1;
}

int cmd_intervene(int argc, char **argv) {
    IntervOpts o;
    memset(&o, 0, sizeof o);
    snprintf(o.ckpt, sizeof o.ckpt, "last");
    analysis_config_default(&o.ac);
    Opt table[8];
    const int nopt = interv_opts(&o, table);
    BbError err = {{0}};

    /* split argv: intervention flags and --set go to the sets, the rest to the Opt table */
    IvSet sets[MAX_SETS];
    IvFlag flags[MAX_FLAGS];
    int nsets = 1, nflags = 0, nrest = 0;
    memset(sets, 0, sizeof sets);
    char **rest = bb_calloc((size_t)argc + 1, sizeof *rest);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(table, nopt);
            free(rest);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) {
            rest[nrest++] = argv[i];
            continue;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), a + 2);
        if (strcmp(name, "set") != 0 && !is_iv_flag(name)) {
            rest[nrest++] = argv[i];
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            free(rest);
            bb_fail(&err, BB_EINPUT, "--%s needs a value", name);
            return fail(BB_EINPUT, &err);
        }
        if (!strcmp(name, "set")) {
            if (!valid_name(value) || !strcmp(value, "full")) {
                free(rest);
                bb_fail(&err, BB_EINPUT,
                        "--set '%s': a name of letters, digits and -_.:,+ (under 64 characters), not 'full'", value);
                return fail(BB_EINPUT, &err);
            }
            if (sets[nsets - 1].nflags || sets[nsets - 1].name[0]) {
                if (nsets == MAX_SETS) {
                    free(rest);
                    bb_fail(&err, BB_EINPUT, "more than %d intervention sets", MAX_SETS);
                    return fail(BB_EINPUT, &err);
                }
                nsets++;
            }
            snprintf(sets[nsets - 1].name, sizeof sets[nsets - 1].name, "%s", value);
            continue;
        }
        if (nflags == MAX_FLAGS) {
            free(rest);
            bb_fail(&err, BB_EINPUT, "more than %d intervention flags", MAX_FLAGS);
            return fail(BB_EINPUT, &err);
        }
        flags[nflags++] = (IvFlag){nsets - 1, iv_flags[0], value};
        for (int k = 0; iv_flags[k]; k++)
            if (!strcmp(name, iv_flags[k])) flags[nflags - 1].flag = iv_flags[k];
        sets[nsets - 1].nflags++;
    }
    char *pos[2];
    int npos;
    int rc = opts_parse(table, nopt, nrest, rest, pos, 2, &npos, &err);
    free(rest);
    if (rc) return fail(rc, &err);
    if (npos != 1) {
        bb_fail(&err, BB_EINPUT,
                "expected one run directory (usage: bbsim intervene RUN_DIR --no-attn L.H ..., see --help)");
        return fail(BB_EINPUT, &err);
    }
    for (int s = 0; s < nsets; s++)
        if (!sets[s].nflags) {
            bb_fail(&err, BB_EINPUT, "%s%s%s: no intervention given (e.g. --no-attn 0.0, --no-mlp 0; see --help)",
                    sets[s].name[0] ? "set '" : "", sets[s].name[0] ? sets[s].name : "nothing to do",
                    sets[s].name[0] ? "'" : "");
            return fail(BB_EINPUT, &err);
        }
    for (int s = 0; s < nsets; s++)
        for (int t = 0; t < s; t++)
            if (sets[s].name[0] && !strcmp(sets[s].name, sets[t].name)) {
                bb_fail(&err, BB_EINPUT, "--set '%s' given twice", sets[s].name);
                return fail(BB_EINPUT, &err);
            }
    long step = -1;
    if (strcmp(o.ckpt, "last") != 0) {
        char *end;
        step = strtol(o.ckpt, &end, 10);
        if (end == o.ckpt || *end || step < 0) {
            bb_fail(&err, BB_EINPUT, "--ckpt '%s': expected a step or 'last'", o.ckpt);
            return fail(BB_EINPUT, &err);
        }
    }
    const char *dir = pos[0];
    if (o.threads > 0) omp_set_num_threads(o.threads);
    blas_set_threads(1);

    Run run;
    if ((rc = run_load(&run, dir, step, &err))) return fail(rc, &err);
    const int V = run.task.V, B = o.eval_batch > 0 ? o.eval_batch : run.cfg.task.eval_batch;
    /* build and check each set against this model */
    for (int f = 0; f < nflags; f++) {
        IvSet *s = &sets[flags[f].set];
        s->iv.is_trigger = run.task.is_trigger;
        if ((rc = analysis_intervention_add(&s->iv, &run.model, flags[f].flag, flags[f].value, &err))) {
            run_free(&run);
            return fail(rc, &err);
        }
        size_t k = strlen(s->spec);
        snprintf(s->spec + k, sizeof s->spec - k, "%s--%s %s", k ? " " : "", flags[f].flag, flags[f].value);
    }
    for (int s = 0; s < nsets; s++) {
        if (sets[s].name[0]) continue;
        /* named by its flags: "no-attn:0.0+no-mlp:0" */
        char *nm = sets[s].name;
        for (int f = 0; f < nflags; f++) {
            if (flags[f].set != s) continue;
            size_t k = strlen(nm);
            snprintf(nm + k, sizeof sets[s].name - k, "%s%s:%s", k ? "+" : "", flags[f].flag, flags[f].value);
        }
    }
    unsigned char *set = NULL;
    if (o.tokens[0]) {
        BbIntList l;
        if ((rc = parse_intlist(o.tokens, &l, 0, V - 1, &err))) {
            run_free(&run);
            char inner[sizeof err.msg];
            snprintf(inner, sizeof inner, "%s", err.msg);
            bb_fail(&err, rc, "--tokens: %s (token ids of this run)", inner);
            return fail(rc, &err);
        }
        set = bb_calloc((size_t)V, 1);
        for (int i = 0; i < l.n; i++) set[l.v[i]] = 1;
    }
    char outdir[BB_STRLEN + 16];
    if (o.out[0]) snprintf(outdir, sizeof outdir, "%s", o.out);
    else snprintf(outdir, sizeof outdir, "%s/intervene", dir);
    if ((rc = bb_mkdirs(outdir, &err))) {
        free(set);
        run_free(&run);
        return fail(rc, &err);
    }

    EvalBatch eb;
    analysis_batch(&eb, &run.task, B, set);
    const int threads = bb_threads();
    Analysis *res = bb_calloc((size_t)nsets + 1, sizeof *res); /* [0] = full model */
    analysis_collect(&res[0], &run.model, &run.task, &eb, NULL, &o.ac, ANALYSIS_ALL, threads);
    for (int s = 0; s < nsets; s++)
        analysis_collect(&res[s + 1], &run.model, &run.task, &eb, &sets[s].iv, &o.ac, ANALYSIS_ALL, threads);

    /* interventions.tsv */
    char path[BB_STRLEN + 64];
    AtomicFile af;
    snprintf(path, sizeof path, "%s/interventions.tsv", outdir);
    const int ndom = set ? DOM_N : DOM_N - 1;
    if ((rc = afile_open(&af, path, &err))) goto out;
    analysis_header(af.f, &run, run.step, B, &o.ac);
    fputs("# risk = mean CE(p*, model) over the domain (trigger = backcopy, nontrigger = bigram positions);\n"
          "# *_full: the model without intervention on the same batch; delta_risk = risk - risk_full\n",
          af.f);
    fputs("intervention\tdomain\tpositions\toracle_risk\trisk_full\trisk\tdelta_risk\texcess_full\texcess\tspec\n",
          af.f);
    for (int s = 0; s <= nsets; s++) {
        const Risks *r = &res[s].risks, *f = &res[0].risks;
        for (int d = 0; d < ndom; d++) {
            fprintf(af.f, "%s\t%s\t%ld\t", s ? sets[s - 1].name : "full", metrics_domain_names[d], r->n[d]);
            bb_put_num(af.f, f->oracle[d]);
            fputc('\t', af.f);
            bb_put_num(af.f, f->risk[d]);
            fputc('\t', af.f);
            bb_put_num(af.f, r->risk[d]);
            fputc('\t', af.f);
            bb_put_num(af.f, r->risk[d] - f->risk[d]);
            fputc('\t', af.f);
            bb_put_num(af.f, f->excess[d]);
            fputc('\t', af.f);
            bb_put_num(af.f, r->excess[d]);
            fprintf(af.f, "\t%s\n", s ? sets[s - 1].spec : "-");
        }
    }
    if ((rc = afile_commit(&af, &err))) goto out;

    /* intervention_metrics.tsv: every metric of bbsim analyze under each intervention */
    snprintf(path, sizeof path, "%s/intervention_metrics.tsv", outdir);
    if ((rc = afile_open(&af, path, &err))) goto out;
    analysis_header(af.f, &run, run.step, B, &o.ac);
    fputs("# metrics as in bbsim analyze's metrics.tsv, measured with each intervention applied\n", af.f);
    fputs("intervention\tlayer\thead\tmetric\tvalue\n", af.f);
    {
        const int cap = 32 + BB_MAXL * (4 + BB_MAXH * 24);
        MetricEntry *e = bb_malloc((size_t)cap * sizeof *e);
        for (int s = 0; s <= nsets; s++) {
            int n = analysis_metric_entries(&res[s], &run.model, set != NULL, e, cap);
            BB_CHECK(n <= cap);
            for (int k = 0; k < n; k++) {
                fprintf(af.f, "%s\t%d\t%d\t%s\t", s ? sets[s - 1].name : "full", e[k].layer, e[k].head, e[k].name);
                bb_put_num(af.f, e[k].value);
                fputc('\n', af.f);
            }
        }
        free(e);
    }
    if ((rc = afile_commit(&af, &err))) goto out;

    if (!o.quiet) {
        printf("bbsim intervene: %s, step %ld, %d sequences x %d positions -> %s\n\n", dir, run.step, B, eb.T, outdir);
        printf("%-28s %-10s %9s %9s %9s %9s %9s\n", "intervention", "domain", "risk_full", "risk", "delta",
               "exc_full", "excess");
        for (int s = 0; s <= nsets; s++) {
            const Risks *r = &res[s].risks, *f = &res[0].risks;
            for (int d = 0; d < ndom; d++)
                printf("%-28s %-10s %9.4f %9.4f %+9.4f %9.4f %9.4f\n", d ? "" : s ? sets[s - 1].name : "full",
                       metrics_domain_names[d], f->risk[d], r->risk[d], r->risk[d] - f->risk[d], f->excess[d],
                       r->excess[d]);
        }
    }
out:
    for (int s = 0; s <= nsets; s++) analysis_free(&res[s]);
    free(res);
    analysis_batch_free(&eb);
    free(set);
    run_free(&run);
    return rc ? fail(rc, &err) : 0;
}
