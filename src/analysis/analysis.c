/* The analysis drivers (include/bbsim/analysis.h): the evaluation batch is cut into
 * fixed chunks, each chunk is forwarded on one thread with its own Workspace and reduced
 * into its own accumulators, and the accumulators are merged in chunk order, so every
 * number is the same for any thread count. Also the TSV writers and the parser of the
 * intervention flags. */
#include "bbsim/analysis.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/blas.h"
#include "bbsim/tsv.h"

void analysis_config_default(AnalysisConfig *c) {
    c->chunk = 8;
    c->sink_key = 0;
    c->sink_eps = 0.3;
    c->tau_sink = 0.9;
    c->tau_loss = 0.01;
}

/* ------------------------------------------------------------ batch, shape */

void analysis_batch(EvalBatch *eb, const Task *t, int B, const unsigned char *token_set) {
    const int T = t->cfg.seq;
    memset(eb, 0, sizeof *eb);
    eb->B = B;
    eb->T = T;
    eb->inputs = bb_malloc((size_t)B * T * sizeof(int));
    eb->targets = bb_malloc((size_t)B * T * sizeof(int));
    eb->dom = bb_malloc((size_t)B * T);
    task_eval_batch(t, B, eb->inputs, eb->targets);
    if (token_set) {
        eb->token_set = bb_malloc((size_t)t->V);
        memcpy(eb->token_set, token_set, (size_t)t->V);
    }
    metrics_domains(t, eb->inputs, B, T, eb->token_set, eb->dom);
}

void analysis_batch_free(EvalBatch *eb) {
    free(eb->inputs);
    free(eb->targets);
    free(eb->dom);
    free(eb->token_set);
    memset(eb, 0, sizeof *eb);
}

static int is_simple(const Model *m) { return m->cfg.kind == MODEL_SIMPLE; }
int analysis_layers(const Model *m) { return is_simple(m) ? 1 : m->cfg.L; }
int analysis_heads(const Model *m) { return is_simple(m) ? 1 : m->cfg.H; }
int analysis_has_resid(const Model *m) { return !is_simple(m); }

/* ------------------------------------------------------------ collection */

typedef struct ChunkAcc {
    RiskAcc risk;
    HeadAcc *head;               /* (L*H) */
    ResidAcc resid[BB_MAXL];
} ChunkAcc;

/* Value norms of the simplified model: v_0 = Wo b (ws->s_v0), v_j = w[x_j] e_{x_j}. */
static void simple_values(HeadAcc *a, const Model *m, const Workspace *ws, const int *inputs, int B, int T,
                          double *norms) {
    const double v0 = metrics_norm(ws->s_v0, m->cfg.V);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++) {
            double nrm = j == 0 ? v0 : fabs((double)m->p.s_value[inputs[b * T + j]]);
            if (norms) norms[b * T + j] = nrm;
            if (a) metrics_value_add(a, j, nrm);
        }
}

static void chunk_run(ChunkAcc *acc, const Model *m, const Task *t, const EvalBatch *eb, int b0, int nb,
                      const Intervention *iv, const AnalysisConfig *ac, int what, Workspace *ws, float *scratch,
                      double *pscratch) {
    const int T = eb->T, V = m->cfg.V, C = m->cfg.C, L = analysis_layers(m), H = analysis_heads(m);
    const int *in = eb->inputs + (size_t)b0 * T, *tg = eb->targets + (size_t)b0 * T;
    const unsigned char *dom = eb->dom + (size_t)b0 * T;
    model_forward(m, ws, in, tg, nb, iv);
    metrics_risk_accumulate(&acc->risk, t, in, tg, ws->logits, dom, nb, T, V, pscratch);
    if (what != ANALYSIS_ALL) return;
    for (int l = 0; l < L; l++) {
        if (!model_has_attn(&m->cfg, l)) continue;
        for (int h = 0; h < H; h++) {
            HeadAcc *ha = &acc->head[l * H + h];
            for (int b = 0; b < nb; b++) {
                const size_t slab = ((size_t)b * H + h) * T; /* (B,H,T,...) */
                metrics_head_attention(ha, ws->att[l] + slab * T, ws->att_slot[l] ? ws->att_slot[l] + slab : NULL,
                                       ws->preatt[l] + slab * T, in + (size_t)b * T, dom + (size_t)b * T, T,
                                       ac->sink_key, ac->sink_eps);
            }
            if (is_simple(m)) simple_values(ha, m, ws, in, nb, T, NULL);
            else metrics_head_values_gemm(ha, m->p.wo[l], ws->qkv[l], nb, T, C, H, h, scratch, NULL);
        }
    }
    if (analysis_has_resid(m))
        for (int l = 0; l < L; l++)
            for (int b = 0; b < nb; b++)
                metrics_resid(&acc->resid[l], ws->resid[l + 1] + (size_t)b * T * C, T, C, NULL);
}

void analysis_collect(Analysis *out, const Model *m, const Task *t, const EvalBatch *eb, const Intervention *iv,
                      const AnalysisConfig *ac, int what, int threads) {
    const int B = eb->B, T = eb->T, V = m->cfg.V, L = analysis_layers(m), H = analysis_heads(m);
    BB_CHECK(B >= 1 && T == t->cfg.seq && ac->chunk >= 1 && ac->sink_key >= 0 && ac->sink_key < T);
    const int Bc = ac->chunk < B ? ac->chunk : B, nchunk = (B + Bc - 1) / Bc;
    const int nt = threads < 1 ? 1 : threads < nchunk ? threads : nchunk;

    ChunkAcc *acc = bb_calloc((size_t)nchunk, sizeof *acc);
    for (int c = 0; c < nchunk; c++) {
        acc[c].head = bb_calloc((size_t)L * H, sizeof *acc[c].head);
        for (int k = 0; k < L * H; k++) metrics_head_init(&acc[c].head[k], V, T);
    }
    /* each thread runs single-threaded GEMMs on its chunks (callers inside an outer
     * parallel region pass threads = 1 and leave the BLAS setting alone) */
    const int blas_saved = blas_get_threads();
    if (nt > 1) blas_set_threads(1);
    Workspace **ws = bb_calloc((size_t)nt, sizeof *ws);
    float **scratch = bb_calloc((size_t)nt, sizeof *scratch);
    double **pscratch = bb_calloc((size_t)nt, sizeof *pscratch);
    for (int k = 0; k < nt; k++) {
        ws[k] = workspace_alloc(m, Bc, T);
        if (!is_simple(m)) scratch[k] = bb_malloc((size_t)Bc * T * m->cfg.C * sizeof(float));
        pscratch[k] = bb_malloc((size_t)V * sizeof(double));
    }
    /* chunks are independent; each writes only acc[c] and its thread's buffers */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int c = 0; c < nchunk; c++) {
        const int k = omp_get_thread_num(), b0 = c * Bc, nb = b0 + Bc <= B ? Bc : B - b0;
        chunk_run(&acc[c], m, t, eb, b0, nb, iv, ac, what, ws[k], scratch[k], pscratch[k]);
    }
    for (int k = 0; k < nt; k++) {
        workspace_free(ws[k]);
        free(scratch[k]);
        free(pscratch[k]);
    }
    free(ws);
    free(scratch);
    free(pscratch);
    if (nt > 1) blas_set_threads(blas_saved);

    /* merge in chunk order */
    for (int c = 1; c < nchunk; c++) {
        metrics_risk_merge(&acc[0].risk, &acc[c].risk);
        for (int k = 0; k < L * H; k++) metrics_head_merge(&acc[0].head[k], &acc[c].head[k], V);
        for (int l = 0; l < L; l++) metrics_resid_merge(&acc[0].resid[l], &acc[c].resid[l]);
    }

    memset(out, 0, sizeof *out);
    out->L = L;
    out->H = H;
    out->V = V;
    out->B = B;
    out->T = T;
    metrics_risks(&acc[0].risk, &out->risks);
    out->dlogit_type = bb_calloc((size_t)L * H * V, sizeof *out->dlogit_type);
    out->dlogit_count = bb_calloc((size_t)L * H * V, sizeof *out->dlogit_count);
    out->key_profile = bb_calloc((size_t)L * H * DOM_N * T, sizeof *out->key_profile);
    out->type_share = bb_calloc((size_t)L * H * V, sizeof *out->type_share);
    out->type_argmax = bb_calloc((size_t)L * H * V, sizeof *out->type_argmax);
    out->type_rows = bb_calloc((size_t)L * H * V, sizeof *out->type_rows);
    out->sink_rate = NAN;
    out->sink_chance = metrics_sink_chance(T);
    for (int l = 0; l < L; l++) out->resid[l] = (ResidMetrics){NAN, NAN, NAN, NAN};
    if (what == ANALYSIS_ALL) {
        HeadAcc *present = bb_calloc((size_t)L * H, sizeof *present);
        int np = 0;
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                const HeadAcc *ha = &acc[0].head[l * H + h];
                metrics_head_finish(ha, t->is_trigger, V, &out->head[l * H + h],
                                    out->dlogit_type + (size_t)(l * H + h) * V,
                                    out->key_profile + (size_t)(l * H + h) * DOM_N * T);
                memcpy(out->dlogit_count + (size_t)(l * H + h) * V, ha->dlogit_n, (size_t)V * sizeof(long));
                metrics_head_types(ha, out->type_share + (size_t)(l * H + h) * V,
                                   out->type_argmax + (size_t)(l * H + h) * V, out->type_rows + (size_t)(l * H + h) * V);
                if (model_has_attn(&m->cfg, l)) present[np++] = *ha; /* shallow copy: only counts are read */
            }
        out->sink_rate = metrics_sink_rate(present, np);
        free(present);
        if (analysis_has_resid(m))
            for (int l = 0; l < L; l++) metrics_resid_finish(&acc[0].resid[l], &out->resid[l]);
    }
    for (int c = 0; c < nchunk; c++) {
        for (int k = 0; k < L * H; k++) metrics_head_free(&acc[c].head[k]);
        free(acc[c].head);
    }
    free(acc);
}

int analysis_check_risk(const Analysis *a, const char *where, long step, BbError *err) {
    const double r = a->risks.risk[DOM_ALL], loss = a->risks.loss[DOM_ALL];
    if (isfinite(r) && isfinite(loss)) return BB_OK;
    char value[32];
    bb_format_num(value, sizeof value, isfinite(r) ? loss : r);
    return bb_fail(err, BB_ENUM, "%s: checkpoint step %ld gives a non-finite risk (%s) on the evaluation batch: its "
                   "weights overflow the forward pass (the run diverged)", where, step, value);
}

void analysis_free(Analysis *a) {
    free(a->dlogit_type);
    free(a->dlogit_count);
    free(a->key_profile);
    free(a->type_share);
    free(a->type_argmax);
    free(a->type_rows);
    a->type_share = a->type_argmax = NULL;
    a->type_rows = NULL;
    a->dlogit_type = NULL;
    a->dlogit_count = NULL;
    a->key_profile = NULL;
}

void analysis_head_removal(Risks *removed, const Model *m, const Task *t, const EvalBatch *eb,
                           const AnalysisConfig *ac, int threads) {
    const int L = analysis_layers(m), H = analysis_heads(m);
    for (int l = 0; l < L; l++) {
        if (!model_has_attn(&m->cfg, l)) continue;
        for (int h = 0; h < H; h++) {
            Intervention iv;
            memset(&iv, 0, sizeof iv);
            iv.is_trigger = t->is_trigger;
            iv.zero_head[l][h] = 1;
            Analysis a;
            analysis_collect(&a, m, t, eb, &iv, ac, ANALYSIS_RISKS, threads);
            removed[l * H + h] = a.risks;
            analysis_free(&a);
        }
    }
}

/* ------------------------------------------------------------ one sequence */

void analysis_sequence(SeqDump *d, const Model *m, const EvalBatch *eb, int b, const Intervention *iv) {
    const int T = eb->T, L = analysis_layers(m), H = analysis_heads(m), C = m->cfg.C;
    BB_CHECK(b >= 0 && b < eb->B);
    memset(d, 0, sizeof *d);
    d->L = L;
    d->H = H;
    d->T = T;
    d->index = b;
    const int *in = eb->inputs + (size_t)b * T;
    d->tokens = bb_malloc((size_t)T * sizeof(int));
    memcpy(d->tokens, in, (size_t)T * sizeof(int));
    const size_t maps = (size_t)L * H * T * T;
    d->att = bb_calloc(maps, sizeof *d->att);
    d->share = bb_calloc(maps, sizeof *d->share);
    d->value_norm = bb_calloc((size_t)L * H * T, sizeof *d->value_norm);
    Workspace *ws = workspace_alloc(m, 1, T);
    model_forward(m, ws, in, eb->targets + (size_t)b * T, 1, iv);
    for (int l = 0; l < L; l++) {
        if (!model_has_attn(&m->cfg, l)) {
            for (size_t k = 0; k < (size_t)H * T; k++) d->value_norm[(size_t)l * H * T + k] = NAN;
            continue;
        }
        for (int h = 0; h < H; h++) {
            const size_t slab = (size_t)h * T, out = ((size_t)l * H + h) * T;
            const float *att = ws->att[l] + slab * T, *slot = ws->att_slot[l] ? ws->att_slot[l] + slab : NULL;
            memcpy(d->att + out * T, att, (size_t)T * T * sizeof(float));
            for (int i = 0; i < T; i++)
                for (int j = 0; j <= i; j++)
                    d->share[(out + i) * T + j] = metrics_attn_share(att + (size_t)i * T, slot ? slot[i] : 0.0f, i, j);
            if (is_simple(m)) simple_values(NULL, m, ws, in, 1, T, d->value_norm + out);
            else metrics_head_values(NULL, m->p.wo[l], ws->qkv[l], T, C, H, h, d->value_norm + out);
        }
    }
    if (analysis_has_resid(m)) {
        d->resid_norm = bb_calloc((size_t)L * T, sizeof *d->resid_norm);
        for (int l = 0; l < L; l++) metrics_resid(NULL, ws->resid[l + 1], T, C, d->resid_norm + (size_t)l * T);
    }
    workspace_free(ws);
}

void analysis_sequence_free(SeqDump *d) {
    free(d->tokens);
    free(d->att);
    free(d->share);
    free(d->value_norm);
    free(d->resid_norm);
    memset(d, 0, sizeof *d);
}

void analysis_pick_sequences(const EvalBatch *eb, int *active, int *dormant) {
    const int T = eb->T, W = T < 32 ? T : 32;
    int best_count = -1, best_first = T + 1, latest = -1;
    *active = *dormant = 0;
    for (int b = 0; b < eb->B; b++) {
        const unsigned char *dom = eb->dom + (size_t)b * T;
        int first = T, count = 0;
        for (int i = 0; i < T; i++)
            if (dom[i] & DOM_BIT(DOM_TRIGGER)) {
                if (first == T) first = i;
                if (i < W) count++;
            }
        if (count > best_count || (count == best_count && first < best_first)) {
            best_count = count;
            best_first = first;
            *active = b;
        }
        if (first > latest) {
            latest = first;
            *dormant = b;
        }
    }
}

/* ------------------------------------------------------------ metric table */

static void entry(MetricEntry *out, int cap, int *n, int layer, int head, const char *name, double value) {
    if (*n < cap) {
        out[*n].layer = layer;
        out[*n].head = head;
        snprintf(out[*n].name, sizeof out[*n].name, "%s", name);
        out[*n].value = value;
    }
    (*n)++;
}

int analysis_metric_entries(const Analysis *a, const Model *m, int has_tokens, MetricEntry *out, int cap) {
    int n = 0;
    const Risks *r = &a->risks;
    entry(out, cap, &n, -1, -1, "loss", r->loss[DOM_ALL]);
    entry(out, cap, &n, -1, -1, "risk", r->risk[DOM_ALL]);
    entry(out, cap, &n, -1, -1, "oracle_risk", r->oracle[DOM_ALL]);
    entry(out, cap, &n, -1, -1, "excess", r->excess[DOM_ALL]);
    entry(out, cap, &n, -1, -1, "backcopy_risk", r->risk[DOM_TRIGGER]);
    entry(out, cap, &n, -1, -1, "backcopy_oracle", r->oracle[DOM_TRIGGER]);
    entry(out, cap, &n, -1, -1, "backcopy_excess", r->excess[DOM_TRIGGER]);
    entry(out, cap, &n, -1, -1, "bigram_risk", r->risk[DOM_NONTRIGGER]);
    entry(out, cap, &n, -1, -1, "bigram_oracle", r->oracle[DOM_NONTRIGGER]);
    entry(out, cap, &n, -1, -1, "bigram_excess", r->excess[DOM_NONTRIGGER]);
    if (has_tokens) {
        entry(out, cap, &n, -1, -1, "tokens_risk", r->risk[DOM_TOKENS]);
        entry(out, cap, &n, -1, -1, "tokens_excess", r->excess[DOM_TOKENS]);
    }
    entry(out, cap, &n, -1, -1, "trigger_frac", r->n[DOM_ALL] ? (double)r->n[DOM_TRIGGER] / r->n[DOM_ALL] : NAN);
    entry(out, cap, &n, -1, -1, "sink_rate", a->sink_rate);
    entry(out, cap, &n, -1, -1, "sink_chance", 100.0 * a->sink_chance);
    for (int l = 0; l < a->L; l++) {
        if (analysis_has_resid(m)) {
            entry(out, cap, &n, l, -1, "resid_bos", a->resid[l].bos);
            entry(out, cap, &n, l, -1, "resid_other", a->resid[l].other);
            entry(out, cap, &n, l, -1, "resid_gap", a->resid[l].gap);
            entry(out, cap, &n, l, -1, "resid_ratio", a->resid[l].ratio);
        }
        if (!model_has_attn(&m->cfg, l)) continue;
        for (int h = 0; h < a->H; h++) {
            const HeadMetrics *hm = &a->head[l * a->H + h];
            entry(out, cap, &n, l, h, "attn_bos", hm->attn_bos[DOM_NONTRIGGER]);
            entry(out, cap, &n, l, h, "attn_bos_trigger", hm->attn_bos[DOM_TRIGGER]);
            entry(out, cap, &n, l, h, "attn_bos_all", hm->attn_bos[DOM_ALL]);
            if (has_tokens) entry(out, cap, &n, l, h, "attn_bos_tokens", hm->attn_bos[DOM_TOKENS]);
            entry(out, cap, &n, l, h, "attn_prev", hm->attn_prev);
            entry(out, cap, &n, l, h, "attn_mass", hm->attn_mass[DOM_NONTRIGGER]);
            entry(out, cap, &n, l, h, "attn_mass_trigger", hm->attn_mass[DOM_TRIGGER]);
            entry(out, cap, &n, l, h, "attn_slot", hm->attn_slot[DOM_NONTRIGGER]);
            entry(out, cap, &n, l, h, "attn_slot_trigger", hm->attn_slot[DOM_TRIGGER]);
            entry(out, cap, &n, l, h, "dlogit_mean", hm->dlogit_mean);
            entry(out, cap, &n, l, h, "dlogit_p10", hm->dlogit_p10);
            entry(out, cap, &n, l, h, "dlogit_p90", hm->dlogit_p90);
            entry(out, cap, &n, l, h, "dlogit_types", hm->dlogit_ntypes);
            entry(out, cap, &n, l, h, "val_bos", hm->val_bos);
            entry(out, cap, &n, l, h, "val_other", hm->val_other);
            entry(out, cap, &n, l, h, "val_ratio", hm->val_ratio);
            entry(out, cap, &n, l, h, "importance", hm->importance);
            entry(out, cap, &n, l, h, "sink_frac", hm->sink_frac);
            entry(out, cap, &n, l, h, "top_key", hm->top_key);
            entry(out, cap, &n, l, h, "top_key_share", hm->top_key_share);
            entry(out, cap, &n, l, h, "sink_type", hm->sink_type);
            entry(out, cap, &n, l, h, "sink_type_share", hm->sink_type_share);
            entry(out, cap, &n, l, h, "sink_type_rows", (double)hm->sink_type_rows);
            entry(out, cap, &n, l, h, "sink_type_argmax", hm->sink_type_argmax);
        }
    }
    return n;
}

/* ------------------------------------------------------------ writers */

void analysis_header(FILE *f, const Run *run, long step, int eval_batch, const AnalysisConfig *ac) {
    fprintf(f, "# run %s\n", run->cfg.out);
    if (step >= 0) fprintf(f, "# checkpoint %ld\n", step);
    fprintf(f, "# eval_batch %d\n", eval_batch);
    if (run_eval_overridden(run))
        fprintf(f, "# eval_task bos %d packing %d (the run trained with bos %d packing %d: the config lines below)\n",
                run->task.cfg.bos, run->task.cfg.packing, run->cfg.task.bos, run->cfg.task.packing);
    fprintf(f, "# analysis chunk %d sink_key %d sink_eps ", ac->chunk, ac->sink_key);
    bb_put_num(f, ac->sink_eps); /* the thresholds exactly, as config.txt writes numbers */
    fputs(" tau_sink ", f);
    bb_put_num(f, ac->tau_sink);
    fputs(" tau_loss ", f);
    bb_put_num(f, ac->tau_loss);
    fputc('\n', f);
    analysis_config_lines(f, run);
}

void analysis_config_lines(FILE *f, const Run *run) {
    /* the experiment only (train_config_write, runtime = 0): out, resume, threads and quiet
     * belong to the process that trained, which the checkpoint does not record; this
     * process's threads are the provenance's "# threads" line */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    BB_CHECK(mem != NULL);
    train_config_write(mem, &run->cfg, 0);
    BB_CHECK(fclose(mem) == 0);
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        BB_CHECK(nl != NULL);
        fprintf(f, "# config %.*s\n", (int)(nl - line), line);
    }
    free(text);
}

/* tsv_begin DIR/NAME with its columns, then the analysis header and the --tokens set. */
static int table_open(TsvWriter *w, const char *dir, const char *name, const char *columns, const Run *run,
                      long step, const EvalBatch *eb, const AnalysisConfig *ac, BbError *err) {
    int rc = tsv_begin(w, dir, name, columns, err);
    if (rc) return rc;
    analysis_header(w->f, run, step, eb->B, ac);
    if (eb->token_set) {
        fputs("# tokens", w->f);
        for (int v = 0, k = 0; v < run->task.V; v++)
            if (eb->token_set[v]) fprintf(w->f, "%s%d", k++ ? "," : " ", v);
        fputc('\n', w->f);
    }
    return BB_OK;
}

int analysis_write_risks(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                         const Analysis *a, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "risks.tsv", "domain\tpositions\trisk\toracle_risk\texcess\tloss", run, run->step,
                        eb, ac, err);
    if (rc) return rc;
    FILE *f = w.f;
    fputs("# risk = mean CE(p*, model) over the domain's positions; oracle_risk = mean entropy of p*;\n"
          "# trigger = backcopy positions, nontrigger = bigram positions (position 0 included);\n"
          "# loss = mean -log q(target), the training loss on these data\n",
          f);
    for (int d = 0; d < DOM_N; d++) {
        if (d == DOM_TOKENS && !eb->token_set) continue;
        fprintf(f, "%s\t%ld\t", metrics_domain_names[d], a->risks.n[d]);
        bb_put_num(f, a->risks.risk[d]);
        fputc('\t', f);
        bb_put_num(f, a->risks.oracle[d]);
        fputc('\t', f);
        bb_put_num(f, a->risks.excess[d]);
        fputc('\t', f);
        bb_put_num(f, a->risks.loss[d]);
        fputc('\n', f);
    }
    return tsv_commit(&w, err);
}

#define MAX_ENTRIES (32 + BB_MAXL * (4 + BB_MAXH * 28))

int analysis_write_metrics(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                           const Analysis *a, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "metrics.tsv", "layer\thead\tmetric\tvalue", run, run->step, eb, ac, err);
    if (rc) return rc;
    FILE *f = w.f;
    fputs("# layer -1: the whole model; head -1: the residual stream after the layer.\n"
          "# attn_bos = Attn<s> (share on key 0) over non-trigger positions; attn_prev = share on key i-1 over\n"
          "# trigger positions; dlogit_* = s_i0 - mean_{1<=j<i} s_ij per token type, mean/10%/90% over\n"
          "# non-trigger types; val_bos = ||Wo_h v_0||, val_other = mean ||Wo_h v_j|| (j >= 1);\n"
          "# importance = alpha_k; sink_frac = share of sequences with alpha_k > eps; sink_rate, sink_chance in %;\n"
          "# top_key = key position with the largest mean share over non-trigger rows, top_key_share that share;\n"
          "# sink_type = the token type X (id; its label in dlogit.tsv) whose first token in the sequence gets the\n"
          "# largest mean share over the non-trigger rows that can see it (rows before it left out; candidates: types\n"
          "# seen by >= 10% of the non-trigger rows), sink_type_share that share, sink_type_rows those rows,\n"
          "# sink_type_argmax the share of those rows whose largest-share key is a token of type X\n",
          f);
    MetricEntry *e = bb_malloc(MAX_ENTRIES * sizeof *e);
    int n = analysis_metric_entries(a, &run->model, eb->token_set != NULL, e, MAX_ENTRIES);
    BB_CHECK(n <= MAX_ENTRIES);
    for (int k = 0; k < n; k++) {
        fprintf(f, "%d\t%d\t%s\t", e[k].layer, e[k].head, e[k].name);
        bb_put_num(f, e[k].value);
        fputc('\n', f);
    }
    free(e);
    return tsv_commit(&w, err);
}

int analysis_write_heads(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                         const Analysis *a, const Risks *removed, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "heads.tsv",
                        "layer\thead\tdomain\tpositions\tattn_bos\tattn_prev\trisk_full\trisk_removed\tdelta_risk\tlabel",
                        run, run->step, eb, ac, err);
    if (rc) return rc;
    FILE *f = w.f;
    fprintf(f,
            "# dormant: attn_bos > %g and |delta_risk| < %g; active: attn_bos < %g and delta_risk > %g; else mixed.\n"
            "# attn_bos = mean share on key 0 over the domain's positions; delta_risk = the domain's risk with the\n"
            "# head's output zeroed - the full model's; attn_prev = share on key i-1 over trigger positions\n",
            ac->tau_sink, ac->tau_loss, METRICS_ACTIVE_MAX_BOS, ac->tau_loss);
    const int doms[3] = {DOM_TRIGGER, DOM_NONTRIGGER, DOM_TOKENS};
    for (int l = 0; l < a->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < a->H; h++) {
            const HeadMetrics *hm = &a->head[l * a->H + h];
            const Risks *rm = &removed[l * a->H + h];
            for (int k = 0; k < 3; k++) {
                const int d = doms[k];
                if (d == DOM_TOKENS && !eb->token_set) continue;
                double delta = rm->risk[d] - a->risks.risk[d];
                HeadLabel lab = metrics_classify(hm->attn_bos[d], delta, ac->tau_sink, ac->tau_loss);
                fprintf(f, "%d\t%d\t%s\t%ld\t", l, h, metrics_domain_names[d], hm->n[d]);
                bb_put_num(f, hm->attn_bos[d]);
                fputc('\t', f);
                bb_put_num(f, hm->attn_prev);
                fputc('\t', f);
                bb_put_num(f, a->risks.risk[d]);
                fputc('\t', f);
                bb_put_num(f, rm->risk[d]);
                fputc('\t', f);
                bb_put_num(f, delta);
                fprintf(f, "\t%s\n", head_label_names[lab]);
            }
        }
    }
    return tsv_commit(&w, err);
}

int analysis_write_dlogit(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                          const Analysis *a, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "dlogit.tsv", "layer\thead\ttoken\ttrigger\tpositions\tdlogit\tlabel", run,
                        run->step, eb, ac, err);
    if (rc) return rc;
    FILE *f = w.f;
    fputs("# dlogit<s> = s_i0 - mean_{1<=j<=i-1} s_ij at positions i >= 2, averaged per input token type;\n"
          "# label = the token's label, escaped (docs/method.md#token-labels)\n",
          f);
    for (int l = 0; l < a->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < a->H; h++)
            for (int v = 0; v < a->V; v++) {
                const size_t k = (size_t)(l * a->H + h) * a->V + v;
                if (!a->dlogit_count[k]) continue;
                fprintf(f, "%d\t%d\t%d\t%d\t%ld\t", l, h, v, run->task.is_trigger[v], a->dlogit_count[k]);
                bb_put_num(f, a->dlogit_type[k]);
                fprintf(f, "\t%s\n", task_label(&run->task, v));
            }
    }
    return tsv_commit(&w, err);
}

int analysis_write_keys(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                        const Analysis *a, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "keys.tsv",
                        eb->token_set ? "layer\thead\tkey\tshare_all\tshare_trigger\tshare_nontrigger\tshare_tokens"
                                      : "layer\thead\tkey\tshare_all\tshare_trigger\tshare_nontrigger",
                        run, run->step, eb, ac, err);
    if (rc) return rc;
    FILE *f = w.f;
    fputs("# mean share on key position j over the domain's query rows (rows i < j count as 0)\n", f);
    const int T = a->T, ndom = eb->token_set ? DOM_N : DOM_N - 1;
    for (int l = 0; l < a->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < a->H; h++) {
            const double *kp = a->key_profile + (size_t)(l * a->H + h) * DOM_N * T;
            for (int j = 0; j < T; j++) {
                fprintf(f, "%d\t%d\t%d", l, h, j);
                for (int d = 0; d < ndom; d++) {
                    fputc('\t', f);
                    bb_put_num(f, kp[(size_t)d * T + j]);
                }
                fputc('\n', f);
            }
        }
    }
    return tsv_commit(&w, err);
}

int analysis_write_types(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                         const Analysis *a, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "types.tsv", "layer\thead\ttoken\ttrigger\trows\tshare\targmax\tsink\tlabel", run,
                        run->step, eb, ac, err);
    if (rc) return rc;
    FILE *f = w.f;
    fputs("# the sink on a token type v (docs/method.md): over the non-trigger rows i >= f_v (f_v = the first\n"
          "# position of type v in the sequence; earlier rows left out), rows = their number, share = their mean\n"
          "# share on key f_v, argmax = the fraction of them whose largest-share key is a token of type v;\n"
          "# sink = 1 on the head's sink_type (metrics.tsv); label escaped (docs/method.md#token-labels)\n",
          f);
    for (int l = 0; l < a->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < a->H; h++)
            for (int v = 0; v < a->V; v++) {
                const size_t k = (size_t)(l * a->H + h) * a->V + v;
                if (!a->type_rows[k]) continue;
                fprintf(f, "%d\t%d\t%d\t%d\t%ld\t", l, h, v, run->task.is_trigger[v], a->type_rows[k]);
                bb_put_num(f, a->type_share[k]);
                fputc('\t', f);
                bb_put_num(f, a->type_argmax[k]);
                fprintf(f, "\t%d\t%s\n", a->head[l * a->H + h].sink_type == v, task_label(&run->task, v));
            }
    }
    return tsv_commit(&w, err);
}

int analysis_write_sink(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                        const Analysis *a, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "sink.tsv", "key\teps\tsink_rate\tchance\theads\tsequences", run, run->step, eb, ac,
                        err);
    if (rc) return rc;
    FILE *f = w.f;
    int heads = 0;
    for (int l = 0; l < a->L; l++) heads += model_has_attn(&run->model.cfg, l) ? a->H : 0;
    fputs("# sink_rate = Sink_k^eps: % of (layer, head) pairs with alpha_k > eps, averaged over sequences;\n"
          "# alpha_k = (1/(N-k)) sum_{i>=k} share_ik; chance = 100 H_N / N (uniform causal attention, k = 0)\n",
          f);
    fprintf(f, "%d\t", ac->sink_key);
    bb_put_num(f, ac->sink_eps);
    fputc('\t', f);
    bb_put_num(f, a->sink_rate);
    fputc('\t', f);
    bb_put_num(f, 100.0 * a->sink_chance);
    fprintf(f, "\t%d\t%d\n", heads, a->B);
    return tsv_commit(&w, err);
}

int analysis_write_sequence(const char *dir, const char *name, const Run *run, const EvalBatch *eb,
                            const AnalysisConfig *ac, const SeqDump *d, BbError *err) {
    const int T = d->T, H = d->H;
    char fname[256];
    TsvWriter w;
    int rc;
    for (int l = 0; l < d->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < H; h++) {
            snprintf(fname, sizeof fname, "attention_%s_l%dh%d.tsv", name, l, h);
            if ((rc = table_open(&w, dir, fname, "i\tj\tweight\tshare", run, run->step, eb, ac, err))) return rc;
            fprintf(w.f, "# sequence %d of the evaluation batch; layer %d head %d\n", d->index, l, h);
            fputs("# weight = a_ij; share = |a_ij| / (sum_j' |a_ij'| + |slot_i|); keys j <= i\n", w.f);
            const size_t base = ((size_t)l * H + h) * T * T;
            for (int i = 0; i < T; i++)
                for (int j = 0; j <= i; j++) {
                    fprintf(w.f, "%d\t%d\t", i, j);
                    bb_put_float(w.f, d->att[base + (size_t)i * T + j]);
                    fputc('\t', w.f);
                    bb_put_num(w.f, d->share[base + (size_t)i * T + j]);
                    fputc('\n', w.f);
                }
            if ((rc = tsv_commit(&w, err))) return rc;
        }
    }
    snprintf(fname, sizeof fname, "values_%s.tsv", name);
    if ((rc = table_open(&w, dir, fname, "position\ttoken\ttrigger\tlayer\thead\tvalue_norm\tlabel", run, run->step,
                         eb, ac, err)))
        return rc;
    fprintf(w.f, "# sequence %d of the evaluation batch; value_norm = ||Wo_h v_j||; label escaped "
                 "(docs/method.md#token-labels)\n",
            d->index);
    for (int l = 0; l < d->L; l++) {
        if (!model_has_attn(&run->model.cfg, l)) continue;
        for (int h = 0; h < H; h++)
            for (int j = 0; j < T; j++) {
                int x = d->tokens[j];
                fprintf(w.f, "%d\t%d\t%d\t%d\t%d\t", j, x, run->task.is_trigger[x], l, h);
                bb_put_num(w.f, d->value_norm[((size_t)l * H + h) * T + j]);
                fprintf(w.f, "\t%s\n", task_label(&run->task, x));
            }
    }
    if ((rc = tsv_commit(&w, err))) return rc;
    if (!d->resid_norm) return BB_OK;
    snprintf(fname, sizeof fname, "norms_%s.tsv", name);
    if ((rc = table_open(&w, dir, fname, "position\ttoken\ttrigger\tlayer\tresid_norm\tlabel", run, run->step, eb, ac,
                         err)))
        return rc;
    fprintf(w.f,
            "# sequence %d of the evaluation batch; resid_norm = ||h_i|| after layer l (before LN_f); label escaped "
            "(docs/method.md#token-labels)\n",
            d->index);
    for (int l = 0; l < d->L; l++)
        for (int i = 0; i < T; i++) {
            int x = d->tokens[i];
            fprintf(w.f, "%d\t%d\t%d\t%d\t", i, x, run->task.is_trigger[x], l);
            bb_put_num(w.f, d->resid_norm[(size_t)l * T + i]);
            fprintf(w.f, "\t%s\n", task_label(&run->task, x));
        }
    return tsv_commit(&w, err);
}

int analysis_write_dynamics(const char *dir, const Run *run, const EvalBatch *eb, const AnalysisConfig *ac,
                            const long *steps, const Analysis *a, int n, BbError *err) {
    MetricEntry *e = bb_malloc(MAX_ENTRIES * sizeof *e);
    const int has_tokens = eb->token_set != NULL;
    int ne = analysis_metric_entries(&a[0], &run->model, has_tokens, e, MAX_ENTRIES);
    BB_CHECK(ne <= MAX_ENTRIES);
    /* the column names: step, then one per metric entry */
    char *columns = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&columns, &len);
    BB_CHECK(mem != NULL);
    fputs("step", mem);
    for (int k = 0; k < ne; k++) {
        if (e[k].layer < 0) fprintf(mem, "\t%s", e[k].name);
        else if (e[k].head < 0) fprintf(mem, "\tl%d_%s", e[k].layer, e[k].name);
        else fprintf(mem, "\tl%dh%d_%s", e[k].layer, e[k].head, e[k].name);
    }
    BB_CHECK(fclose(mem) == 0);
    TsvWriter w;
    int rc = table_open(&w, dir, "dynamics.tsv", columns, run, -1, eb, ac, err);
    free(columns);
    if (rc) {
        free(e);
        return rc;
    }
    FILE *f = w.f;
    fputs("# one row per checkpoint; l<L>_*: residual stream after layer L; l<L>h<H>_*: head H of layer L;\n"
          "# names as in metrics.tsv (attn_bos = Attn<s> over non-trigger positions)\n",
          f);
    for (int r = 0; r < n; r++) {
        int nr = analysis_metric_entries(&a[r], &run->model, has_tokens, e, MAX_ENTRIES);
        BB_CHECK(nr == ne);
        fprintf(f, "%ld", steps[r]);
        for (int k = 0; k < nr; k++) {
            fputc('\t', f);
            bb_put_num(f, e[k].value);
        }
        fputc('\n', f);
    }
    free(e);
    return tsv_commit(&w, err);
}

/* ------------------------------------------------------------ interventions */

static int parse_index(const char **s, int *v) {
    char *end;
    long x = strtol(*s, &end, 10);
    if (end == *s || x < 0 || x > 1000000) return -1;
    *v = (int)x;
    *s = end;
    return 0;
}

const InterventionInfo analysis_interventions[] = {
    [IV_NO_ATTN] = {"no-attn", 1, "zero the head's attention output"},
    [IV_NO_MLP] = {"no-mlp", 0, "drop the layer's MLP output"},
    [IV_NO_LAYER] = {"no-layer", 0, "both: the whole layer"},
    [IV_ZERO_BOS_VALUE] = {"zero-bos-value", 1, "v_0 := 0 for the head"},
    [IV_ZERO_BOS_RESIDUAL] = {"zero-bos-residual", 0, "h_0 := 0 after layer L"},
    [IV_ORACLE_ATTN] = {"oracle-attn", 1, "trigger rows one-hot on i-1, the others on key 0"},
    [IV_ALL_BOS] = {"all-bos", 1, "every row one-hot on key 0"},
    {NULL, 0, NULL},
};

int analysis_intervention_find(const char *flag) {
    for (int k = 0; k < ANALYSIS_NINTERVENTIONS; k++)
        if (!strcmp(flag, analysis_interventions[k].flag)) return k;
    return -1;
}

/* Layer l (and head h, -1 = all) exists and has what the intervention acts on. */
static int intervention_check(const Model *m, InterventionKind kind, const char *value, int l, int h,
                              BbError *err) {
    const char *flag = analysis_interventions[kind].flag;
    const int L = analysis_layers(m), H = analysis_heads(m);
    if (l >= L)
        return bb_fail(err, BB_EINPUT, "--%s %s: layer %d out of range (the model has %d layer%s: 0..%d)", flag,
                       value, l, L, L > 1 ? "s" : "", L - 1);
    if (h >= H)
        return bb_fail(err, BB_EINPUT, "--%s %s: head %d out of range (the model has %d head%s: 0..%d)", flag,
                       value, h, H, H > 1 ? "s" : "", H - 1);
    if (analysis_interventions[kind].per_head && !model_has_attn(&m->cfg, l))
        return bb_fail(err, BB_EINPUT, "--%s %s: layer %d has no attention (trained with --no-attn)", flag, value,
                       l);
    if (kind == IV_NO_MLP && !model_has_mlp(&m->cfg, l))
        return bb_fail(err, BB_EINPUT, "--no-mlp %s: layer %d has no MLP (trained with --no-mlp)", value, l);
    if (kind == IV_ZERO_BOS_RESIDUAL && !analysis_has_resid(m))
        return bb_fail(err, BB_EINPUT, "--zero-bos-residual: the simplified model has no residual stream");
    return BB_OK;
}

/* Mark layer l, head h (-1 = every head) in iv. */
static void intervention_mark(Intervention *iv, const Model *m, InterventionKind kind, int l, int h) {
    for (int hh = 0; hh < analysis_heads(m); hh++) {
        if (h >= 0 && hh != h) continue;
        switch (kind) {
        case IV_NO_ATTN: iv->zero_head[l][hh] = 1; break;
        case IV_ZERO_BOS_VALUE: iv->zero_bos_value[l][hh] = 1; break;
        case IV_ORACLE_ATTN: iv->oracle_attn[l][hh] = 1; break;
        case IV_ALL_BOS: iv->all_bos[l][hh] = 1; break;
        case IV_NO_LAYER:
            if (model_has_attn(&m->cfg, l)) iv->zero_head[l][hh] = 1;
            break;
        default: break;
        }
    }
    if (kind == IV_NO_MLP || (kind == IV_NO_LAYER && model_has_mlp(&m->cfg, l))) iv->no_mlp[l] = 1;
    if (kind == IV_ZERO_BOS_RESIDUAL) iv->zero_bos_resid[l] = 1;
}

int analysis_intervention_add(Intervention *iv, const Model *m, InterventionKind kind, const char *value,
                              BbError *err) {
    BB_CHECK(kind >= 0 && kind < ANALYSIS_NINTERVENTIONS);
    const InterventionInfo *info = &analysis_interventions[kind];
    const char *s = value;
    if (!*s) goto bad;
    while (*s) {
        int l, h = -1;
        if (parse_index(&s, &l)) goto bad;
        if (*s == '.') {
            if (!info->per_head) goto bad;
            s++;
            if (parse_index(&s, &h)) goto bad;
        }
        if (*s == ',') s++;
        else if (*s) goto bad;
        int rc = intervention_check(m, kind, value, l, h, err);
        if (rc) return rc;
        intervention_mark(iv, m, kind, l, h);
    }
    return BB_OK;
bad:
    return bb_fail(err, BB_EINPUT, "--%s '%s': expected %s (comma lists allowed)", info->flag, value,
                   info->per_head ? "L.H or L (every head of layer L)" : "a layer index L");
}
