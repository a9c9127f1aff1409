/* The task's configuration, flags and lifetime: task_opts (one table for parsing, --help
 * and config files), task_build (table source -> triggers -> pi' -> Walker samplers)
 * and task_free. Sampling and the oracle are in sample.c, the Bayes floor in floor.c. */
#include "task_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const task_kind_names[] = {"bb", "markov", "dormant-markov", "bb-mix", "induction", NULL};
const char *const task_table_names[] = {"shakespeare", "synthetic", NULL};

void task_config_default(TaskConfig *c) {
    memset(c, 0, sizeof *c);
    c->kind = TASK_BB;
    c->table = TASK_TABLE_SHAKESPEARE;
    c->vbase = 64;
    c->table_seed = 1;
    c->k = 3;
    c->mix_p = 0.5;
    c->bos = 1;
    c->packing = 0;
    c->seq = 256;
    c->data_seed = 42;
    c->eval_seed = 4242;
    c->eval_batch = 512;
}

int task_opts(TaskConfig *c, Opt *o) {
    int k = 0;
    o[k++] = (Opt){"task", OPT_CHOICE, &c->kind, 0, 0, task_kind_names, "task variant"};
    o[k++] = (Opt){"table", OPT_CHOICE, &c->table, 0, 0, task_table_names,
                   "built-in table: shakespeare (the paper's tiny-Shakespeare characters, V 67) or synthetic "
                   "(a seeded Zipf-like chain)"};
    o[k++] = (Opt){"vocab", OPT_INT, &c->vbase, 2, TASK_MAX_VBASE, NULL,
                   "--table synthetic: number of ordinary tokens V_base"};
    o[k++] = (Opt){"table-seed", OPT_U64, &c->table_seed, 0, 0, NULL, "--table synthetic: seed"};
    o[k++] = (Opt){"corpus", OPT_PATH, c->corpus, 0, 0, NULL,
                   "tables from a text file (tokens = its distinct bytes)"};
    o[k++] = (Opt){"transitions", OPT_PATH, c->transitions, 0, 0, NULL,
                   "tables from a V_base x V_base matrix file (counts or probabilities, '#' comments)"};
    o[k++] = (Opt){"marginal", OPT_PATH, c->marginal, 0, 0, NULL,
                   "with --transitions: unigram marginal file (V_base numbers)"};
    o[k++] = (Opt){"labels", OPT_PATH, c->labels, 0, 0, NULL,
                   "with --transitions: token labels, one per line"};
    o[k++] = (Opt){"k", OPT_INT, &c->k, 0, BB_MAXLIST, NULL, "number of triggers (most frequent tokens by pi)"};
    o[k++] = (Opt){"triggers", OPT_STR, c->triggers, 0, 0, NULL,
                   "trigger token ids a,b,c (overrides --k)"};
    o[k++] = (Opt){"mix-p", OPT_DOUBLE, &c->mix_p, 0, 1, NULL, "bb-mix: probability of the backcopy at a trigger"};
    o[k++] = (Opt){"bos", OPT_INT, &c->bos, 0, 2, NULL, "number of leading BOS tokens (0, 1 or 2)"};
    o[k++] = (Opt){"packing", OPT_FLAG, &c->packing, 0, 1, NULL,
                   "windows cut at a random offset from a stream of sequences (BOS anywhere)"};
    o[k++] = (Opt){"seq", OPT_INT, &c->seq, 1, 1 << 16, NULL, "sequence length N (positions per sequence)"};
    o[k++] = (Opt){"data-seed", OPT_U64, &c->data_seed, 0, 0, NULL, "training data seed"};
    o[k++] = (Opt){"eval-seed", OPT_U64, &c->eval_seed, 0, 0, NULL, "evaluation batch seed"};
    o[k++] = (Opt){"eval-batch", OPT_INT, &c->eval_batch, 1, 1 << 20, NULL, "evaluation batch size (sequences)"};
    BB_CHECK(k <= TASK_NOPTS);
    return k;
}

void task_free(Task *t) {
    if (t->row_sampler)
        for (int a = 0; a < t->vbase; a++)
            if (t->row_sampler[a]) gsl_ran_discrete_free(t->row_sampler[a]);
    free(t->row_sampler);
    if (t->pi_sampler) gsl_ran_discrete_free(t->pi_sampler);
    if (t->pi_nt_sampler) gsl_ran_discrete_free(t->pi_nt_sampler);
    free(t->pi);
    free(t->P);
    free(t->pi_nt);
    free(t->is_trigger);
    free(t->labels);
    memset(t, 0, sizeof *t);
}

const char *task_label(const Task *t, int id) {
    if (!t->labels || id < 0 || id >= t->V) return "?";
    return t->labels[id];
}

const double *task_first_law(const Task *t) {
    return t->cfg.kind == TASK_MARKOV || t->cfg.kind == TASK_INDUCTION ? t->pi : t->pi_nt;
}

double task_entropy(const double *p, int n) {
    double h = 0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0) h -= p[i] * log(p[i]);
    return h;
}

int task_check_flags(const TaskConfig *c, const Opt *opts, int nopts, int argc, char **argv, BbError *err) {
    static const char *const synthetic_only[] = {"vocab", "table-seed"};
    for (int i = 0; i < 2; i++) {
        if (!opts_given(opts, nopts, argc, argv, synthetic_only[i])) continue;
        if (c->corpus[0] || c->transitions[0])
            return bb_fail(err, BB_EINPUT, "--%s applies to --table synthetic only, not to the table of --%s",
                           synthetic_only[i], c->corpus[0] ? "corpus" : "transitions");
        if (c->table != TASK_TABLE_SYNTHETIC)
            return bb_fail(err, BB_EINPUT, "--%s applies to --table synthetic only (the table is %s): add --table synthetic",
                           synthetic_only[i], task_table_names[c->table]);
    }
    return BB_OK;
}

int task_write_table(const char *corpus, const char *out, BbError *err) {
    TaskCounts tc;
    int rc = counts_corpus(&tc, corpus, err);
    if (rc) return rc;
    AtomicFile af;
    if ((rc = afile_open(&af, out, err)) == BB_OK) {
        const char *base = strrchr(corpus, '/');
        counts_write_table(af.f, &tc, base ? base + 1 : corpus);
        rc = afile_commit(&af, err);
    }
    counts_free(&tc);
    return rc;
}

static int check_config(const TaskConfig *c, BbError *err) {
    if (c->kind < 0 || c->kind > TASK_INDUCTION) return bb_fail(err, BB_EINPUT, "--task: unknown task %d", c->kind);
    if (c->table < 0 || c->table > TASK_TABLE_SYNTHETIC) return bb_fail(err, BB_EINPUT, "--table: unknown table %d", c->table);
    if (c->bos < 0 || c->bos > 2) return bb_fail(err, BB_EINPUT, "--bos %d: must be 0, 1 or 2", c->bos);
    if (c->seq < 1) return bb_fail(err, BB_EINPUT, "--seq %d: must be at least 1", c->seq);
    if (c->eval_batch < 1) return bb_fail(err, BB_EINPUT, "--eval-batch %d: must be at least 1", c->eval_batch);
    if (!(c->mix_p >= 0 && c->mix_p <= 1)) return bb_fail(err, BB_EINPUT, "--mix-p %g: must be in [0, 1]", c->mix_p);
    if (c->corpus[0] && c->transitions[0])
        return bb_fail(err, BB_EINPUT, "--corpus and --transitions both given: choose one table source");
    if (!c->transitions[0] && c->marginal[0])
        return bb_fail(err, BB_EINPUT, "--marginal needs --transitions (corpus and built-in tables make their own)");
    if (!c->transitions[0] && c->labels[0])
        return bb_fail(err, BB_EINPUT, "--labels needs --transitions (corpus and built-in tables make their own)");
    if (c->packing && c->bos == 0)
        return bb_fail(err, BB_EINPUT, "--packing needs --bos 1 or 2: BOS marks where each packed sequence starts");
    return BB_OK;
}

static int choose_triggers(Task *t, BbError *err) {
    const TaskConfig *c = &t->cfg;
    const int n = t->vbase;
    if (c->triggers[0]) {
        BbIntList l;
        BbError inner;
        if (parse_intlist(c->triggers, &l, 0, n - 1, &inner))
            return bb_fail(err, BB_EINPUT, "--triggers: %s (token ids of this table are 0..%d)", inner.msg, n - 1);
        for (int i = 0; i < l.n; i++)
            for (int j = 0; j < i; j++)
                if (l.v[i] == l.v[j])
                    return bb_fail(err, BB_EINPUT, "--triggers: token %d is listed twice", l.v[i]);
        if (l.n >= n)
            return bb_fail(err, BB_EINPUT, "--triggers: all %d tokens are triggers; at least one must not be", n);
        t->ntrig = l.n;
        memcpy(t->trig, l.v, (size_t)l.n * sizeof(int));
    } else {
        if (c->k >= n)
            return bb_fail(err, BB_EINPUT, "--k %d leaves no non-trigger token (the table has V_base = %d tokens)",
                           c->k, n);
        /* the k most frequent by pi; ties go to the lower id */
        unsigned char *taken = bb_calloc((size_t)n, 1);
        for (int j = 0; j < c->k; j++) {
            int best = -1;
            for (int a = 0; a < n; a++)
                if (!taken[a] && (best < 0 || t->pi[a] > t->pi[best])) best = a;
            taken[best] = 1;
            t->trig[j] = best;
        }
        free(taken);
        t->ntrig = c->k;
    }
    t->is_trigger = bb_calloc((size_t)t->V, 1);
    for (int j = 0; j < t->ntrig; j++) t->is_trigger[t->trig[j]] = 1;
    /* pi' = pi with the triggers zeroed, renormalised */
    t->pi_nt = bb_malloc((size_t)n * sizeof(double));
    double s = 0;
    for (int a = 0; a < n; a++) s += t->pi_nt[a] = t->is_trigger[a] ? 0.0 : t->pi[a];
    if (!(s > 0))
        return bb_fail(err, BB_EINPUT,
                       "the triggers carry all of pi's mass: pi' (the law of the first token) is undefined");
    for (int a = 0; a < n; a++) t->pi_nt[a] /= s;
    return BB_OK;
}

int task_build(Task *t, const TaskConfig *cfg, BbError *err) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    int rc = check_config(cfg, err);
    if (rc) return rc;
    TaskTable tb;
    memset(&tb, 0, sizeof tb);
    if (cfg->corpus[0]) rc = table_corpus(&tb, cfg->corpus, err);
    else if (cfg->transitions[0]) rc = table_transitions(&tb, cfg->transitions, cfg->marginal, cfg->labels, err);
    else if (cfg->table == TASK_TABLE_SHAKESPEARE) rc = table_shakespeare(&tb, t->source, sizeof t->source, err);
    else rc = table_builtin(&tb, cfg->vbase, cfg->table_seed, err);
    if (rc) {
        table_free(&tb);
        return rc;
    }
    const int n = tb.vbase;
    t->vbase = n;
    t->V = n + 2;
    t->bos_id = n;
    t->delim_id = n + 1;
    t->P = tb.P;
    t->pi = tb.pi;
    t->labels = bb_calloc((size_t)t->V, sizeof *t->labels);
    _Static_assert(sizeof *t->labels == TASK_LABEL_LEN, "label width");
    memcpy(t->labels, tb.labels, (size_t)n * sizeof *t->labels);
    strcpy(t->labels[t->bos_id], "<s>");
    strcpy(t->labels[t->delim_id], "<d>");
    free(tb.labels);
    if ((rc = choose_triggers(t, err))) {
        task_free(t);
        return rc;
    }
    t->row_sampler = bb_calloc((size_t)n, sizeof *t->row_sampler);
    for (int a = 0; a < n; a++) t->row_sampler[a] = gsl_ran_discrete_preproc((size_t)n, t->P + (size_t)a * n);
    t->pi_sampler = gsl_ran_discrete_preproc((size_t)n, t->pi);
    t->pi_nt_sampler = gsl_ran_discrete_preproc((size_t)n, t->pi_nt);
    return BB_OK;
}
