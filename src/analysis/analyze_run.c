/* analyze_run, the work of `bbsim analyze` (and of `bbsim figures`' analyses) on one run
 * directory: one checkpoint's metrics, head table and figure data, or every checkpoint's
 * dynamics.tsv, each set written into a fresh folder swapped in whole
 * (docs/format.md#analysis-folders). The numbers come from src/analysis/analysis.c. */
#include <stdlib.h>
#include <string.h>
#include "bbsim/analysis.h"
#include "bbsim/parallel.h"

void analyze_request_default(AnalyzeRequest *r) {
    memset(r, 0, sizeof *r);
    r->step = -1;
    analysis_config_default(&r->ac);
}

/* The files of one checkpoint's analysis (analyze_one), and of every checkpoint
 * (dynamics.tsv): what the output folder may hold (docs/format.md#analysis-folders). Each
 * mode replaces its own set as a whole and keeps the other's. */
static int checkpoint_file(const char *name) {
    static const char *const fixed[] = {"risks.tsv", "metrics.tsv", "heads.tsv", "dlogit.tsv",
                                        "keys.tsv",  "types.tsv",   "sink.tsv"};
    static const char *const prefix[] = {"attention_", "values_", "norms_"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (!strcmp(name, fixed[i])) return 1;
    const size_t n = strlen(name);
    for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
        if (!strncmp(name, prefix[i], strlen(prefix[i])) && n > 4 && !strcmp(name + n - 4, ".tsv")) return 1;
    return 0;
}
static int dynamics_file(const char *name) { return !strcmp(name, "dynamics.tsv"); }
static int analyze_file(const char *name) { return checkpoint_file(name) || dynamics_file(name); }

/* rc, or BB_EINTR when an interrupt arrived (checked between files) */
static int stop_check(int rc, const char *outdir, BbError *err) {
    if (rc == BB_EINTR || (!rc && bb_interrupted()))
        return bb_fail(err, BB_EINTR, "interrupted; %s left as it was", outdir);
    return rc;
}

int analysis_token_set(const char *ids, int V, unsigned char **set, BbError *err) {
    *set = NULL;
    if (!*ids) return BB_OK;
    BbIntList l;
    int rc = parse_intlist(ids, &l, 0, V - 1, err);
    if (rc) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return bb_fail(err, rc, "--tokens: %s (token ids of this run)", inner);
    }
    *set = bb_calloc((size_t)V, 1);
    for (int i = 0; i < l.n; i++) (*set)[l.v[i]] = 1;
    return BB_OK;
}

static void print_heads(FILE *f, const Run *run, const AnalysisConfig *ac, const Analysis *a, const Risks *removed) {
    fprintf(f, "\n%-6s %8s %8s %9s %8s %9s %9s  %-9s %-9s\n", "head", "Attn<s>", "Attn_prv", "dlogit<s>", "|Val<s>|",
            "val_ratio", "alpha_k", "trigger", "nontrig");
    for (int l = 0; l < a->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < a->H; h++) {
            const HeadMetrics *m = &a->head[l * a->H + h];
            const char *lt = "-", *ln = "-";
            if (removed) {
                const Risks *r = &removed[l * a->H + h];
                lt = head_label_names[metrics_classify(m->attn_bos[DOM_TRIGGER], r->risk[DOM_TRIGGER] -
                                                       a->risks.risk[DOM_TRIGGER], ac->tau_sink, ac->tau_loss)];
                ln = head_label_names[metrics_classify(m->attn_bos[DOM_NONTRIGGER], r->risk[DOM_NONTRIGGER] -
                                                       a->risks.risk[DOM_NONTRIGGER], ac->tau_sink, ac->tau_loss)];
            }
            char name[32];
            snprintf(name, sizeof name, "l%dh%d", l, h);
            fprintf(f, "%-6s %8.3f %8.3f %9.3f %8.4f %9.3f %9.3f  %-9s %-9s\n", name, m->attn_bos[DOM_NONTRIGGER],
                    m->attn_prev, m->dlogit_mean, m->val_bos, m->val_ratio, m->importance, lt, ln);
        }
    }
}

static void print_summary(FILE *f, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac, const Analysis *a,
                          const Risks *removed, const char *out) {
    bb_say(f, "bbsim analyze: %s, step %ld, %d sequences x %d positions -> %s\n", run->cfg.out, run->step, eb->B,
           eb->T, out);
    fprintf(f, "\n%-22s %10s %10s %10s %10s\n", "risk (nats)", "model", "oracle", "excess", "positions");
    const char *names[DOM_N] = {"all", "trigger (backcopy)", "nontrigger (bigram)", "tokens"};
    for (int d = 0; d < DOM_N; d++) {
        if (d == DOM_TOKENS && !eb->token_set) continue;
        fprintf(f, "%-22s %10.4f %10.4f %10.4f %10ld\n", names[d], a->risks.risk[d], a->risks.oracle[d],
                a->risks.excess[d], a->risks.n[d]);
    }
    print_heads(f, run, ac, a, removed);
    if (analysis_has_resid(&run->model)) {
        fprintf(f, "\n%-6s %10s %10s %10s %8s\n", "layer", "||h_0||", "mean||h_i||", "gap", "ratio");
        for (int l = 0; l < a->L; l++)
            fprintf(f, "%-6d %10.3f %10.3f %10.3f %8.3f\n", l, a->resid[l].bos, a->resid[l].other, a->resid[l].gap,
                    a->resid[l].ratio);
    }
    /* The papers count positions from 1 (Sink_1 = first token); we index keys from 0. */
    fprintf(f, "\nsink rate Sink_%d^%g (key %d) = %.1f%% of heads (chance level 100 H_N/N = %.1f%%)\n",
            ac->sink_key + 1, ac->sink_eps, ac->sink_key, a->sink_rate, 100.0 * a->sink_chance);
}

/* --sink-key and --seqs against the run's sequences and the batch of B sequences. */
static int check_one(const AnalyzeRequest *req, int B, int T, BbError *err) {
    if (req->ac.sink_key >= T)
        return bb_fail(err, BB_EINPUT, "--sink-key %d: the run's sequences have %d positions (0..%d)",
                       req->ac.sink_key, T, T - 1);
    for (int i = 0; i < req->seqs.n; i++)
        if (req->seqs.v[i] >= B)
            return bb_fail(err, BB_EINPUT, "--seqs %d: the evaluation batch has %d sequences (0..%d)", req->seqs.v[i],
                           B, B - 1);
    return BB_OK;
}

/* The attention, value and norm files of the 'active', 'dormant' and --seqs sequences. */
static int write_sequences(const char *stage, const char *outdir, const Run *run, const EvalBatch *eb,
                           const AnalyzeRequest *req, int active, int dormant, BbError *err) {
    const int nseq = 2 + req->seqs.n;
    for (int k = 0; k < nseq; k++) {
        char name[32];
        int b = k == 0 ? active : k == 1 ? dormant : req->seqs.v[k - 2];
        if (k == 0) snprintf(name, sizeof name, "active");
        else if (k == 1) snprintf(name, sizeof name, "dormant");
        else snprintf(name, sizeof name, "seq%d", b);
        SeqDump d;
        analysis_sequence(&d, &run->model, eb, b, NULL);
        int rc = stop_check(analysis_write_sequence(stage, name, run, eb, &req->ac, &d, err), outdir, err);
        analysis_sequence_free(&d);
        if (rc) return rc;
    }
    return BB_OK;
}

/* Every file of one checkpoint's analysis into stage, an interrupt checked after each. */
static int write_one(const char *stage, const char *outdir, const Run *run, const EvalBatch *eb,
                     const AnalyzeRequest *req, const Analysis *a, const Risks *removed, int active, int dormant,
                     BbError *err) {
    const AnalysisConfig *ac = &req->ac;
    int rc;
    if ((rc = stop_check(analysis_write_risks(stage, run, eb, ac, a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_metrics(stage, run, eb, ac, a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_dlogit(stage, run, eb, ac, a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_keys(stage, run, eb, ac, a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_types(stage, run, eb, ac, a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_sink(stage, run, eb, ac, a, err), outdir, err)))
        return rc;
    if (removed && (rc = stop_check(analysis_write_heads(stage, run, eb, ac, a, removed, err), outdir, err)))
        return rc;
    return write_sequences(stage, outdir, run, eb, req, active, dormant, err);
}

static int analyze_one(const char *dir, const char *outdir, const AnalyzeRequest *req, FILE *report, BbError *err) {
    Run run;
    int rc = run_load(&run, dir, req->step, err);
    if (rc) return rc;
    const int B = req->eval_batch > 0 ? req->eval_batch : run.cfg.task.eval_batch;
    unsigned char *set = NULL;
    EvalBatch eb = {0};
    Analysis a = {0};
    Risks *removed = NULL;
    OutFolder of = {0};
    if ((rc = analysis_token_set(req->tokens, run.task.V, &set, err)) ||
        (rc = check_one(req, B, run.task.cfg.seq, err)))
        goto out;
    /* the whole set goes into a fresh folder beside outdir, swapped in at the end */
    if ((rc = outfolder_begin(&of, outdir, analyze_file, "analyze", err))) goto out;
    analysis_batch(&eb, &run.task, B, set);
    const int threads = bb_threads();
    analysis_collect(&a, &run.model, &run.task, &eb, NULL, &req->ac, ANALYSIS_ALL, threads);
    if ((rc = analysis_check_risk(&a, run.path, run.step, err))) goto out;
    if (!req->no_heads) {
        removed = bb_calloc((size_t)a.L * a.H, sizeof *removed);
        analysis_head_removal(removed, &run.model, &run.task, &eb, &req->ac, threads);
    }
    int active, dormant;
    analysis_pick_sequences(&eb, &active, &dormant);
    if ((rc = write_one(of.stage, outdir, &run, &eb, req, &a, removed, active, dormant, err)) ||
        (rc = stop_check(outfolder_commit(&of, dynamics_file, err), outdir, err)))
        goto out;
    if (report) {
        print_summary(report, &run, &eb, &req->ac, &a, removed, outdir);
        fprintf(report, "figure sequences: active = %d, dormant = %d of the evaluation batch\n", active, dormant);
    }
out:
    outfolder_abort(&of); /* on any error: the stage goes, outdir is as it was */
    free(removed);
    free(set);
    analysis_free(&a);
    analysis_batch_free(&eb);
    run_free(&run);
    return rc;
}

/* One checkpoint of the dynamics: parallel_for_each's item. */
typedef struct DynamicsJob {
    const char *dir;
    const long *steps;
    const EvalBatch *eb;
    const AnalysisConfig *ac;
    Analysis *res; /* [k]: checkpoint steps[k] */
} DynamicsJob;

static int dynamics_item(void *ctx, int k, int threads, BbError *err) {
    const DynamicsJob *job = ctx;
    Run r;
    int rc = run_load(&r, job->dir, job->steps[k], err);
    if (rc) return rc;
    analysis_collect(&job->res[k], &r.model, &r.task, job->eb, NULL, job->ac, ANALYSIS_ALL, threads);
    rc = analysis_check_risk(&job->res[k], r.path, r.step, err);
    run_free(&r);
    return rc;
}

static int analyze_all(const char *dir, const char *outdir, const AnalyzeRequest *req, FILE *report, long *steps,
                       int n, BbError *err) {
    Run first;
    int rc = run_load(&first, dir, steps[n - 1], err);
    if (rc) return rc;
    const int B = req->eval_batch > 0 ? req->eval_batch : first.cfg.task.eval_batch, T = first.task.cfg.seq;
    unsigned char *set = NULL;
    EvalBatch eb = {0};
    Analysis *res = bb_calloc((size_t)n, sizeof *res);
    OutFolder of = {0};
    if ((rc = analysis_token_set(req->tokens, first.task.V, &set, err))) goto out;
    if (req->ac.sink_key >= T) {
        rc = bb_fail(err, BB_EINPUT, "--sink-key %d: the run's sequences have %d positions", req->ac.sink_key, T);
        goto out;
    }
    if ((rc = outfolder_begin(&of, outdir, analyze_file, "analyze", err))) goto out;
    analysis_batch(&eb, &first.task, B, set);
    char label[4096]; /* "analyze DIR", as long as a line of bb_say */
    snprintf(label, sizeof label, "analyze %s", dir);
    DynamicsJob job = {dir, steps, &eb, &req->ac, res};
    rc = parallel_for_each(n, dynamics_item, &job, report ? label : NULL, "checkpoints", err);
    const int stopped = stop_check(BB_OK, outdir, err); /* an interrupt wins over a failure */
    if (stopped) rc = stopped;
    if (rc) goto out;
    /* dynamics.tsv replaces the old one; one checkpoint's analysis there stays */
    if ((rc = stop_check(analysis_write_dynamics(of.stage, &first, &eb, &req->ac, steps, res, n, err), outdir, err)) ||
        (rc = stop_check(outfolder_commit(&of, checkpoint_file, err), outdir, err)))
        goto out;
    if (report)
        bb_say(report, "bbsim analyze: %s: %d checkpoints (steps %ld..%ld), %d sequences -> %s/dynamics.tsv\n", dir, n,
               steps[0], steps[n - 1], B, outdir);
out:
    outfolder_abort(&of);
    for (int k = 0; k < n; k++) analysis_free(&res[k]);
    free(res);
    free(set);
    analysis_batch_free(&eb);
    run_free(&first);
    return rc;
}

int analyze_run(const char *dir, const char *outdir, const AnalyzeRequest *req, FILE *report, BbError *err) {
    if (!req->all) return analyze_one(dir, outdir, req, report, err);
    long *steps;
    int n, rc = run_checkpoints(dir, &steps, &n, err);
    if (rc) return rc;
    rc = analyze_all(dir, outdir, req, report, steps, n, err);
    free(steps);
    return rc;
}
