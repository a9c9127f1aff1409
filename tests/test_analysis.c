/* Tests of the analysis drivers (src/analysis/analysis.c, bbsim analyze / intervene): the
 * interventions equal the models they stand for (a removed head = zero Wo columns, a
 * removed MLP = zero W2), the uninstrumented risks reproduce the training loss, the
 * numbers do not depend on the thread count, the simplified model's metrics, and on a
 * tiny trained one-layer model the head is active on triggers and dormant elsewhere. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/analysis.h"
#include "bbsim/checkpoint.h"
#include "bbsim/train.h"

/* The fixture of the tests below: a small random (untrained) model on a small synthetic
 * task (vocabulary 16 + specials, N = 16), an evaluation batch of it and the default
 * analysis settings. */
typedef struct {
    Task t;
    Model m;
    EvalBatch eb;
    AnalysisConfig ac;
} Fixture;

/* kind: MODEL_TRANSFORMER (2 layers, 2 heads, width 16) or MODEL_SIMPLE (hidden width 8);
 * seqs sequences in the batch; tokens NULL or the token ids of a --tokens domain, ending
 * with -1. */
static void fixture_build(Fixture *f, ModelKind kind, int seqs, const int *tokens) {
    TaskConfig tc;
    task_config_default(&tc);
    tc.table = TASK_TABLE_SYNTHETIC;
    tc.vbase = 16;
    tc.seq = 16;
    tc.eval_batch = 12;
    BbError err;
    if (task_build(&f->t, &tc, &err)) fail_msg("task_build: %s", err.msg);
    ModelConfig mc;
    model_config_default(&mc);
    if (kind == MODEL_SIMPLE) {
        mc.kind = MODEL_SIMPLE;
        mc.simple_hidden = 8;
    } else {
        mc.L = 2;
        mc.H = 2;
        mc.C = 16;
    }
    train_model_config_from_task(&mc, &f->t);
    if (model_build(&f->m, &mc, &err)) fail_msg("model_build: %s", err.msg);
    unsigned char *set = tokens ? calloc((size_t)f->t.V, 1) : NULL;
    for (const int *k = tokens; k && *k >= 0; k++) set[*k] = 1;
    analysis_batch(&f->eb, &f->t, seqs, set);
    free(set);
    analysis_config_default(&f->ac);
}

static void fixture_free(Fixture *f) {
    analysis_batch_free(&f->eb);
    model_free(&f->m);
    task_free(&f->t);
}

static void copy_model(Model *dst, const Model *src) {
    BbError err;
    if (model_build(dst, &src->cfg, &err)) fail_msg("model_build: %s", err.msg);
    memcpy(dst->params, src->params, src->nparams * sizeof(float));
}

static void forward_logits(const Model *m, const EvalBatch *eb, const Intervention *iv, double *out) {
    Workspace *ws = workspace_alloc(m, eb->B, eb->T);
    model_forward(m, ws, eb->inputs, eb->targets, eb->B, iv);
    const size_t n = (size_t)eb->B * eb->T * m->cfg.V;
    for (size_t k = 0; k < n; k++) out[k] = ws->logits[k];
    workspace_free(ws);
}

static void assert_risks_close(const Risks *a, const Risks *b, double tol) {
    for (int d = 0; d < DOM_N; d++) {
        assert_int_equal(a->n[d], b->n[d]);
        if (!a->n[d]) continue;
        assert_close(a->risk[d], b->risk[d], tol, tol);
        assert_close(a->loss[d], b->loss[d], tol, tol);
    }
}

/* Zeroing head h of layer l = a model whose Wo columns h*hs .. h*hs+hs-1 are zero. */
static void test_zero_head_is_zero_wo(void **state) {
    (void)state;
    Fixture f;
    fixture_build(&f, MODEL_TRANSFORMER, 6, NULL);
    const Model *m = &f.m;
    const int C = 16, hs = 8, V = f.t.V;
    const size_t n = (size_t)f.eb.B * f.eb.T * V;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    const int cases[3][2] = {{0, 1}, {1, 0}, {1, 1}};
    for (int k = 0; k < 3; k++) {
        const int l = cases[k][0], h = cases[k][1];
        Intervention iv;
        memset(&iv, 0, sizeof iv);
        iv.zero_head[l][h] = 1;
        Model z;
        copy_model(&z, m);
        for (int c = 0; c < C; c++)
            for (int j = 0; j < hs; j++) z.p.wo[l][c * C + h * hs + j] = 0.0f;
        forward_logits(m, &f.eb, &iv, a);
        forward_logits(&z, &f.eb, NULL, b);
        assert_allclose(a, b, n, 1e-5, 1e-5);
        Analysis ra, rb;
        analysis_collect(&ra, m, &f.t, &f.eb, &iv, &f.ac, ANALYSIS_RISKS, 1);
        analysis_collect(&rb, &z, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_RISKS, 1);
        assert_risks_close(&ra.risks, &rb.risks, 1e-6);
        /* and it changes something: the head mattered */
        forward_logits(m, &f.eb, NULL, b);
        double diff = 0;
        for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs(a[i] - b[i]));
        assert_true(diff > 1e-4);
        analysis_free(&ra);
        analysis_free(&rb);
        model_free(&z);
    }
    free(a);
    free(b);
    fixture_free(&f);
}

/* Deleting layer l's MLP = a model whose W2 (layer l) is zero. */
static void test_no_mlp_is_zero_w2(void **state) {
    (void)state;
    Fixture f;
    fixture_build(&f, MODEL_TRANSFORMER, 6, NULL);
    const Model *m = &f.m;
    const size_t n = (size_t)f.eb.B * f.eb.T * f.t.V;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (int l = 0; l < 2; l++) {
        Intervention iv;
        memset(&iv, 0, sizeof iv);
        iv.no_mlp[l] = 1;
        Model z;
        copy_model(&z, m);
        memset(z.p.w2[l], 0, (size_t)16 * 4 * 16 * sizeof(float));
        forward_logits(m, &f.eb, &iv, a);
        forward_logits(&z, &f.eb, NULL, b);
        assert_allclose(a, b, n, 1e-5, 1e-5);
        Analysis ra, rb;
        analysis_collect(&ra, m, &f.t, &f.eb, &iv, &f.ac, ANALYSIS_ALL, 2);
        analysis_collect(&rb, &z, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_ALL, 2);
        assert_risks_close(&ra.risks, &rb.risks, 1e-6);
        assert_close(ra.resid[1].bos, rb.resid[1].bos, 1e-5, 1e-5);
        analysis_free(&ra);
        analysis_free(&rb);
        model_free(&z);
    }
    free(a);
    free(b);
    fixture_free(&f);
}

/* Without intervention, the analysis reproduces the training loss (trainer_step) on the
 * same batch, overall and on trigger / non-trigger positions. */
static void test_loss_matches_training(void **state) {
    (void)state;
    Fixture f;
    fixture_build(&f, MODEL_TRANSFORMER, 12, NULL);
    f.ac.chunk = 5; /* unequal chunks on purpose */
    Analysis a;
    analysis_collect(&a, &f.m, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_ALL, 2);
    Trainer *tr = trainer_alloc(&f.t, &f.m, f.eb.B, 0, 0);
    double bc, bg;
    double loss = trainer_step(tr, f.eb.inputs, f.eb.targets, f.eb.B, &bc, &bg);
    trainer_free(tr);
    assert_close(a.risks.loss[DOM_ALL], loss, 1e-6, 1e-5);
    assert_close(a.risks.loss[DOM_TRIGGER], bc, 1e-6, 1e-5);
    assert_close(a.risks.loss[DOM_NONTRIGGER], bg, 1e-6, 1e-5);
    assert_int_equal(a.risks.n[DOM_ALL], f.eb.B * f.eb.T);
    /* risk >= oracle risk (CE >= entropy) */
    assert_true(a.risks.excess[DOM_ALL] > 0);
    analysis_free(&a);
    fixture_free(&f);
}

/* Every number is bitwise the same for 1 and 2 threads. */
static void test_thread_determinism(void **state) {
    (void)state;
    static const int tokens[] = {3, 5, -1};
    Fixture f;
    fixture_build(&f, MODEL_TRANSFORMER, 12, tokens);
    f.ac.chunk = 3;
    Analysis a1, a2;
    analysis_collect(&a1, &f.m, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_ALL, 1);
    analysis_collect(&a2, &f.m, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_ALL, 2);
    assert_memory_equal(&a1.risks, &a2.risks, sizeof a1.risks);
    assert_memory_equal(a1.head, a2.head, 4 * sizeof a1.head[0]);
    assert_memory_equal(a1.resid, a2.resid, 2 * sizeof a1.resid[0]);
    assert_memory_equal(a1.dlogit_count, a2.dlogit_count, 4 * (size_t)f.t.V * sizeof(long));
    assert_true(a1.sink_rate == a2.sink_rate);
    assert_true(a1.risks.n[DOM_TOKENS] > 0);
    /* sanity of the finished numbers on a random model */
    for (int k = 0; k < 4; k++) {
        assert_true(a1.head[k].attn_bos[DOM_ALL] > 0 && a1.head[k].attn_bos[DOM_ALL] <= 1);
        assert_true(a1.head[k].val_bos > 0 && a1.head[k].val_other > 0);
        assert_close(a1.head[k].attn_mass[DOM_ALL], 1.0, 1e-5, 0); /* softmax rows */
    }
    assert_close(a1.sink_chance, metrics_sink_chance(16), 0, 0);
    analysis_free(&a1);
    analysis_free(&a2);
    fixture_free(&f);
}

/* The interventions as they appear in a forward pass: zero BOS value, oracle and all-BOS
 * attention show up in the metrics. */
static void test_intervention_metrics(void **state) {
    (void)state;
    Fixture f;
    fixture_build(&f, MODEL_TRANSFORMER, 6, NULL);
    Intervention iv;
    memset(&iv, 0, sizeof iv);
    iv.is_trigger = f.t.is_trigger;
    iv.zero_bos_value[0][1] = 1;
    iv.all_bos[1][0] = 1;
    iv.oracle_attn[1][1] = 1;
    iv.zero_bos_resid[0] = 1;
    Analysis a;
    analysis_collect(&a, &f.m, &f.t, &f.eb, &iv, &f.ac, ANALYSIS_ALL, 2);
    assert_close(a.head[1].val_bos, 0.0, 0, 0);               /* l0h1: v_0 = 0 */
    assert_true(a.head[0].val_bos > 0);                        /* l0h0 untouched */
    assert_close(a.head[2].attn_bos[DOM_ALL], 1.0, 0, 1e-12);  /* l1h0: all on BOS */
    assert_close(a.head[3].attn_bos[DOM_NONTRIGGER], 1.0, 0, 1e-12); /* l1h1: oracle */
    if (a.risks.n[DOM_TRIGGER]) {
        assert_close(a.head[3].attn_prev, 1.0, 0, 1e-12);
        assert_close(a.head[3].attn_bos[DOM_TRIGGER], 0.0, 0, 0);
    }
    assert_close(a.resid[0].bos, 0.0, 0, 0); /* h_0 := 0 after layer 0 */
    analysis_free(&a);
    fixture_free(&f);
}

static void expect_iv_error(const Model *m, InterventionKind kind, const char *value, const char *needle) {
    Intervention iv;
    memset(&iv, 0, sizeof iv);
    BbError err = {{0}};
    assert_int_equal(analysis_intervention_add(&iv, m, kind, value, &err), BB_EINPUT);
    if (!strstr(err.msg, needle))
        fail_msg("--%s %s: message '%s' lacks '%s'", analysis_interventions[kind].flag, value, err.msg, needle);
}

static void test_intervention_flags(void **state) {
    (void)state;
    Fixture f;
    fixture_build(&f, MODEL_TRANSFORMER, 4, NULL);
    Intervention iv;
    memset(&iv, 0, sizeof iv);
    BbError err;
    assert_int_equal(analysis_intervention_add(&iv, &f.m, IV_NO_ATTN, "0.1,1", &err), 0);
    assert_int_equal(iv.zero_head[0][1], 1);
    assert_int_equal(iv.zero_head[0][0], 0);
    assert_int_equal(iv.zero_head[1][0] + iv.zero_head[1][1], 2);
    assert_int_equal(analysis_intervention_add(&iv, &f.m, IV_NO_LAYER, "0", &err), 0);
    assert_int_equal(iv.zero_head[0][0] + iv.no_mlp[0], 2);
    assert_int_equal(iv.no_mlp[1], 0);
    assert_int_equal(analysis_intervention_add(&iv, &f.m, IV_ZERO_BOS_RESIDUAL, "1", &err), 0);
    assert_int_equal(iv.zero_bos_resid[1], 1);
    assert_int_equal(analysis_intervention_add(&iv, &f.m, IV_ORACLE_ATTN, "1.0", &err), 0);
    assert_int_equal(iv.oracle_attn[1][0], 1);
    expect_iv_error(&f.m, IV_NO_ATTN, "2.0", "layer 2 out of range");
    expect_iv_error(&f.m, IV_NO_ATTN, "0.2", "head 2 out of range");
    expect_iv_error(&f.m, IV_NO_ATTN, "x", "expected L.H");
    expect_iv_error(&f.m, IV_NO_ATTN, "", "expected L.H");
    expect_iv_error(&f.m, IV_NO_ATTN, "0.", "expected L.H");
    expect_iv_error(&f.m, IV_NO_MLP, "0.1", "expected a layer index");
    expect_iv_error(&f.m, IV_ZERO_BOS_RESIDUAL, "5", "out of range");
    assert_int_equal(analysis_intervention_find("bogus"), -1);
    assert_int_equal(analysis_intervention_find("zero-bos-value"), IV_ZERO_BOS_VALUE);
    for (int k = 0; k < ANALYSIS_NINTERVENTIONS; k++) /* the table is indexed by kind */
        assert_int_equal(analysis_intervention_find(analysis_interventions[k].flag), k);
    model_free(&f.m);
    /* a model without attention in layer 1 and without an MLP in layer 0 */
    ModelConfig mc;
    model_config_default(&mc);
    mc.L = 2;
    mc.C = 16;
    mc.no_attn.n = 1;
    mc.no_attn.v[0] = 1;
    mc.no_mlp.n = 1;
    mc.no_mlp.v[0] = 0;
    train_model_config_from_task(&mc, &f.t);
    if (model_build(&f.m, &mc, &err)) fail_msg("model_build: %s", err.msg);
    expect_iv_error(&f.m, IV_NO_ATTN, "1.0", "layer 1 has no attention");
    expect_iv_error(&f.m, IV_NO_MLP, "0", "layer 0 has no MLP");
    assert_int_equal(model_has_attn(&f.m.cfg, 0), 1);
    assert_int_equal(model_has_attn(&f.m.cfg, 1), 0);
    /* the metrics skip the missing parts */
    Analysis a;
    analysis_collect(&a, &f.m, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_ALL, 2);
    assert_true(!isnan(a.head[0].attn_bos[DOM_ALL]));
    assert_true(isnan(a.head[1].attn_bos[DOM_ALL]));
    assert_true(!isnan(a.resid[1].gap));
    analysis_free(&a);
    fixture_free(&f);
}

/* The simplified model: |Val<s>| = ||Wo b||, the other values |w[x_j]|, dlogit<s> of a
 * non-trigger type v = a[v] (every other score is 0). */
static void test_simple_model(void **state) {
    (void)state;
    Fixture f;
    fixture_build(&f, MODEL_SIMPLE, 8, NULL);
    Model *m = &f.m;
    const int V = f.t.V;
    for (int v = 0; v < V; v++) {
        m->p.s_bos_logit[v] = 0.25f * (float)v;
        m->p.s_value[v] = v % 2 ? 2.0f : -2.0f;
    }
    double ss = 0;
    for (int v = 0; v < V; v++) {
        double o = 0;
        for (int u = 0; u < V; u++) o += (double)m->p.s_wo[v * V + u] * m->p.s_bos_value[u];
        ss += o * o;
    }
    Analysis a;
    analysis_collect(&a, m, &f.t, &f.eb, NULL, &f.ac, ANALYSIS_ALL, 2);
    assert_int_equal(a.L, 1);
    assert_int_equal(a.H, 1);
    assert_close(a.head[0].val_bos, sqrt(ss), 1e-5, 1e-5);
    assert_close(a.head[0].val_other, 2.0, 0, 1e-12);
    for (int v = 0; v < V; v++)
        if (a.dlogit_count[v] && !f.t.is_trigger[v]) assert_close(a.dlogit_type[v], 0.25 * v, 1e-6, 1e-6);
    assert_true(isnan(a.resid[0].bos)); /* no residual stream */
    SeqDump d;
    analysis_sequence(&d, m, &f.eb, 1, NULL);
    assert_close(d.value_norm[0], sqrt(ss), 1e-5, 1e-5);
    assert_close(d.value_norm[3], 2.0, 0, 0);
    assert_null(d.resid_norm);
    analysis_sequence_free(&d);
    analysis_free(&a);
    fixture_free(&f);
}

static void test_pick_sequences(void **state) {
    (void)state;
    enum { B = 4, T = 10 };
    unsigned char dom[B * T];
    EvalBatch eb = {.B = B, .T = T, .dom = dom};
    const unsigned char nt = DOM_BIT(DOM_ALL) | DOM_BIT(DOM_NONTRIGGER), tr = DOM_BIT(DOM_ALL) | DOM_BIT(DOM_TRIGGER);
    for (int k = 0; k < B * T; k++) dom[k] = nt;
    /* seq 0: trigger at 5; seq 1: triggers at 2, 4, 6; seq 2: trigger at 8; seq 3: 3, 5, 7 */
    dom[0 * T + 5] = tr;
    dom[1 * T + 2] = dom[1 * T + 4] = dom[1 * T + 6] = tr;
    dom[2 * T + 8] = tr;
    dom[3 * T + 3] = dom[3 * T + 5] = dom[3 * T + 7] = tr;
    int active, dormant;
    analysis_pick_sequences(&eb, &active, &dormant);
    assert_int_equal(active, 1);  /* 3 triggers, earliest first */
    assert_int_equal(dormant, 2); /* first trigger latest */
    dom[0 * T + 5] = nt;          /* seq 0 now has none */
    analysis_pick_sequences(&eb, &active, &dormant);
    assert_int_equal(dormant, 0);
}

static int file_exists(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 && st.st_size > 0;
}

/* Non-comment lines of a TSV containing every needle (tab-separated fields are matched
 * as text). */
static int count_rows(const char *dir, const char *name, const char *needle1, const char *needle2) {
    char p[1200], line[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && strstr(line, needle1) && (!needle2 || strstr(line, needle2))) n++;
    fclose(f);
    return n;
}

/* 1 when a line of dir/name (comments included) contains needle. */
static int grep_file(const char *dir, const char *name, const char *needle) {
    char p[700], line[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Train a tiny one-layer model (a few seconds) and check the paper's picture: the head
 * is active on trigger positions and dormant on the others; then the CLI end to end. */
static void test_trained_head(void **state) {
    (void)state;
    char *tmp = make_tempdir();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/run", tmp);
    TrainConfig c;
    train_config_default(&c);
    c.task.seq = 32;
    c.task.eval_batch = 64;
    c.model.C = 32;
    c.batch = 16;
    c.optim.lr = 1e-2;
    c.steps = 400;
    c.ckpt_every = 200;
    c.ckpt_dense = 400;
    c.threads = 1;
    c.quiet = 1;
    snprintf(c.out, sizeof c.out, "%s", dir);
    BbError err;
    if (train_run(&c, &err)) fail_msg("train_run: %s", err.msg);

    Run run;
    if (run_load(&run, dir, -1, &err)) fail_msg("run_load: %s", err.msg);
    assert_int_equal(run.step, 400);
    EvalBatch eb;
    analysis_batch(&eb, &run.task, 64, NULL);
    AnalysisConfig ac;
    analysis_config_default(&ac);
    Analysis a;
    analysis_collect(&a, &run.model, &run.task, &eb, NULL, &ac, ANALYSIS_ALL, 2);
    Risks removed;
    analysis_head_removal(&removed, &run.model, &run.task, &eb, &ac, 2);
    const HeadMetrics *h = &a.head[0];
    double dt = removed.risk[DOM_TRIGGER] - a.risks.risk[DOM_TRIGGER];
    double dn = removed.risk[DOM_NONTRIGGER] - a.risks.risk[DOM_NONTRIGGER];
    HeadLabel lt = metrics_classify(h->attn_bos[DOM_TRIGGER], dt, ac.tau_sink, ac.tau_loss);
    HeadLabel ln = metrics_classify(h->attn_bos[DOM_NONTRIGGER], dn, ac.tau_sink, ac.tau_loss);
    if (lt != HEAD_ACTIVE || ln != HEAD_DORMANT)
        fail_msg("trigger: %s (Attn<s> %.3f, removal %+.4f), nontrigger: %s (Attn<s> %.3f, removal %+.4f)",
                 head_label_names[lt], h->attn_bos[DOM_TRIGGER], dt, head_label_names[ln],
                 h->attn_bos[DOM_NONTRIGGER], dn);
    assert_true(h->attn_prev > 0.9);
    assert_true(dt > 1.0);                         /* removing the head destroys backcopy */
    assert_true(a.risks.excess[DOM_TRIGGER] < 0.2); /* backcopy learned */
    assert_true(h->val_ratio < 1.0);                /* the BOS value is the small one */
    assert_true(h->dlogit_mean > 0);
    assert_true(a.sink_rate > 100.0 * a.sink_chance);
    analysis_free(&a);
    analysis_batch_free(&eb);

    /* evaluation without BOS: the batch has no BOS, the oracle follows (its floor differs),
     * the training configuration stays as recorded */
    const double oracle_bos = a.risks.oracle[DOM_ALL];
    assert_false(run_eval_overridden(&run));
    if (run_eval_task(&run, 0, -1, &err)) fail_msg("run_eval_task: %s", err.msg);
    assert_true(run_eval_overridden(&run));
    assert_int_equal(run.task.cfg.bos, 0);
    assert_int_equal(run.cfg.task.bos, 1);
    analysis_batch(&eb, &run.task, 64, NULL);
    for (int i = 0; i < 64 * 32; i++)
        if (eb.inputs[i] == run.task.bos_id) fail_msg("BOS at input %d of the --eval-bos 0 batch", i);
    analysis_collect(&a, &run.model, &run.task, &eb, NULL, &ac, ANALYSIS_RISKS, 2);
    assert_true(fabs(a.risks.oracle[DOM_ALL] - oracle_bos) > 1e-3);
    analysis_free(&a);
    analysis_batch_free(&eb);
    assert_int_equal(run_eval_task(&run, 0, 1, &err), BB_EINPUT); /* packing needs a BOS */
    if (!strstr(err.msg, "--eval-packing 0")) fail_msg("message: %s", err.msg);
    run_free(&run);

    /* the CLI */
    char *out = NULL;
    int rc = run_bbsim(&out, "analyze %s --out %s/an --seqs 5 --tokens 1,2", dir, tmp);
    if (rc != 0) fail_msg("bbsim analyze exited %d: %s", rc, out);
    free(out);
    char an[600];
    snprintf(an, sizeof an, "%s/an", tmp);
    const char *files[] = {"risks.tsv", "metrics.tsv", "heads.tsv", "dlogit.tsv", "sink.tsv",
                           "attention_active_l0h0.tsv", "attention_dormant_l0h0.tsv", "attention_seq5_l0h0.tsv",
                           "values_active.tsv", "norms_dormant.tsv", "values_seq5.tsv", "keys.tsv"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        if (!file_exists(an, files[k])) fail_msg("bbsim analyze did not write %s", files[k]);
    assert_int_equal(count_rows(an, "heads.tsv", "\ttrigger\t", "\tactive"), 1);
    assert_int_equal(count_rows(an, "heads.tsv", "\tnontrigger\t", "\tdormant"), 1);
    assert_int_equal(count_rows(an, "heads.tsv", "\ttokens\t", NULL), 1);
    assert_int_equal(count_rows(an, "risks.tsv", "tokens\t", NULL), 1);
    assert_int_equal(count_rows(an, "metrics.tsv", "\tattn_prev\t", NULL), 1);
    /* attention maps: T (T+1) / 2 rows + the column names */
    assert_int_equal(count_rows(an, "attention_active_l0h0.tsv", "\t", NULL), 32 * 33 / 2 + 1);

    rc = run_bbsim(&out, "analyze %s --ckpt all --out %s/dyn --quiet", dir, tmp);
    if (rc != 0) fail_msg("bbsim analyze --ckpt all exited %d: %s", rc, out);
    free(out);
    snprintf(an, sizeof an, "%s/dyn", tmp);
    assert_int_equal(count_rows(an, "dynamics.tsv", "\t", NULL), 1 + 3); /* steps 0, 200, 400 */
    assert_int_equal(count_rows(an, "dynamics.tsv", "l0h0_attn_bos\t", "step\t"), 1);

    rc = run_bbsim(&out, "intervene %s --set no_attn --no-attn 0.0 --set no_mlp --no-mlp 0 --out %s/iv", dir, tmp);
    if (rc != 0) fail_msg("bbsim intervene exited %d: %s", rc, out);
    free(out);
    snprintf(an, sizeof an, "%s/iv", tmp);
    assert_int_equal(count_rows(an, "interventions.tsv", "no_attn\t", NULL), 3);
    assert_int_equal(count_rows(an, "interventions.tsv", "full\ttrigger\t", NULL), 1);
    assert_true(count_rows(an, "intervention_metrics.tsv", "no_mlp\t", NULL) > 10);
    rc = run_bbsim(&out, "intervene %s --eval-bos 0 --out %s/nobos --quiet", dir, tmp);
    if (rc != 0) fail_msg("bbsim intervene --eval-bos 0 exited %d: %s", rc, out);
    free(out);
    snprintf(an, sizeof an, "%s/nobos", tmp);
    assert_int_equal(count_rows(an, "interventions.tsv", "\t", NULL), 1 + 3); /* only the full model */
    assert_int_equal(count_rows(an, "interventions.tsv", "full\tall\t", NULL), 1);
    if (!grep_file(an, "interventions.tsv", "# eval_task bos 0 packing 0 (the run trained with bos 1 packing 0"))
        fail_msg("interventions.tsv does not record the evaluation task");

    /* bad input: one line on stderr, exit 2 */
    rc = run_bbsim(&out, "analyze %s/nope", tmp);
    assert_int_equal(rc, 2);
    if (!strstr(out, "bbsim analyze: ")) fail_msg("message: %s", out);
    free(out);
    rc = run_bbsim(&out, "intervene %s --no-attn 1.0", dir);
    assert_int_equal(rc, 2);
    if (!strstr(out, "bbsim intervene: --no-attn 1.0: layer 1 out of range")) fail_msg("message: %s", out);
    free(out);
    rc = run_bbsim(&out, "analyze %s --ckpt 7", dir);
    assert_int_equal(rc, 2);
    free(out);
    remove_tempdir(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_head_is_zero_wo), cmocka_unit_test(test_no_mlp_is_zero_w2),
        cmocka_unit_test(test_loss_matches_training), cmocka_unit_test(test_thread_determinism),
        cmocka_unit_test(test_intervention_metrics), cmocka_unit_test(test_intervention_flags),
        cmocka_unit_test(test_simple_model),         cmocka_unit_test(test_pick_sequences),
        cmocka_unit_test(test_trained_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
