/* bbsim analyze: the extreme-token metrics, the head table and the figure data of a run
 * directory (docs/method.md#metrics), for one checkpoint or, with --ckpt all, the training
 * dynamics (one dynamics.tsv row per checkpoint). The work is in src/analysis/analysis.c. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "bbsim/analysis.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"

typedef struct {
    char ckpt[64];
    BbIntList seqs;
    int eval_batch;
    char tokens[BB_STRLEN];
    char out[BB_STRLEN];
    int threads, no_heads, quiet;
    AnalysisConfig ac;
} AnalyzeOpts;

static int analyze_opts(AnalyzeOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint: a step, 'last' or 'all' (dynamics.tsv)"};
    t[k++] = (Opt){"seqs", OPT_INTLIST, &o->seqs, 0, 1 << 30, NULL,
                   "also dump these sequences of the evaluation batch (seq<k>); 'active' and 'dormant' always"};
    t[k++] = (Opt){"eval-batch", OPT_INT, &o->eval_batch, 0, 1 << 20, NULL,
                   "sequences of the fixed evaluation batch (0 = the run's --eval-batch)"};
    t[k++] = (Opt){"tokens", OPT_STR, o->tokens, 0, 0, NULL, "token ids of an extra domain, e.g. 3,7 (\"\" = none)"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL,
                   "output directory [default: RUN_DIR/analysis; with --ckpt N, RUN_DIR/analysis_stepN]"};
    t[k++] = (Opt){"chunk", OPT_INT, &o->ac.chunk, 1, 4096, NULL, "sequences per forward call (one per thread)"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads (0 = OpenMP default)"};
    t[k++] = (Opt){"sink-key", OPT_INT, &o->ac.sink_key, 0, 1 << 20, NULL,
                   "key k of the importance score and sink rate"};
    t[k++] = (Opt){"sink-eps", OPT_DOUBLE, &o->ac.sink_eps, 0, 1, NULL, "threshold eps of the sink rate"};
    t[k++] = (Opt){"tau-sink", OPT_DOUBLE, &o->ac.tau_sink, 0, 1, NULL, "head table: dormant needs Attn<s> above this"};
    t[k++] = (Opt){"tau-loss", OPT_DOUBLE, &o->ac.tau_loss, 0, 1e6, NULL,
                   "head table: removal effect (nats) separating dormant / active"};
    t[k++] = (Opt){"no-heads", OPT_FLAG, &o->no_heads, 0, 1, NULL, "skip the head-removal passes (no heads.tsv)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no summary on stdout"};
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("analyze", rc, err); }

/* The files of one checkpoint's analysis (analyze_one), and of --ckpt all (dynamics.tsv):
 * what the output folder may hold (docs/format.md#analysis-folders). Each mode replaces
 * its own set as a whole and keeps the other's. */
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

/* "3,7" -> token_set (V); "" -> NULL. */
static int parse_tokens(const char *s, int V, unsigned char **set, BbError *err) {
    *set = NULL;
    if (!*s) return BB_OK;
    BbIntList l;
    int rc = parse_intlist(s, &l, 0, V - 1, err);
    if (rc) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return bb_fail(err, rc, "--tokens: %s (token ids of this run)", inner);
    }
    *set = bb_calloc((size_t)V, 1);
    for (int i = 0; i < l.n; i++) (*set)[l.v[i]] = 1;
    return BB_OK;
}

static void print_summary(const Run *run, const EvalBatch *eb, const AnalysisConfig *ac, const Analysis *a,
                          const Risks *removed, const char *out) {
    bb_say(stdout, "bbsim analyze: %s, step %ld, %d sequences x %d positions -> %s\n", run->cfg.out, run->step,
           eb->B, eb->T, out);
    printf("\n%-22s %10s %10s %10s %10s\n", "risk (nats)", "model", "oracle", "excess", "positions");
    const char *names[DOM_N] = {"all", "trigger (backcopy)", "nontrigger (bigram)", "tokens"};
    for (int d = 0; d < DOM_N; d++) {
        if (d == DOM_TOKENS && !eb->token_set) continue;
        printf("%-22s %10.4f %10.4f %10.4f %10ld\n", names[d], a->risks.risk[d], a->risks.oracle[d], a->risks.excess[d],
               a->risks.n[d]);
    }
    printf("\n%-6s %8s %8s %9s %8s %9s %9s  %-9s %-9s\n", "head", "Attn<s>", "Attn_prv", "dlogit<s>", "|Val<s>|",
           "val_ratio", "alpha_k", "trigger", "nontrig");
    for (int l = 0; l < a->L; l++) {
        if (!analysis_has_attn(&run->model, l)) continue;
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
            printf("%-6s %8.3f %8.3f %9.3f %8.4f %9.3f %9.3f  %-9s %-9s\n", name, m->attn_bos[DOM_NONTRIGGER],
                   m->attn_prev, m->dlogit_mean, m->val_bos, m->val_ratio, m->importance, lt, ln);
        }
    }
    if (analysis_has_resid(&run->model)) {
        printf("\n%-6s %10s %10s %10s %8s\n", "layer", "||h_0||", "mean||h_i||", "gap", "ratio");
        for (int l = 0; l < a->L; l++)
            printf("%-6d %10.3f %10.3f %10.3f %8.3f\n", l, a->resid[l].bos, a->resid[l].other, a->resid[l].gap,
                   a->resid[l].ratio);
    }
    /* The papers count positions from 1 (Sink_1 = first token); we index keys from 0. */
    printf("\nsink rate Sink_%d^%g (key %d) = %.1f%% of heads (chance level 100 H_N/N = %.1f%%)\n", ac->sink_key + 1,
           ac->sink_eps, ac->sink_key, a->sink_rate, 100.0 * a->sink_chance);
}

static int analyze_one(const char *dir, long step, const AnalyzeOpts *o, const char *outdir, BbError *err) {
    Run run;
    int rc = run_load(&run, dir, step, err);
    if (rc) return rc;
    const int B = o->eval_batch > 0 ? o->eval_batch : run.cfg.task.eval_batch, T = run.task.cfg.seq;
    unsigned char *set = NULL;
    EvalBatch eb = {0};
    Analysis a = {0};
    Risks *removed = NULL;
    OutFolder of = {0};
    if ((rc = parse_tokens(o->tokens, run.task.V, &set, err))) goto out;
    if (o->ac.sink_key >= T) {
        rc = bb_fail(err, BB_EINPUT, "--sink-key %d: the run's sequences have %d positions (0..%d)", o->ac.sink_key,
                     T, T - 1);
        goto out;
    }
    for (int i = 0; i < o->seqs.n; i++)
        if (o->seqs.v[i] >= B) {
            rc = bb_fail(err, BB_EINPUT, "--seqs %d: the evaluation batch has %d sequences (0..%d)", o->seqs.v[i], B,
                         B - 1);
            goto out;
        }
    /* the whole set goes into a fresh folder beside outdir, swapped in at the end */
    if ((rc = outfolder_begin(&of, outdir, analyze_file, "analyze", err))) goto out;
    const char *stage = of.stage;
    analysis_batch(&eb, &run.task, B, set);
    const int threads = bb_threads();
    analysis_collect(&a, &run.model, &run.task, &eb, NULL, &o->ac, ANALYSIS_ALL, threads);
    if ((rc = analysis_check_risk(&a, run.path, run.step, err))) goto out;
    if (!o->no_heads) {
        removed = bb_calloc((size_t)a.L * a.H, sizeof *removed);
        analysis_head_removal(removed, &run.model, &run.task, &eb, &o->ac, threads);
    }
    if ((rc = stop_check(analysis_write_risks(stage, &run, &eb, &o->ac, &a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_metrics(stage, &run, &eb, &o->ac, &a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_dlogit(stage, &run, &eb, &o->ac, &a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_keys(stage, &run, &eb, &o->ac, &a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_types(stage, &run, &eb, &o->ac, &a, err), outdir, err)) ||
        (rc = stop_check(analysis_write_sink(stage, &run, &eb, &o->ac, &a, err), outdir, err)))
        goto out;
    if (removed && (rc = stop_check(analysis_write_heads(stage, &run, &eb, &o->ac, &a, removed, err), outdir, err)))
        goto out;
    int active, dormant;
    analysis_pick_sequences(&eb, &active, &dormant);
    const int nseq = 2 + o->seqs.n;
    for (int k = 0; k < nseq; k++) {
        char name[32];
        int b = k == 0 ? active : k == 1 ? dormant : o->seqs.v[k - 2];
        if (k == 0) snprintf(name, sizeof name, "active");
        else if (k == 1) snprintf(name, sizeof name, "dormant");
        else snprintf(name, sizeof name, "seq%d", b);
        SeqDump d;
        analysis_sequence(&d, &run.model, &eb, b, NULL);
        rc = stop_check(analysis_write_sequence(stage, name, &run, &eb, &o->ac, &d, err), outdir, err);
        analysis_sequence_free(&d);
        if (rc) goto out;
    }
    if ((rc = stop_check(outfolder_commit(&of, dynamics_file, err), outdir, err))) goto out;
    if (!o->quiet) {
        print_summary(&run, &eb, &o->ac, &a, removed, outdir);
        printf("figure sequences: active = %d, dormant = %d of the evaluation batch\n", active, dormant);
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

static int analyze_all(const char *dir, const AnalyzeOpts *o, const char *outdir, BbError *err) {
    long *steps;
    int n, rc;
    if ((rc = run_checkpoints(dir, &steps, &n, err))) return rc;
    Run first;
    if ((rc = run_load(&first, dir, steps[n - 1], err))) {
        free(steps);
        return rc;
    }
    const int B = o->eval_batch > 0 ? o->eval_batch : first.cfg.task.eval_batch, T = first.task.cfg.seq;
    unsigned char *set = NULL;
    EvalBatch eb = {0};
    Analysis *res = NULL;
    int *status = NULL;
    BbError *errs = NULL;
    OutFolder of = {0};
    if ((rc = parse_tokens(o->tokens, first.task.V, &set, err))) goto out;
    if (o->ac.sink_key >= T) {
        rc = bb_fail(err, BB_EINPUT, "--sink-key %d: the run's sequences have %d positions", o->ac.sink_key, T);
        goto out;
    }
    if ((rc = outfolder_begin(&of, outdir, analyze_file, "analyze", err))) goto out;
    analysis_batch(&eb, &first.task, B, set);
    res = bb_calloc((size_t)n, sizeof *res);
    status = bb_calloc((size_t)n, sizeof *status);
    errs = bb_calloc((size_t)n, sizeof *errs);
    const int threads = bb_threads();
    /* many checkpoints: one checkpoint per thread (each serial inside); few: the chunks of
     * each checkpoint in parallel. Either way every number is computed the same way. */
    const int outer = n >= threads && threads > 1;
    const int tty = !o->quiet && isatty(fileno(stderr));
    const double t0 = bb_now();
    int done = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (outer)
    for (int k = 0; k < n; k++) {
        if (bb_interrupted()) { /* the rest is skipped; reported below */
            status[k] = BB_EINTR;
            continue;
        }
        Run r;
        status[k] = run_load(&r, dir, steps[k], &errs[k]);
        if (!status[k]) {
            analysis_collect(&res[k], &r.model, &r.task, &eb, NULL, &o->ac, ANALYSIS_ALL, outer ? 1 : threads);
            status[k] = analysis_check_risk(&res[k], r.path, r.step, &errs[k]);
            run_free(&r);
        }
        if (tty) {
#pragma omp critical(analyze_progress)
            {
                done++;
                const double el = bb_now() - t0;
                bb_say(stderr, "\ranalyze %s: %d/%d checkpoints, %.0f s, ETA %.0f s   ", dir, done, n, el,
                        el / done * (n - done));
                if (done == n) fputc('\n', stderr);
            }
        }
    }
    if ((rc = stop_check(BB_OK, outdir, err))) goto out;
    for (int k = 0; k < n; k++)
        if (status[k]) {
            rc = status[k];
            *err = errs[k];
            goto out;
        }
    /* dynamics.tsv replaces the old one; one checkpoint's analysis there stays */
    if ((rc = stop_check(analysis_write_dynamics(of.stage, &first, &eb, &o->ac, steps, res, n, err), outdir, err)) ||
        (rc = stop_check(outfolder_commit(&of, checkpoint_file, err), outdir, err)))
        goto out;
    if (!o->quiet)
        bb_say(stdout, "bbsim analyze: %s: %d checkpoints (steps %ld..%ld), %d sequences -> %s/dynamics.tsv\n", dir, n,
               steps[0], steps[n - 1], B, outdir);
out:
    outfolder_abort(&of);
    if (res)
        for (int k = 0; k < n; k++) analysis_free(&res[k]);
    free(res);
    free(status);
    free(errs);
    free(set);
    analysis_batch_free(&eb);
    run_free(&first);
    free(steps);
    return rc;
}

int cmd_analyze(int argc, char **argv) {
    AnalyzeOpts o;
    memset(&o, 0, sizeof o);
    snprintf(o.ckpt, sizeof o.ckpt, "last");
    analysis_config_default(&o.ac);
    Opt table[16];
    const int nopt = analyze_opts(&o, table);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bbsim analyze RUN_DIR [flags]\n\n"
                   "Metrics of docs/method.md#metrics on the run's fixed evaluation batch: risks.tsv, metrics.tsv,\n"
                   "heads.tsv (dormant / active / mixed per domain), dlogit.tsv, keys.tsv, types.tsv, sink.tsv and, for the\n"
                   "'active', 'dormant' and --seqs sequences, attention_*.tsv, values_*.tsv, norms_*.tsv.\n"
                   "With --ckpt all: dynamics.tsv, one row per checkpoint.\n\nflags:\n");
            opts_help(stdout, table, nopt);
            return 0;
        }
    BbError err = {{0}};
    const char *dir;
    int rc = opts_parse_run_dir(table, nopt, argc, argv, "bbsim analyze RUN_DIR [flags]", &dir, &err);
    if (rc) return fail(rc, &err);
    long step = -1;
    int all = 0;
    if (!strcmp(o.ckpt, "all")) {
        all = 1;
    } else if ((rc = run_ckpt_arg(o.ckpt, &step, "a step, 'last' or 'all'", &err))) {
        return fail(rc, &err);
    }
    /* --ckpt N writes RUN_DIR/analysis_step<N>/, never over the last checkpoint's
     * RUN_DIR/analysis/ (what make repro and bbsim figures read is always given by --out) */
    char outdir[BB_STRLEN + 48];
    if (o.out[0]) snprintf(outdir, sizeof outdir, "%s", o.out);
    else if (step >= 0) snprintf(outdir, sizeof outdir, "%s/analysis_step%ld", dir, step);
    else snprintf(outdir, sizeof outdir, "%s/analysis", dir);
    if (o.threads > 0) omp_set_num_threads(o.threads);
    blas_set_threads(1); /* parallel over chunks, single-threaded GEMMs inside */
    /* Ctrl-C and SIGTERM set a flag: the partial set is removed and the exit status is 130 */
    bb_catch_interrupts();
    rc = all ? analyze_all(dir, &o, outdir, &err) : analyze_one(dir, step, &o, outdir, &err);
    bb_release_interrupts();
    return rc ? fail(rc, &err) : 0;
}
