/* The trained simplified model of docs/method.md#trained-simplified-model (claim C12): train `--model simple`
 * through the normal training code (AdamW and SGD), reload every checkpoint and read the
 * theory's quantities: the BOS logits a_v, the BOS value |Wo b|, Attn<s> and the risks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bbsim/analysis.h"
#include "bbsim/checkpoint.h"
#include "bbsim/model.h"
#include "bbsim/task.h"
#include "bbsim/theory.h"
#include "bbsim/run.h"
#include "bbsim/train.h"

void simple_config_default(SimpleConfig *c) {
    memset(c, 0, sizeof *c);
    c->steps = 3000;
    c->batch = 64;
    c->seq = 64;
    c->vbase = 0; /* the paper's table (its simplified model trains on the same task as the transformer) */
    c->lr_adamw = 0.03; /* the paper's simplified-model run */
    c->lr_sgd = 0.03;
    c->fit_decades = 1.0;
    c->eval_batch = 64;
    c->threads = 1;
    c->seed = 1;
}

static void train_config_for(const SimpleConfig *c, int use_sgd, const char *dir, TrainConfig *tc) {
    train_config_default(tc);
    /* the paper's character table, or (vbase > 0) a synthetic table of vbase tokens */
    tc->task.table = c->vbase ? TASK_TABLE_SYNTHETIC : TASK_TABLE_SHAKESPEARE;
    if (c->vbase) tc->task.vbase = c->vbase;
    tc->task.seq = c->seq;
    tc->task.data_seed = bb_seed_mix(c->seed, 0xda7a, 0);
    tc->task.eval_seed = bb_seed_mix(c->seed, 0xe7a1, 0);
    tc->task.eval_batch = c->eval_batch;
    tc->model.kind = MODEL_SIMPLE;
    tc->model.init_seed = bb_seed_mix(c->seed, 0x1417, 0);
    tc->optim.kind = use_sgd ? OPTIM_SGD : OPTIM_ADAMW;
    tc->optim.lr = use_sgd ? c->lr_sgd : c->lr_adamw;
    tc->steps = c->steps;
    tc->batch = c->batch;
    tc->chunks = 1; /* the simplified model's per-type tables are rebuilt per chunk: one chunk is fastest */
    tc->threads = c->threads;
    tc->quiet = 1;
    /* dense early (the sink forms in the first steps), then ~25 checkpoints per decade
     * (a_v is read against log t) */
    tc->ckpt_every = c->steps >= 1000 ? c->steps / 1000 : 1;
    tc->ckpt_dense = 20 * tc->ckpt_every;
    tc->ckpt_growth = 1.1;
    snprintf(tc->out, sizeof tc->out, "%s", dir);
}

/* The experiment part of a configuration as text (train_config_write, runtime = 0). */
static char *config_text(const TrainConfig *tc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    BB_CHECK(f != NULL);
    train_config_write(f, tc, 0);
    fclose(f);
    return buf;
}

/* A finished run with the same experiment in dir is reused; anything else there (a
 * different or unfinished run) is removed file by file so that training starts fresh. */
static int prepare_run_dir(const TrainConfig *tc, const char *dir, int *reuse, BbError *err) {
    *reuse = 0;
    char path[BB_STRLEN + 64];
    snprintf(path, sizeof path, "%s/metrics.tsv", dir);
    Run r;
    BbError ignore;
    if (access(path, F_OK) == 0 && run_load(&r, dir, -1, &ignore) == BB_OK) {
        char *a = config_text(&r.cfg), *b = config_text(tc);
        *reuse = r.step == tc->steps && strcmp(a, b) == 0;
        free(a);
        free(b);
        run_free(&r);
        if (*reuse) return BB_OK;
    }
    long *steps = NULL;
    int n = 0;
    if (run_checkpoints(dir, &steps, &n, &ignore) == BB_OK)
        for (int i = 0; i < n; i++)
            if (ckpt_path(path, sizeof path, dir, steps[i]) == 0) unlink(path);
    free(steps);
    const char *files[] = {"metrics.tsv", "config.txt"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (unlink(path) != 0 && access(path, F_OK) == 0)
            return bb_fail(err, BB_EIO, "cannot remove the old run file %s", path);
    }
    return BB_OK;
}

/* One checkpoint on the evaluation batch, through the same analysis as `bbsim analyze`
 * (src/analysis/): risks against the oracle, Attn<s> (share of key 0) over non-trigger
 * positions and |Val<s>| = |Wo b|; plus the theory's own a_v and the mean-free part of
 * Wo b. */
static void measure(const Run *r, const EvalBatch *eb, const int *types, int ntypes, const double *type_w,
                    SimplePoint *pt, double *a_row) {
    const Model *m = &r->model;
    AnalysisConfig ac;
    analysis_config_default(&ac);
    Analysis an;
    analysis_collect(&an, m, &r->task, eb, NULL, &ac, ANALYSIS_ALL, 1);
    const HeadMetrics *hm = &an.head[0];
    pt->bigram_risk = an.risks.risk[DOM_NONTRIGGER];
    pt->backcopy_risk = an.risks.risk[DOM_TRIGGER];
    pt->bigram_floor = an.risks.oracle[DOM_NONTRIGGER];
    pt->backcopy_floor = an.risks.oracle[DOM_TRIGGER];
    pt->attn_bos = hm->attn_bos[DOM_NONTRIGGER];
    pt->wo_b = hm->val_bos;
    analysis_free(&an);
    float *v0 = bb_malloc(sizeof(float) * (size_t)m->cfg.V);
    model_simple_bos_value(m, v0);
    pt->wo_b_perp = metrics_norm_centered(v0, m->cfg.V);
    free(v0);
    double am = 0;
    for (int k = 0; k < ntypes; k++) {
        a_row[k] = m->p.s_bos_logit[types[k]];
        am += type_w[k] * a_row[k];
    }
    pt->a_mean = am;
}

int simple_run(const SimpleConfig *c, int use_sgd, const char *dir, SimpleRun *out, BbError *err) {
    memset(out, 0, sizeof *out);
    snprintf(out->optim, sizeof out->optim, "%s", use_sgd ? "sgd" : "adamw");
    char rdir[BB_STRLEN];
    if ((size_t)snprintf(rdir, sizeof rdir, "%s/%s", dir, out->optim) >= sizeof rdir)
        return bb_fail(err, BB_EINPUT, "output path too long: %s", dir);
    TrainConfig tc;
    train_config_for(c, use_sgd, rdir, &tc);
    int rc, reuse;
    if ((rc = bb_mkdirs(rdir, err)) || (rc = prepare_run_dir(&tc, rdir, &reuse, err))) return rc;
    double t0 = bb_now();
    if (!reuse && (rc = train_run(&tc, err))) return rc;

    long *steps = NULL;
    int n = 0;
    if ((rc = run_checkpoints(rdir, &steps, &n, err))) return rc;
    Run r;
    if ((rc = run_load(&r, rdir, steps[0], err))) {
        free(steps);
        return rc;
    }
    /* the non-trigger ordinary token types, weighted by their frequency pi */
    const Task *t = &r.task;
    out->type_id = bb_malloc(sizeof(int) * (size_t)t->vbase);
    double *type_w = bb_malloc(sizeof(double) * (size_t)t->vbase), wsum = 0;
    for (int v = 0; v < t->vbase; v++)
        if (!t->is_trigger[v]) {
            out->type_id[out->ntypes] = v;
            wsum += type_w[out->ntypes++] = t->pi[v];
        }
    for (int k = 0; k < out->ntypes; k++) type_w[k] /= wsum;
    EvalBatch eb;
    analysis_batch(&eb, t, t->cfg.eval_batch, NULL);
    run_free(&r);

    out->npoints = n;
    out->pt = bb_calloc((size_t)n, sizeof(SimplePoint));
    out->a = bb_calloc((size_t)n * (size_t)(out->ntypes ? out->ntypes : 1), sizeof(double));
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = run_load(&r, rdir, steps[i], err))) break;
        out->pt[i].step = steps[i];
        measure(&r, &eb, out->type_id, out->ntypes, type_w, &out->pt[i], out->a + (size_t)i * out->ntypes);
        run_free(&r);
    }
    out->seconds = bb_now() - t0;
    free(steps);
    analysis_batch_free(&eb);
    free(type_w);
    if (rc) simple_run_free(out);
    return rc;
}

void simple_run_free(SimpleRun *r) {
    free(r->pt);
    free(r->type_id);
    free(r->a);
    memset(r, 0, sizeof *r);
}

void simple_decide(const SimpleConfig *c, const SimpleRun *adamw, const SimpleRun *sgd, ClaimList *cl) {
    const SimpleRun *runs[2] = {adamw, sgd};
    LineFit fit[2];
    double drain[2], attn[2], excess_bg[2], excess_bc[2], peak_adamw = NAN;
    int types_ok = 0, types_n = 0;
    for (int k = 0; k < 2; k++) {
        const SimpleRun *r = runs[k];
        const int n = r->npoints;
        double *t = bb_malloc(sizeof(double) * (size_t)(n ? n : 1)), *y = bb_malloc(sizeof(double) * (size_t)(n ? n : 1));
        double peak = 0;
        for (int i = 0; i < n; i++) {
            t[i] = (double)r->pt[i].step;
            y[i] = r->pt[i].a_mean;
            peak = fmax(peak, r->pt[i].wo_b);
        }
        const double tmax = (double)c->steps, tmin = tmax / pow(10.0, c->fit_decades);
        fit_logt(t, y, n, tmin, tmax, &fit[k]);
        const SimplePoint *e = n ? &r->pt[n - 1] : NULL;
        drain[k] = e && peak > 0 ? e->wo_b / peak : NAN;
        if (k == 0) peak_adamw = peak;
        attn[k] = e ? e->attn_bos : NAN;
        excess_bg[k] = e ? e->bigram_risk - e->bigram_floor : NAN;
        excess_bc[k] = e ? e->backcopy_risk - e->backcopy_floor : NAN;
        if (k == 0)
            for (int v = 0; v < r->ntypes; v++) { /* the same test type by type */
                for (int i = 0; i < n; i++) y[i] = r->a[(size_t)i * r->ntypes + v];
                LineFit f;
                fit_logt(t, y, n, tmin, tmax, &f);
                types_n++;
                types_ok += f.r2 >= 0.8 && f.slope > 0;
            }
        free(t);
        free(y);
    }
    claims_add(cl, "C12", "simple: a_v linear in log t (last decade)", "a grows like log t", fit[0].r2,
               "R2 >= 0.8 and slope > 0", fit[0].r2 >= 0.8 && fit[0].slope > 0,
               "AdamW: pi-weighted mean a_v, slope %.4g per log-step, %d pts; %d of %d types pass alone; SGD: slope "
               "%.3g R2 %.3f",
               fit[0].slope, fit[0].n, types_ok, types_n, fit[1].slope, fit[1].r2);
    claims_add(cl, "C12", "simple: BOS value |Wo b| drains", "|Wo b| -> 0", drain[0], "end/peak <= 0.2",
               drain[0] <= 0.2, "AdamW |Wo b| end %.3g peak %.3g, mean-free part end %.3g; SGD end/peak %.3g",
               adamw->npoints ? adamw->pt[adamw->npoints - 1].wo_b : NAN, peak_adamw,
               adamw->npoints ? adamw->pt[adamw->npoints - 1].wo_b_perp : NAN, drain[1]);
    claims_add(cl, "C12", "simple: attention sink Attn<s> at the end", "Attn<s> -> 1", attn[0], ">= 0.9",
               attn[0] >= 0.9, "AdamW excess risk bigram %.3g backcopy %.3g; SGD Attn<s> %.3f, excess %.3g / %.3g",
               excess_bg[0], excess_bc[0], attn[1], excess_bg[1], excess_bc[1]);
}
