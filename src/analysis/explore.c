/* bbsim explore: the data of one self-contained HTML page of a run (include/bbsim/explore.h,
 * docs/explore.md). Every number comes from the analysis functions the PDFs use
 * (analysis_sequence, analysis_collect, analysis_head_removal, analysis_metric_entries,
 * metrics_classify); this file only samples checkpoints, quantises the maps and writes JSON
 * into the page template. */
#include "bbsim/explore.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/parallel.h"

void explore_request_default(ExploreRequest *r) {
    memset(r, 0, sizeof *r);
    r->seq = 0;
    r->max_ckpts = 40;
    analysis_config_default(&r->ac);
}

int explore_pick_checkpoints(const long *steps, int n, int max, int *idx) {
    if (n <= 0) return 0;
    if (max < 2) max = 2;
    if (n <= max) {
        for (int k = 0; k < n; k++) idx[k] = k;
        return n;
    }
    const double lo = log((double)steps[0] + 1), hi = log((double)steps[n - 1] + 1);
    int i = 0; /* the checkpoint nearest to each grid point in log(step + 1), scanned forward */
    for (int k = 0; k < max; k++) {
        const double t = lo + (hi - lo) * k / (max - 1);
        while (i + 1 < n && fabs(log((double)steps[i + 1] + 1) - t) <= fabs(log((double)steps[i] + 1) - t)) i++;
        int pick = i;
        if (k > 0 && pick <= idx[k - 1]) pick = idx[k - 1] + 1; /* distinct ... */
        if (pick > n - max + k) pick = n - max + k;             /* ... leaving room for the rest */
        idx[k] = pick;
    }
    return max;
}

void explore_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const unsigned c = *p;
        if (c == '"') fputs("\\\"", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' || c == '\'')
            fprintf(f, "\\u%04x", c); /* bytes >= 0x80 as latin-1: the labels are ASCII anyway */
        else fputc((int)c, f);
    }
    fputc('"', f);
}

/* A number for JSON: NaN and infinities (no JSON spelling) as null. */
static void json_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.6g", x);
    else fputs("null", f);
}

static void base64_write(FILE *f, const unsigned char *b, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                           (i + 2 < n ? (uint32_t)b[i + 2] : 0);
        fputc(tab[v >> 18 & 63], f);
        fputc(tab[v >> 12 & 63], f);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? tab[v & 63] : '=', f);
    }
}

/* One checkpoint's numbers. */
typedef struct CkptData {
    long step;
    Analysis a;
    Risks *removed; /* (L*H) */
    SeqDump seq;
} CkptData;

typedef struct ExploreJob {
    const char *dir;
    const long *steps; /* of the picked checkpoints */
    const EvalBatch *eb;
    const ExploreRequest *req;
    CkptData *res;
} ExploreJob;

static int explore_item(void *ctx, int k, int threads, BbError *err) {
    const ExploreJob *job = ctx;
    CkptData *c = &job->res[k];
    Run r;
    int rc = run_load(&r, job->dir, job->steps[k], err);
    if (rc) return rc;
    c->step = r.step;
    analysis_collect(&c->a, &r.model, &r.task, job->eb, NULL, &job->req->ac, ANALYSIS_ALL, threads);
    if (!(rc = analysis_check_risk(&c->a, r.path, r.step, err))) {
        c->removed = bb_calloc((size_t)c->a.L * c->a.H, sizeof *c->removed);
        analysis_head_removal(c->removed, &r.model, &r.task, job->eb, &job->req->ac, threads);
        analysis_sequence(&c->seq, &r.model, job->eb, job->req->seq, NULL);
    }
    run_free(&r);
    return rc;
}

/* The maps of every checkpoint, layer and head (map(c, l, h) -> (T,T) row-major, values
 * read as double), causal triangle only (j <= i, row by row), each map quantised to
 * uint16 over [lo, hi] = [min(0, min), max] (lo = hi: all q = 0), little-endian, base64;
 * then the per-map ranges. Keys "NAME" and "NAME_range". */
typedef double (*MapValue)(const CkptData *c, int l, int h, int i, int j);
static double att_value(const CkptData *c, int l, int h, int i, int j) {
    const SeqDump *d = &c->seq;
    return d->att[(((size_t)l * d->H + h) * d->T + i) * d->T + j];
}
static double share_value(const CkptData *c, int l, int h, int i, int j) {
    const SeqDump *d = &c->seq;
    return d->share[(((size_t)l * d->H + h) * d->T + i) * d->T + j];
}

static void write_maps(FILE *f, const char *name, const CkptData *cd, int n, int L, int H, int T, MapValue get) {
    const size_t tri = (size_t)T * (T + 1) / 2;
    unsigned char *buf = bb_malloc((size_t)n * L * H * tri * 2);
    double *range = bb_malloc((size_t)n * L * H * 2 * sizeof *range);
    size_t o = 0;
    for (int c = 0; c < n; c++)
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                double lo = 0, hi = 0;
                for (int i = 0; i < T; i++)
                    for (int j = 0; j <= i; j++) {
                        const double v = get(&cd[c], l, h, i, j);
                        if (v < lo) lo = v;
                        if (v > hi) hi = v;
                    }
                const size_t m = ((size_t)c * L + l) * H + h;
                range[2 * m] = lo;
                range[2 * m + 1] = hi;
                for (int i = 0; i < T; i++)
                    for (int j = 0; j <= i; j++) {
                        const double v = get(&cd[c], l, h, i, j);
                        const long q = hi > lo ? lround((v - lo) / (hi - lo) * 65535.0) : 0;
                        buf[o++] = (unsigned char)(q & 0xff);
                        buf[o++] = (unsigned char)(q >> 8 & 0xff);
                    }
            }
    fprintf(f, ",\n\"%s\":\"", name);
    base64_write(f, buf, o);
    fprintf(f, "\",\n\"%s_range\":[", name);
    for (size_t m = 0; m < (size_t)n * L * H * 2; m++) {
        if (m) fputc(',', f);
        json_num(f, range[m]);
    }
    fputc(']', f);
    free(buf);
    free(range);
}

/* The run's configuration (analysis_config_lines' "# config NAME VALUE") as [[NAME, VALUE], ...]. */
static void write_config(FILE *f, const Run *run) {
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    BB_CHECK(mem != NULL);
    analysis_config_lines(mem, run);
    BB_CHECK(fclose(mem) == 0);
    fputs(",\n\"config\":[", f);
    int first = 1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# config ", 9)) continue;
        char *name = line + 9, *value = strchr(name, ' ');
        if (value) *value++ = '\0';
        fputs(first ? "[" : ",[", f);
        first = 0;
        explore_json_string(f, name);
        fputc(',', f);
        explore_json_string(f, value ? value : "");
        fputc(']', f);
    }
    fputc(']', f);
    free(text);
}

static void write_data(FILE *f, const char *dir, const Run *run, const EvalBatch *eb, const ExploreRequest *req,
                       const CkptData *cd, int n, int total) {
    const Model *m = &run->model;
    const int L = analysis_layers(m), H = analysis_heads(m), T = eb->T, K = req->seq;
    const int resid = analysis_has_resid(m);
    fputs("{\"format\":1,\"version\":", f);
    explore_json_string(f, BBSIM_VERSION);
    fputs(",\"run\":", f);
    explore_json_string(f, dir);
    fprintf(f, ",\"seq\":%d,\"eval_batch\":%d,\"T\":%d,\"L\":%d,\"H\":%d,\"resid\":%s,\"ckpts_total\":%d", K, eb->B, T,
            L, H, resid ? "true" : "false", total);
    fprintf(f, ",\"tau_sink\":");
    json_num(f, req->ac.tau_sink);
    fprintf(f, ",\"tau_loss\":");
    json_num(f, req->ac.tau_loss);
    fputs(",\"has_attn\":[", f);
    for (int l = 0; l < L; l++) fprintf(f, "%s%d", l ? "," : "", model_has_attn(&m->cfg, l));
    fputs("],\n\"tokens\":[", f);
    for (int i = 0; i < T; i++) {
        if (i) fputc(',', f);
        explore_json_string(f, task_label(&run->task, eb->inputs[(size_t)K * T + i]));
    }
    fputs("],\n\"trigger\":[", f);
    for (int i = 0; i < T; i++)
        fprintf(f, "%s%d", i ? "," : "", (eb->dom[(size_t)K * T + i] & DOM_BIT(DOM_TRIGGER)) != 0);
    fputs("],\n\"steps\":[", f);
    for (int c = 0; c < n; c++) fprintf(f, "%s%ld", c ? "," : "", cd[c].step);
    fputc(']', f);
    write_config(f, run);
    write_maps(f, "att", cd, n, L, H, T, att_value);
    /* the share equals the weight for softmax-like activations: then not repeated */
    int same = 1;
    for (int c = 0; c < n && same; c++)
        for (size_t x = 0; x < (size_t)L * H * T * T && same; x++)
            same = fabs(cd[c].seq.share[x] - cd[c].seq.att[x]) <= 1e-6;
    fprintf(f, ",\n\"share_is_weight\":%s", same ? "true" : "false");
    if (!same) write_maps(f, "share", cd, n, L, H, T, share_value);
    /* value norms (ckpt)(l*H+h)(T), residual norms (ckpt)(l)(T) */
    fputs(",\n\"value_norm\":[", f);
    for (int c = 0; c < n; c++) {
        fputs(c ? ",\n[" : "[", f);
        for (size_t x = 0; x < (size_t)L * H * T; x++) {
            if (x) fputc(',', f);
            json_num(f, cd[c].seq.value_norm[x]);
        }
        fputc(']', f);
    }
    fputs("],\n\"resid_norm\":", f);
    if (!resid) fputs("null", f);
    else {
        fputc('[', f);
        for (int c = 0; c < n; c++) {
            fputs(c ? ",\n[" : "[", f);
            for (size_t x = 0; x < (size_t)L * T; x++) {
                if (x) fputc(',', f);
                json_num(f, cd[c].seq.resid_norm[x]);
            }
            fputc(']', f);
        }
        fputc(']', f);
    }
    /* the head table (heads.tsv's rule) per checkpoint: per head with attention and domain
     * (trigger, nontrigger): [attn_bos, delta_risk, label] */
    fputs(",\n\"heads\":[", f);
    const int doms[2] = {DOM_TRIGGER, DOM_NONTRIGGER};
    for (int c = 0; c < n; c++) {
        const Analysis *a = &cd[c].a;
        fputs(c ? ",\n[" : "[", f);
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                if (l || h) fputc(',', f);
                if (!model_has_attn(&m->cfg, l)) {
                    fputs("null", f);
                    continue;
                }
                fputc('[', f);
                for (int k = 0; k < 2; k++) {
                    const int d = doms[k];
                    const double attn = a->head[l * H + h].attn_bos[d];
                    const double delta = cd[c].removed[l * H + h].risk[d] - a->risks.risk[d];
                    const HeadLabel lab = metrics_classify(attn, delta, req->ac.tau_sink, req->ac.tau_loss);
                    fputs(k ? ",[" : "[", f);
                    json_num(f, attn);
                    fputc(',', f);
                    json_num(f, delta);
                    fprintf(f, ",\"%s\"]", head_label_names[lab]);
                }
                fputc(']', f);
            }
        fputc(']', f);
    }
    fputc(']', f);
    /* the dynamics rows: dynamics.tsv's columns (analysis_metric_entries) */
    enum { CAP = 8192 };
    MetricEntry *e = bb_malloc(CAP * sizeof *e);
    int ne = analysis_metric_entries(&cd[0].a, m, 0, e, CAP);
    BB_CHECK(ne <= CAP);
    fputs(",\n\"metric_names\":[", f);
    for (int k = 0; k < ne; k++) {
        char name[64];
        if (e[k].layer < 0) snprintf(name, sizeof name, "%s", e[k].name);
        else if (e[k].head < 0) snprintf(name, sizeof name, "l%d_%s", e[k].layer, e[k].name);
        else snprintf(name, sizeof name, "l%dh%d_%s", e[k].layer, e[k].head, e[k].name);
        if (k) fputc(',', f);
        explore_json_string(f, name);
    }
    fputs("],\n\"metrics\":[", f);
    for (int c = 0; c < n; c++) {
        const int nr = analysis_metric_entries(&cd[c].a, m, 0, e, CAP);
        BB_CHECK(nr == ne);
        fputs(c ? ",\n[" : "[", f);
        for (int k = 0; k < nr; k++) {
            if (k) fputc(',', f);
            json_num(f, e[k].value);
        }
        fputc(']', f);
    }
    fputs("]}", f);
    free(e);
}

int explore_write_json(FILE *f, const char *dir, const ExploreRequest *req, FILE *report, BbError *err) {
    long *all;
    int total, rc = run_checkpoints(dir, &all, &total, err);
    if (rc) return rc;
    Run last;
    if ((rc = run_load(&last, dir, all[total - 1], err))) {
        free(all);
        return rc;
    }
    const int B = last.cfg.task.eval_batch, T = last.task.cfg.seq;
    int *idx = bb_malloc((size_t)total * sizeof *idx);
    long *steps = bb_malloc((size_t)total * sizeof *steps);
    CkptData *cd = NULL;
    EvalBatch eb = {0};
    int n = 0;
    if (req->seq < 0 || req->seq >= B) {
        rc = bb_fail(err, BB_EINPUT, "--seq %d: the run's evaluation batch has %d sequences (0..%d)", req->seq, B,
                     B - 1);
        goto out;
    }
    if (req->ac.sink_key >= T) {
        rc = bb_fail(err, BB_EINPUT, "sink key %d: the run's sequences have %d positions", req->ac.sink_key, T);
        goto out;
    }
    n = explore_pick_checkpoints(all, total, req->max_ckpts, idx);
    for (int k = 0; k < n; k++) steps[k] = all[idx[k]];
    cd = bb_calloc((size_t)n, sizeof *cd);
    analysis_batch(&eb, &last.task, B, NULL);
    char label[4096];
    snprintf(label, sizeof label, "explore %s", dir);
    ExploreJob job = {dir, steps, &eb, req, cd};
    rc = parallel_for_each(n, explore_item, &job, report ? label : NULL, "checkpoints", err);
    if (!rc && bb_interrupted()) rc = bb_fail(err, BB_EINTR, "interrupted");
    if (rc) goto out;
    write_data(f, dir, &last, &eb, req, cd, n, total);
out:
    for (int k = 0; cd && k < n; k++) {
        analysis_free(&cd[k].a);
        free(cd[k].removed);
        if (cd[k].seq.att) analysis_sequence_free(&cd[k].seq);
    }
    free(cd);
    analysis_batch_free(&eb);
    run_free(&last);
    free(idx);
    free(steps);
    free(all);
    return rc;
}

/* out's folder must exist and out must not be a folder: said before any work (bad input, exit 2). */
static int check_out(const char *out, BbError *err) {
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return bb_fail(err, BB_EINPUT, "--out %s is a directory", out);
    char folder[BB_STRLEN];
    snprintf(folder, sizeof folder, "%s", out);
    char *slash = strrchr(folder, '/');
    if (!slash) return BB_OK;
    if (slash == folder) slash[1] = '\0';
    else *slash = '\0';
    if (stat(folder, &st) != 0 || !S_ISDIR(st.st_mode))
        return bb_fail(err, BB_EINPUT, "--out %s: no directory %s (make it first)", out, folder);
    return BB_OK;
}

int explore_run(const char *dir, const char *out, const ExploreRequest *req, FILE *report, BbError *err) {
    int rc = check_out(out, err);
    if (rc) return rc;
    const char *tpl = (const char *)explore_template;
    const char *at = strstr(tpl, EXPLORE_PLACEHOLDER);
    BB_CHECK(at != NULL); /* the build embeds plots/explore.html, which has it */
    /* the JSON first into memory: a failure leaves no file */
    char *json = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&json, &len);
    BB_CHECK(mem != NULL);
    rc = explore_write_json(mem, dir, req, report, err);
    BB_CHECK(fclose(mem) == 0);
    if (rc) {
        free(json);
        return rc;
    }
    AtomicFile af;
    if ((rc = afile_open(&af, out, err))) {
        free(json);
        return rc;
    }
    fwrite(tpl, 1, (size_t)(at - tpl), af.f);
    fwrite(json, 1, len, af.f);
    const char *rest = at + strlen(EXPLORE_PLACEHOLDER);
    fwrite(rest, 1, explore_template_len - (size_t)(rest - tpl), af.f);
    free(json);
    if ((rc = afile_commit(&af, err))) return rc;
    if (report) {
        struct stat st;
        const long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
        bb_say(report, "bbsim explore: %s: sequence %d -> %s (%.1f kB)\n", dir, req->seq, out, size / 1000.0);
    }
    return BB_OK;
}
