/* bbsim intervene: risks before and after interventions inside the forward pass of a
 * trained model (docs/method.md#interventions): remove a head, an MLP or a layer, zero
 * the BOS value or residual, force the attention pattern. Several named sets in one call
 * (--set NAME starts a new one); each is compared with the full model on the same batch. */
#include <stdlib.h>
#include <string.h>
#include "bbsim/analysis.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"

#define MAX_SETS 32
#define MAX_FLAGS 256

/* One intervention flag as given: which set it belongs to. */
typedef struct {
    int set;
    InterventionKind kind;
    const char *value;
} IvFlag;

/* Everything the command line says: the flags of the Opt table, and the sets with their
 * interventions in order (filled by the OPT_EACH receivers below). */
typedef struct {
    char ckpt[64];
    int eval_batch;
    char tokens[BB_STRLEN];
    char out[BB_STRLEN];
    int threads, quiet;
    int eval_bos, eval_packing; /* -1 = the run's */
    AnalysisConfig ac;
    InterventionSet sets[MAX_SETS];
    int nsets;
    IvFlag flags[MAX_FLAGS];
    int nflags;
} IntervArgs;

#define NOPTS (9 + 1 + ANALYSIS_NINTERVENTIONS)

/* Set names: letters, digits and "-_.:,+" only (they go into a TSV column). */
static int valid_name(const char *s) {
    if (!*s || strlen(s) >= 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-_.:,+", *s)))
            return 0;
    return 1;
}

/* --set NAME: a new set, unless the current one is still empty and unnamed. */
static int on_set(void *ctx, const Opt *o, const char *value, BbError *err) {
    (void)o;
    IntervArgs *a = ctx;
    if (!valid_name(value) || !strcmp(value, "full"))
        return bb_fail(err, BB_EINPUT,
                       "--set '%s': a name of letters, digits and -_.:,+ (under 64 characters), not 'full'", value);
    InterventionSet *cur = &a->sets[a->nsets - 1];
    if (cur->nflags || cur->name[0]) {
        if (a->nsets == MAX_SETS) return bb_fail(err, BB_EINPUT, "more than %d intervention sets", MAX_SETS);
        cur = &a->sets[a->nsets++];
    }
    snprintf(cur->name, sizeof cur->name, "%s", value);
    return BB_OK;
}

/* --no-attn L.H etc.: the intervention goes to the current set (checked once the model
 * is loaded). */
static int on_intervention(void *ctx, const Opt *o, const char *value, BbError *err) {
    IntervArgs *a = ctx;
    if (a->nflags == MAX_FLAGS) return bb_fail(err, BB_EINPUT, "more than %d intervention flags", MAX_FLAGS);
    a->flags[a->nflags++] = (IvFlag){a->nsets - 1, (InterventionKind)analysis_intervention_find(o->name), value};
    a->sets[a->nsets - 1].nflags++;
    return BB_OK;
}

/* The flag table: the interventions (from analysis.h's one list), --set, the options. */
static int interv_opts(IntervArgs *a, Opt *t, OptEach *each) {
    int k = 0;
    for (int i = 0; i < ANALYSIS_NINTERVENTIONS; i++) {
        const InterventionInfo *info = &analysis_interventions[i];
        each[i] = (OptEach){on_intervention, a, info->per_head ? "L.H" : "L"};
        t[k++] = (Opt){info->flag, OPT_EACH, &each[i], 0, 0, NULL, info->help};
    }
    each[ANALYSIS_NINTERVENTIONS] = (OptEach){on_set, a, "NAME"};
    t[k++] = (Opt){"set", OPT_EACH, &each[ANALYSIS_NINTERVENTIONS], 0, 0, NULL,
                   "start a new intervention set called NAME (default: named by its flags)"};
    t[k++] = (Opt){"ckpt", OPT_STR, a->ckpt, 0, 0, NULL, "checkpoint: a step or 'last'"};
    t[k++] = (Opt){"eval-batch", OPT_INT, &a->eval_batch, 0, 1 << 20, NULL,
                   "sequences of the fixed evaluation batch (0 = the run's --eval-batch)"};
    t[k++] = (Opt){"eval-bos", OPT_INT, &a->eval_bos, -1, 2, NULL,
                   "evaluate on sequences with this many leading BOS tokens (-1 = as trained; 0 = BOS removed)"};
    t[k++] = (Opt){"eval-packing", OPT_INT, &a->eval_packing, -1, 1, NULL,
                   "evaluate on packed windows (1) or plain sequences (0) (-1 = as trained)"};
    t[k++] = (Opt){"tokens", OPT_STR, a->tokens, 0, 0, NULL, "token ids of an extra domain, e.g. 3,7 (\"\" = none)"};
    t[k++] = (Opt){"out", OPT_PATH, a->out, 0, 0, NULL, "output directory [default: RUN_DIR/intervene; with --ckpt N, RUN_DIR/intervene_stepN]"};
    t[k++] = (Opt){"chunk", OPT_INT, &a->ac.chunk, 1, 4096, NULL, "sequences per forward call (one per thread)"};
    t[k++] = (Opt){"threads", OPT_INT, &a->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &a->quiet, 0, 1, NULL, "no table on stdout"};
    BB_CHECK(k <= NOPTS);
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("intervene", rc, err); }

static void usage(const Opt *table, int nopt) {
    printf("usage: bbsim intervene RUN_DIR INTERVENTION... [--set NAME INTERVENTION...]... [flags]\n\n"
           "Risks per domain (all, trigger = backcopy, nontrigger = bigram, --tokens) of the full model and\n"
           "with interventions applied inside the forward pass; interventions.tsv and, with every metric\n"
           "of bbsim analyze under each intervention, intervention_metrics.tsv.\n"
           "Interventions are repeatable, comma lists allowed; L.H = layer L head H, L alone = all heads.\n"
           "--eval-bos/--eval-packing change the evaluation sequences (every row, 'full' included, and the\n"
           "oracle follow the new task); with them no intervention is needed: bbsim intervene RUN --eval-bos 0\n"
           "gives the risks of the model on sequences without BOS.\n\n");
    opts_help(stdout, table, nopt);
}

/* The command line into a (sets and options) and the run directory; BB_EINPUT with a
 * message on anything wrong, 1 (with the usage printed) for --help. */
static int interv_parse(IntervArgs *a, int argc, char **argv, const char **dir, long *step, BbError *err) {
    Opt table[NOPTS];
    OptEach each[ANALYSIS_NINTERVENTIONS + 1];
    const int nopt = interv_opts(a, table, each);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(table, nopt);
            return 1;
        }
    char *pos[2];
    int npos;
    int rc = opts_parse(table, nopt, argc, argv, pos, 2, &npos, err);
    if (rc) return rc;
    if (npos != 1)
        return bb_fail(err, BB_EINPUT,
                       "expected one run directory (usage: bbsim intervene RUN_DIR --no-attn L.H ..., see --help)");
    *dir = pos[0];
    const int eval_only = a->nsets == 1 && !a->sets[0].nflags && !a->sets[0].name[0] &&
                          (a->eval_bos >= 0 || a->eval_packing >= 0);
    if (eval_only) a->nsets = 0; /* only the full model, on the changed sequences */
    for (int s = 0; s < a->nsets; s++) {
        const InterventionSet *set = &a->sets[s];
        if (!set->nflags)
            return bb_fail(err, BB_EINPUT, "%s%s%s: no intervention given (e.g. --no-attn 0.0, --no-mlp 0; see --help)",
                           set->name[0] ? "set '" : "", set->name[0] ? set->name : "nothing to do",
                           set->name[0] ? "'" : "");
        for (int t = 0; t < s; t++)
            if (set->name[0] && !strcmp(set->name, a->sets[t].name))
                return bb_fail(err, BB_EINPUT, "--set '%s' given twice", set->name);
    }
    return run_ckpt_arg(a->ckpt, step, "a step or 'last'", err);
}

/* Each set's interventions checked against the model; spec and (default) name filled. */
static int sets_build(IntervArgs *a, const Run *run, BbError *err) {
    for (int f = 0; f < a->nflags; f++) {
        const IvFlag *fl = &a->flags[f];
        InterventionSet *s = &a->sets[fl->set];
        s->iv.is_trigger = run->task.is_trigger;
        int rc = analysis_intervention_add(&s->iv, &run->model, fl->kind, fl->value, err);
        if (rc) return rc;
        size_t k = strlen(s->spec);
        snprintf(s->spec + k, sizeof s->spec - k, "%s--%s %s", k ? " " : "", analysis_interventions[fl->kind].flag,
                 fl->value);
    }
    for (int s = 0; s < a->nsets; s++) { /* unnamed sets are named by their flags: "no-attn:0.0+no-mlp:0" */
        InterventionSet *set = &a->sets[s];
        if (set->name[0]) continue;
        for (int f = 0; f < a->nflags; f++) {
            const IvFlag *fl = &a->flags[f];
            if (fl->set != s) continue;
            size_t k = strlen(set->name);
            snprintf(set->name + k, sizeof set->name - k, "%s%s:%s", k ? "+" : "", analysis_interventions[fl->kind].flag,
                     fl->value);
        }
    }
    return BB_OK;
}

static void print_table(const IntervArgs *a, const char *dir, const Run *run, int B, int T, const char *outdir,
                        const Analysis *res, int ndom) {
    bb_say(stdout, "bbsim intervene: %s, step %ld, %d sequences x %d positions -> %s\n", dir, run->step, B, T, outdir);
    if (run_eval_overridden(run))
        printf("evaluated on sequences with bos %d packing %d (trained with bos %d packing %d)\n", run->task.cfg.bos,
               run->task.cfg.packing, run->cfg.task.bos, run->cfg.task.packing);
    putchar('\n');
    printf("%-28s %-10s %9s %9s %9s %9s %9s\n", "intervention", "domain", "risk_full", "risk", "delta", "exc_full",
           "excess");
    const Risks *f = &res[0].risks;
    for (int s = 0; s <= a->nsets; s++) {
        const Risks *r = &res[s].risks;
        for (int d = 0; d < ndom; d++)
            printf("%-28s %-10s %9.4f %9.4f %+9.4f %9.4f %9.4f\n", d ? "" : analysis_set_name(a->sets, s), metrics_domain_names[d],
                   f->risk[d], r->risk[d], r->risk[d] - f->risk[d], f->excess[d], r->excess[d]);
    }
}

int cmd_intervene(int argc, char **argv) {
    IntervArgs *a = bb_calloc(1, sizeof *a);
    snprintf(a->ckpt, sizeof a->ckpt, "last");
    analysis_config_default(&a->ac);
    a->nsets = 1;
    a->eval_bos = a->eval_packing = -1;
    BbError err = {{0}};
    const char *dir = NULL;
    long step = -1;
    int rc = interv_parse(a, argc, argv, &dir, &step, &err);
    if (rc) {
        free(a);
        return rc == 1 ? 0 : fail(rc, &err);
    }
    if (a->threads > 0) bb_threads_apply(a->threads);
    blas_set_threads(1);

    Run run;
    if ((rc = run_load(&run, dir, step, &err))) {
        free(a);
        return fail(rc, &err);
    }
    const int B = a->eval_batch > 0 ? a->eval_batch : run.cfg.task.eval_batch;
    unsigned char *tokens = NULL;
    char outdir[BB_STRLEN + 16];
    int made = 0;
    if (a->out[0]) snprintf(outdir, sizeof outdir, "%s", a->out);
    else if (step >= 0) snprintf(outdir, sizeof outdir, "%s/intervene_step%ld", dir, step); /* as analyze */
    else snprintf(outdir, sizeof outdir, "%s/intervene", dir);
    if ((rc = run_eval_task(&run, a->eval_bos, a->eval_packing, &err)) || (rc = sets_build(a, &run, &err)) ||
        (rc = analysis_token_set(a->tokens, run.task.V, &tokens, &err)) ||
        (rc = bb_mkdirs_made(outdir, &made, &err))) {
        free(tokens);
        run_free(&run);
        free(a);
        return fail(rc, &err);
    }

    EvalBatch eb;
    analysis_batch(&eb, &run.task, B, tokens);
    const int threads = bb_threads(), ndom = tokens ? DOM_N : DOM_N - 1;
    Analysis *res = bb_calloc((size_t)a->nsets + 1, sizeof *res); /* [0] = full model */
    for (int s = 0; s <= a->nsets; s++)
        analysis_collect(&res[s], &run.model, &run.task, &eb, s ? &a->sets[s - 1].iv : NULL, &a->ac, ANALYSIS_ALL,
                         threads);
    rc = analysis_check_risk(&res[0], run.path, run.step, &err);
    if (!rc) rc = analysis_write_interventions(outdir, &run, B, &a->ac, a->sets, a->nsets, res, ndom, &err);
    if (!rc)
        rc = analysis_write_intervention_metrics(outdir, &run, B, &a->ac, a->sets, a->nsets, res, tokens != NULL,
                                                 &err);
    if (!rc && !a->quiet) print_table(a, dir, &run, B, eb.T, outdir, res, ndom);
    if (rc) bb_rmdir_made(outdir, made); /* nothing written: no empty folder left */

    for (int s = 0; s <= a->nsets; s++) analysis_free(&res[s]);
    free(res);
    analysis_batch_free(&eb);
    free(tokens);
    run_free(&run);
    free(a);
    return rc ? fail(rc, &err) : 0;
}
