/* bbsim task: describe the task a configuration defines: vocabulary, triggers, the
 * Bayes floor (exact, or Monte-Carlo for induction and packing) and, with --sample N,
 * N decoded sequences of the evaluation batch with the triggers in brackets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/cli.h"
#include "bbsim/common.h"
#include "bbsim/task.h"
#include "bbsim/tsv.h"

static int fail(const BbError *err, int rc) { return bb_report("task", rc, err); }

/* Character tables (every ordinary label the escape of one byte: "a", "\n", "\s",
 * "\x23") print as running text, spaces as spaces; other tables as space-separated labels. */
static int char_like(const Task *t) {
    for (int a = 0; a < t->vbase; a++) {
        unsigned char bytes[16]; /* a label has at most 15 characters */
        size_t n;
        if (tsv_unescape(bytes, sizeof bytes, task_label(t, a), &n) || n != 1) return 0;
    }
    return 1;
}

static void print_token(const Task *t, int id, int chars, int first) {
    const char *l = task_label(t, id);
    if (chars && !strcmp(l, "\\s")) l = " ";
    const char *sep = chars || first ? "" : " ";
    if (id < t->vbase && t->is_trigger[id] && t->cfg.kind != TASK_MARKOV) printf("%s[%s]", sep, l);
    else printf("%s%s", sep, l);
}

static void print_summary(const Task *t, const BayesFloor *fl) {
    const TaskConfig *c = &t->cfg;
    printf("task        %s, N = %d positions, %d BOS%s\n", task_kind_names[c->kind], c->seq, c->bos,
           c->packing ? ", packed windows" : "");
    if (c->kind == TASK_BB_MIX) printf("mix-p       %g (probability of the backcopy at a trigger)\n", c->mix_p);
    if (c->corpus[0]) bb_say(stdout, "table       corpus %s\n", c->corpus);
    else if (c->transitions[0]) bb_say(stdout, "table       transitions %s%s%s\n", c->transitions,
                                       c->marginal[0] ? ", marginal " : "", c->marginal);
    else if (c->table == TASK_TABLE_SHAKESPEARE) printf("table       shakespeare: %s\n", t->source);
    else printf("table       synthetic (V_base %d, table seed %llu)\n", c->vbase, (unsigned long long)c->table_seed);
    printf("vocabulary  V = %d: %d ordinary tokens 0..%d, BOS %s = %d, delimiter %s = %d (unused)\n", t->V, t->vbase,
           t->vbase - 1, task_label(t, t->bos_id), t->bos_id, task_label(t, t->delim_id), t->delim_id);
    int escaped = 0;
    for (int a = 0; a < t->vbase; a++) escaped |= strchr(task_label(t, a), '\\') != NULL;
    if (escaped)
        printf("labels      escaped as in every TSV (docs/method.md#token-labels): \\s space, \\\\ backslash, "
               "\\n \\t \\r, \\xHH other bytes (\\x23 #, \\x22 \")\n");
    double mass = 0;
    printf("triggers    %d:", t->ntrig);
    for (int j = 0; j < t->ntrig; j++) {
        printf("%s %d=%s", j ? "," : "", t->trig[j], task_label(t, t->trig[j]));
        mass += t->pi[t->trig[j]];
    }
    printf("%s\n", c->triggers[0] ? " (from --triggers)" : " (most frequent by pi)");
    printf("pi(T)       %.4f (unigram mass of the triggers)\n", mass);
    if (fl->exact) printf("Bayes floor (exact)\n");
    else
        printf("Bayes floor (Monte-Carlo estimate over %ld sequences, standard error %.1e)\n", fl->mc_sequences,
               fl->mc_stderr);
    printf("  overall              %.6f nats/position\n", fl->floor);
    printf("  non-trigger          %.6f nats/position\n", fl->floor_nontrigger);
    printf("  trigger              %.6f nats/position\n", fl->floor_trigger);
    printf("  trigger positions    %.4f of all positions\n", fl->frac_trigger);
}

/* --seed N (an OPT_EACH, so --help shows no default of its own): checked as a seed. */
static int take_seed(void *ctx, const Opt *o, const char *value, BbError *err) {
    (void)o;
    const Opt seed = {"seed", OPT_U64, ctx, 0, 0, NULL, ""};
    return opts_set(&seed, 1, "seed", value, err);
}

int cmd_task(int argc, char **argv) {
    TaskConfig cfg;
    task_config_default(&cfg);
    int nsample = 0, threads = 0;
    char write_table[BB_STRLEN] = "";
    uint64_t seed = 0;
    OptEach seed_each = {take_seed, &seed, "N"};
    Opt opts[TASK_NOPTS + 4];
    int nopts = task_opts(&cfg, opts);
    opts[nopts++] = (Opt){"sample", OPT_INT, &nsample, 0, 1 << 20, NULL,
                          "print N sequences of the evaluation batch, triggers in [brackets]"};
    opts[nopts++] = (Opt){"seed", OPT_EACH, &seed_each, 0, 0, NULL,
                          "sets --table-seed, --data-seed and --eval-seed to N (as bbsim train --seed N); each of "
                          "them given itself wins, wherever it stands"};
    opts[nopts++] = (Opt){"threads", OPT_INT, &threads, 0, 1024, NULL,
                          "threads of the sampling and of the Monte-Carlo floor (induction, packing; 0 = OpenMP default)"};
    opts[nopts++] = (Opt){"write-table", OPT_PATH, write_table, 0, 0, NULL,
                          "with --corpus: write the text's counts as a table file (docs/method.md#table-files) and "
                          "exit (scripts/make-table.sh makes src/tasks/data/shakespeare.tsv so)"};
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bbsim task [flags]\n\nDescribe the task: vocabulary, triggers, Bayes floor, samples.\n\n"
                   "flags:\n");
            opts_help(stdout, opts, nopts);
            return 0;
        }
    BbError err = {{0}};
    int npos, rc;
    if ((rc = opts_parse(opts, nopts, argc, argv, NULL, 0, &npos, &err))) return fail(&err, rc);
    if (opts_given(opts, nopts, argc, argv, "seed")) {
        static const char *const seeds[] = {"table-seed", "data-seed", "eval-seed"};
        char value[32];
        snprintf(value, sizeof value, "%llu", (unsigned long long)seed);
        for (int k = 0; k < 3; k++)
            if (!opts_given(opts, nopts, argc, argv, seeds[k])) BB_CHECK(opts_set(opts, nopts, seeds[k], value, &err) == 0);
    }
    if ((rc = task_check_flags(&cfg, opts, nopts, argc, argv, &err))) return fail(&err, rc);
    if (write_table[0]) {
        if (!cfg.corpus[0]) return fail(&err, bb_fail(&err, BB_EINPUT, "--write-table needs --corpus FILE (the text to count)"));
        if ((rc = task_write_table(cfg.corpus, write_table, &err))) return fail(&err, rc);
        return 0;
    }
    if (threads > 0) bb_threads_apply(threads);
    Task t;
    if ((rc = task_build(&t, &cfg, &err))) return fail(&err, rc);
    BayesFloor fl;
    if ((rc = task_bayes_floor(&t, &fl, &err))) {
        task_free(&t);
        return fail(&err, rc);
    }
    print_summary(&t, &fl);
    if (nsample > 0) {
        const int N = cfg.seq;
        int *in = malloc((size_t)nsample * N * sizeof(int)), *tg = malloc((size_t)nsample * N * sizeof(int));
        if (!in || !tg) {
            free(in);
            free(tg);
            task_free(&t);
            return fail(&err, bb_fail(&err, BB_ENOMEM, "out of memory for --sample %d", nsample));
        }
        task_eval_batch(&t, nsample, in, tg);
        const int chars = char_like(&t);
        printf("samples (evaluation batch, eval seed %llu; [x] = trigger)\n", (unsigned long long)cfg.eval_seed);
        for (int b = 0; b < nsample; b++) {
            printf("%d: ", b);
            for (int i = 0; i < N; i++) print_token(&t, in[(size_t)b * N + i], chars, i == 0);
            print_token(&t, tg[(size_t)b * N + N - 1], chars, 0);
            printf("\n");
        }
        free(in);
        free(tg);
    }
    task_free(&t);
    return 0;
}
