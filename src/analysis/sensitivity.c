/* Over-mixing (include/bbsim/sensitivity.h, docs/method.md#over-mixing-sensitivity): the
 * forward pass with attention to key 0 removed, the perturbation spread of one replaced
 * token, the exact input Jacobian by reverse mode through the model's backward kernels, and
 * the path-sum bound with its per-layer factors. Each sequence is measured on one thread
 * with its own Workspace, so the numbers do not depend on the thread count. */
#include "bbsim/sensitivity.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include "bbsim/blas.h"
#include "bbsim/tsv.h"

void sensitivity_config_default(SensConfig *c) {
    c->seqs = 8;
    c->pos = -1;
    c->replacements = 3;
    c->chunk = 8;
}

static int mlp_width(const Model *m, int l) { return model_has_linear_mlp(&m->cfg, l) ? m->cfg.C : 4 * m->cfg.C; }

/* ------------------------------------------------------------ forward */

void sensitivity_forward(const Model *m, Workspace *ws, const int *inputs, int B, int no_sink) {
    const ModelConfig *c = &m->cfg;
    BB_CHECK(c->kind == MODEL_TRANSFORMER && c->attn == ATTN_SOFTMAX);
    Intervention iv;
    memset(&iv, 0, sizeof iv);
    for (int l = 0; l < c->L; l++)
        for (int h = 0; h < c->H; h++) iv.no_key0[l][h] = no_sink && model_has_attn(&m->cfg, l);
    model_forward(m, ws, inputs, NULL, B, no_sink ? &iv : NULL);
}

/* ------------------------------------------------------------ path sum */

void sensitivity_path_sum(double *P, const double *A, int L, int T) {
    const size_t TT = (size_t)T * T;
    double *M = bb_malloc(TT * sizeof(double)), *tmp = bb_malloc(TT * sizeof(double));
    memset(P, 0, TT * sizeof(double));
    for (int i = 0; i < T; i++) P[(size_t)i * T + i] = 1.0;
    for (int l = 0; l < L; l++) {
        // P := (A_l + I) P
        memcpy(M, A + (size_t)l * TT, TT * sizeof(double));
        for (int i = 0; i < T; i++) M[(size_t)i * T + i] += 1.0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, T, T, 1.0, M, T, P, T, 0.0, tmp, T);
        memcpy(P, tmp, TT * sizeof(double));
    }
    free(M);
    free(tmp);
}

/* ------------------------------------------------------------ norms */

/* Largest singular value of a (rows, cols) row-major matrix: the square root of the largest
 * eigenvalue of the Gram matrix G = a^T a (or a a^T, whichever is smaller), by GSL's
 * symmetric eigensolver without eigenvectors (a few times cheaper than a full SVD). */
static double spectral_norm(const double *a, int rows, int cols) {
    const int n = rows < cols ? rows : cols;
    gsl_matrix *G = gsl_matrix_alloc((size_t)n, (size_t)n);
    if (rows < cols) // G = a a^T (rows, rows)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, cols, 1.0, a, cols, 0.0, G->data, G->tda);
    else // G = a^T a (cols, cols)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, rows, 1.0, a, cols, 0.0, G->data, G->tda);
    for (int r = 0; r < n; r++) // the solver reads the lower triangle
        for (int c = 0; c < r; c++) gsl_matrix_set(G, (size_t)r, (size_t)c, gsl_matrix_get(G, (size_t)c, (size_t)r));
    gsl_vector *ev = gsl_vector_alloc((size_t)n);
    gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc((size_t)n);
    gsl_eigen_symm(G, ev, w);
    const double mx = gsl_vector_max(ev);
    gsl_eigen_symm_free(w);
    gsl_vector_free(ev);
    gsl_matrix_free(G);
    return mx > 0 ? sqrt(mx) : 0.0;
}

static double spectral_norm_f(const float *a, int rows, int cols) {
    const size_t n = (size_t)rows * cols;
    double *d = bb_malloc(n * sizeof(double));
    for (size_t k = 0; k < n; k++) d[k] = a[k];
    const double s = spectral_norm(d, rows, cols);
    free(d);
    return s;
}

static double norm2(const double *x, int n) {
    double s = 0.0;
    for (int k = 0; k < n; k++) s += x[k] * x[k];
    return sqrt(s);
}

static double max_abs(const float *x, int n) {
    double mx = 0.0;
    for (int k = 0; k < n; k++) mx = fabs((double)x[k]) > mx ? fabs((double)x[k]) : mx;
    return mx;
}

void sensitivity_weights(const Model *m, SensWeights *w) {
    const int C = m->cfg.C, H = m->cfg.H, hs = C / H;
    memset(w, 0, sizeof *w);
    double *WoWv = bb_malloc((size_t)C * C * sizeof(double));
    for (int l = 0; l < m->cfg.L; l++) {
        if (model_has_attn(&m->cfg, l))
            for (int h = 0; h < H; h++) {
                // (Wo_h Wv_h)_ce = sum_d wo[c, h hs + d] wqkv[2C + h hs + d, e]
                const float *wo = m->p.wo[l], *wv = m->p.wqkv[l] + ((size_t)2 * C + (size_t)h * hs) * C;
                for (int c = 0; c < C; c++)
                    for (int e = 0; e < C; e++) {
                        double s = 0.0;
                        for (int d = 0; d < hs; d++) s += (double)wo[(size_t)c * C + h * hs + d] * wv[(size_t)d * C + e];
                        WoWv[(size_t)c * C + e] = s;
                    }
                w->wo_wv[l][h] = spectral_norm(WoWv, C, C);
            }
        if (model_has_mlp(&m->cfg, l)) {
            const int F = mlp_width(m, l);
            w->w1[l] = spectral_norm_f(m->p.w1[l], F, C);
            if (!model_has_linear_mlp(&m->cfg, l)) w->w2[l] = spectral_norm_f(m->p.w2[l], C, F);
        }
    }
    free(WoWv);
}

/* ------------------------------------------------------------ bound */

void sensitivity_bound(const Model *m, const Workspace *ws, const SensWeights *w, int i, SensBound *out) {
    const int C = m->cfg.C, H = m->cfg.H, hs = C / H, T = ws->T, n = i + 1, C3 = 3 * C;
    BB_CHECK(i >= 0 && i < T);
    const double rs = 1.0 / sqrt((double)hs);
    double *u = bb_malloc((size_t)n * C * sizeof(double)), *ubar = bb_malloc((size_t)C * sizeof(double));
    double *g = bb_malloc((size_t)n * sizeof(double)), *f = bb_malloc((size_t)n * sizeof(double));
    double *tmp = bb_malloc((size_t)C * sizeof(double));
    out->factor = 1.0;
    for (int l = 0; l < m->cfg.L; l++) {
        out->K[l] = out->M[l] = 1.0;
        if (model_has_attn(&m->cfg, l)) {
            // lambda1 = max|gamma1| max_a rstd1_a >= ||J_LN1(h_a)||_2 for every a <= i
            double rmax = 0.0;
            for (int a = 0; a < n; a++) rmax = ws->ln1_rstd[l][a] > rmax ? ws->ln1_rstd[l][a] : rmax;
            const double lam1 = max_abs(m->p.ln1_w[l], C) * rmax;
            double Rmax = 0.0, Qsum = 0.0;
            const float *wq = m->p.wqkv[l], *wo = m->p.wo[l];
            for (int h = 0; h < H; h++) {
                const float *Wq = wq + (size_t)h * hs * C, *Wk = wq + ((size_t)C + (size_t)h * hs) * C;
                for (int a = 0; a < n; a++) {
                    const float *q = ws->qkv[l] + (size_t)a * C3 + h * hs, *k = q + C, *v = q + 2 * C;
                    for (int c = 0; c < C; c++) { // u_a = Wo_h v_a
                        double s = 0.0;
                        for (int d = 0; d < hs; d++) s += (double)wo[(size_t)c * C + h * hs + d] * v[d];
                        u[(size_t)a * C + c] = s;
                    }
                    for (int e = 0; e < C; e++) { // g_a = ||Wk_h^T q_a||
                        double s = 0.0;
                        for (int d = 0; d < hs; d++) s += (double)Wk[(size_t)d * C + e] * q[d];
                        tmp[e] = s;
                    }
                    g[a] = norm2(tmp, C);
                    for (int e = 0; e < C; e++) { // f_a = ||Wq_h^T k_a||
                        double s = 0.0;
                        for (int d = 0; d < hs; d++) s += (double)Wq[(size_t)d * C + e] * k[d];
                        tmp[e] = s;
                    }
                    f[a] = norm2(tmp, C);
                }
                double rterm = 0.0, qmax = 0.0;
                for (int a = 0; a < n; a++) {
                    const float *A = ws->att[l] + ((size_t)h * T + a) * T;
                    memset(ubar, 0, (size_t)C * sizeof(double));
                    for (int k = 0; k <= a; k++)
                        for (int c = 0; c < C; c++) ubar[c] += A[k] * u[(size_t)k * C + c];
                    double qacc = 0.0;
                    for (int k = 0; k <= a; k++) {
                        for (int c = 0; c < C; c++) tmp[c] = u[(size_t)k * C + c] - ubar[c];
                        const double e = norm2(tmp, C); /* ||Wo_h (v_k - ybar_a)|| */
                        rterm = e * g[a] > rterm ? e * g[a] : rterm;
                        qacc += A[k] * e * f[k];
                    }
                    qmax = qacc > qmax ? qacc : qmax;
                }
                const double R = lam1 * (w->wo_wv[l][h] + rterm * rs), Q = lam1 * qmax * rs;
                Rmax = R > Rmax ? R : Rmax;
                Qsum += Q;
            }
            // ||G_ab|| <= delta_ab (1 + sum_h Q_h) + sum_h a^h_ab R_h <= K (delta_ab + Abar_ab)
            out->K[l] = 1.0 + Qsum > H * Rmax ? 1.0 + Qsum : H * Rmax;
        }
        if (model_has_mlp(&m->cfg, l)) {
            double rmax = 0.0;
            for (int a = 0; a < n; a++) rmax = ws->ln2_rstd[l][a] > rmax ? ws->ln2_rstd[l][a] : rmax;
            const double lam2 = max_abs(m->p.ln2_w[l], C) * rmax;
            // ||I + W2 D W1 J_LN2|| <= 1 + ||W2|| ||W1|| lambda2 (linear MLP: 1 + ||W1|| lambda2)
            out->M[l] = 1.0 + (model_has_linear_mlp(&m->cfg, l) ? w->w1[l] : w->w1[l] * w->w2[l]) * lam2;
        }
        out->factor *= out->K[l] * out->M[l];
    }
    free(u);
    free(ubar);
    free(g);
    free(f);
    free(tmp);
}

/* ------------------------------------------------------------ Jacobian */

void sensitivity_jacobian(const Model *m, Workspace *ws, int i, double *norms, float *jac) {
    const int T = ws->T, C = m->cfg.C;
    BB_CHECK(ws->B == 1 && i >= 0 && i < T);
    const size_t NC = (size_t)T * C;
    float *dres = bb_malloc(NC * sizeof(float));
    float *J = jac ? jac : bb_malloc((size_t)(i + 1) * C * C * sizeof(float));
    for (int oc = 0; oc < C; oc++) {
        // the model's own backward from d resid[L]_{i,oc} = 1: row oc of every block J_ij
        memset(dres, 0, NC * sizeof(float));
        dres[(size_t)i * C + oc] = 1.0f;
        model_backward_resid(m, ws, NULL, dres); /* input gradients only */
        for (int j = 0; j <= i; j++) memcpy(J + ((size_t)j * C + oc) * C, dres + (size_t)j * C, (size_t)C * sizeof(float));
    }
    for (int j = 0; j <= i; j++) norms[j] = spectral_norm_f(J + (size_t)j * C * C, C, C);
    if (!jac) free(J);
    free(dres);
}

/* ------------------------------------------------------------ one sequence */

/* The r-th replacement of token x (an ordinary token, vbase of them): x + 1 + r*step mod
 * vbase, step = (vbase - 1) / R, so the R replacements differ from x and from each other. */
static int replacement(int x, int r, int R, int vbase) {
    const int step = (vbase - 1) / R;
    return ((x % vbase) + 1 + r * step) % vbase;
}

static void seq_run(SensResult *r, int s, const Model *m, const Task *t, const EvalBatch *eb, const SensWeights *w,
                    Workspace *ws, int *buf) {
    const int L = r->L, i = r->i, Tn = i + 1, C = m->cfg.C, H = m->cfg.H, R = r->R, Bc = ws->Bmax;
    const int *z = eb->inputs + (size_t)s * eb->T; /* the first Tn tokens: causal, so enough */
    double *base = bb_malloc((size_t)L * C * sizeof(double)), *bnorm = bb_malloc((size_t)L * sizeof(double));
    double *norms = bb_malloc((size_t)Tn * sizeof(double));
    double *A = bb_calloc((size_t)L * Tn * Tn, sizeof(double)), *P = bb_malloc((size_t)Tn * Tn * sizeof(double));
    const int nsrc = i - r->first_src, npert = nsrc * R;
    for (int mode = 0; mode < 2; mode++) {
        sensitivity_forward(m, ws, z, 1, mode);
        if (mode == 0) {
            sensitivity_bound(m, ws, w, i, &r->b[s]);
            for (int l = 0; l < L; l++) // Abar_l = mean over heads of a^h
                if (model_has_attn(&m->cfg, l))
                    for (int h = 0; h < H; h++)
                        for (int a = 0; a < Tn; a++)
                            for (int k = 0; k <= a; k++)
                                A[((size_t)l * Tn + a) * Tn + k] += ws->att[l][((size_t)h * Tn + a) * Tn + k] / H;
            sensitivity_path_sum(P, A, L, Tn);
            sensitivity_jacobian(m, ws, i, norms, NULL);
            for (int j = 0; j < i; j++) {
                r->jac[(size_t)s * i + j] = norms[j];
                r->path[(size_t)s * i + j] = P[(size_t)i * Tn + j];
                r->bound[(size_t)s * i + j] = r->b[s].factor * P[(size_t)i * Tn + j];
            }
        }
        for (int l = 0; l < L; l++) {
            const float *h = ws->resid[l + 1] + (size_t)i * C;
            for (int c = 0; c < C; c++) base[(size_t)l * C + c] = h[c];
            bnorm[l] = norm2(base + (size_t)l * C, C);
        }
        double *sp = r->spread + (size_t)(s * 2 + mode) * L * i;
        for (int l = 0; l < L; l++)
            for (int j = 0; j < i; j++) sp[(size_t)l * i + j] = j < r->first_src ? NAN : 0.0;
        for (int p0 = 0; p0 < npert; p0 += Bc) {
            const int nb = p0 + Bc <= npert ? Bc : npert - p0;
            for (int b = 0; b < nb; b++) {
                const int j = r->first_src + (p0 + b) / R, rr = (p0 + b) % R;
                memcpy(buf + (size_t)b * Tn, z, (size_t)Tn * sizeof(int));
                buf[(size_t)b * Tn + j] = replacement(z[j], rr, R, t->vbase);
            }
            sensitivity_forward(m, ws, buf, nb, mode);
            for (int b = 0; b < nb; b++) {
                const int j = r->first_src + (p0 + b) / R;
                for (int l = 0; l < L; l++) {
                    // ||h'^{l+1}_i - h^{l+1}_i|| / ||h^{l+1}_i||, averaged over the R replacements
                    const float *h = ws->resid[l + 1] + ((size_t)b * Tn + i) * C;
                    double d2 = 0.0;
                    for (int c = 0; c < C; c++) {
                        const double d = h[c] - base[(size_t)l * C + c];
                        d2 += d * d;
                    }
                    sp[(size_t)l * i + j] += sqrt(d2) / bnorm[l] / R;
                }
            }
        }
    }
    free(base);
    free(bnorm);
    free(norms);
    free(A);
    free(P);
}

/* ------------------------------------------------------------ driver */

int sensitivity_run(SensResult *r, const Model *m, const Task *t, const EvalBatch *eb, const SensConfig *sc,
                    int threads, BbError *err) {
    memset(r, 0, sizeof *r);
    const ModelConfig *mc = &m->cfg;
    if (mc->kind != MODEL_TRANSFORMER)
        return bb_fail(err, BB_EINPUT, "the simplified model has no residual stream to perturb (a transformer run is needed)");
    if (mc->attn != ATTN_SOFTMAX)
        return bb_fail(err, BB_EINPUT,
                       "this run has --attn %s: the path-sum bound (docs/method.md) is derived for softmax attention",
                       attn_kind_names[mc->attn]);
    const int T = eb->T, i = sc->pos < 0 ? T - 1 : sc->pos;
    /* the leading BOS tokens are never replaced (with packing no position is fixed) */
    const int first_src = t->cfg.packing ? 0 : t->cfg.bos;
    if (i <= first_src || i >= T)
        return bb_fail(err, BB_EINPUT, "--pos %d: the query position must lie in %d..%d (after a source position)", sc->pos,
                       first_src + 1, T - 1);
    if (sc->seqs < 1 || sc->seqs > eb->B)
        return bb_fail(err, BB_EINPUT, "--seqs %d: the evaluation batch has %d sequences", sc->seqs, eb->B);
    if (sc->replacements < 1 || sc->replacements > t->vbase - 1)
        return bb_fail(err, BB_EINPUT, "--replace %d: between 1 and %d (ordinary tokens other than the original)",
                       sc->replacements, t->vbase - 1);
    const int L = mc->L, S = sc->seqs;
    r->L = L;
    r->T = T;
    r->i = i;
    r->seqs = S;
    r->R = sc->replacements;
    r->first_src = first_src;
    r->spread = bb_malloc((size_t)S * 2 * L * i * sizeof(double));
    r->jac = bb_malloc((size_t)S * i * sizeof(double));
    r->path = bb_malloc((size_t)S * i * sizeof(double));
    r->bound = bb_malloc((size_t)S * i * sizeof(double));
    r->b = bb_calloc((size_t)S, sizeof *r->b);
    SensWeights w;
    sensitivity_weights(m, &w);

    const int nt = threads < 1 ? 1 : threads < S ? threads : S, Bc = sc->chunk;
    const int blas_saved = blas_get_threads();
    if (nt > 1) blas_set_threads(1);
    Workspace **ws = bb_calloc((size_t)nt, sizeof *ws);
    int **buf = bb_calloc((size_t)nt, sizeof *buf);
    for (int k = 0; k < nt; k++) {
        ws[k] = workspace_alloc(m, Bc, i + 1);
        buf[k] = bb_malloc((size_t)Bc * (i + 1) * sizeof(int));
    }
    /* each sequence writes only its own slices of r */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int s = 0; s < S; s++) {
        const int k = omp_get_thread_num();
        seq_run(r, s, m, t, eb, &w, ws[k], buf[k]);
    }
    for (int k = 0; k < nt; k++) {
        workspace_free(ws[k]);
        free(buf[k]);
    }
    free(ws);
    free(buf);
    if (nt > 1) blas_set_threads(blas_saved);

    /* summaries, in sequence order */
    for (int mode = 0; mode < 2; mode++)
        for (int l = 0; l < L; l++) {
            double sum = 0.0;
            long n = 0;
            for (int s = 0; s < S; s++)
                for (int j = first_src; j < i; j++, n++) sum += r->spread[((size_t)(s * 2 + mode) * L + l) * i + j];
            r->spread_layer[mode][l] = sum / (double)n;
        }
    const size_t np = (size_t)S * i;
    double *lj = bb_malloc(np * sizeof(double)), *lp = bb_malloc(np * sizeof(double));
    double *ratio = bb_malloc(np * sizeof(double)), *work = bb_malloc(2 * np * sizeof(double));
    size_t nc = 0, nr = 0;
    r->pairs = (long)np;
    for (size_t k = 0; k < np; k++) {
        r->held += r->jac[k] <= r->bound[k];
        if (r->bound[k] > 0) ratio[nr++] = r->jac[k] / r->bound[k];
        if (r->jac[k] > 0 && r->path[k] > 0) {
            lj[nc] = log(r->jac[k]);
            lp[nc++] = log(r->path[k]);
        }
    }
    r->corr_pairs = (long)nc;
    r->pearson = nc >= 3 ? gsl_stats_correlation(lj, 1, lp, 1, nc) : NAN;
    r->spearman = nc >= 3 ? gsl_stats_spearman(lj, 1, lp, 1, nc, work) : NAN;
    if (nr) {
        gsl_sort(ratio, 1, nr);
        r->ratio_max = ratio[nr - 1];
        r->ratio_median = gsl_stats_median_from_sorted_data(ratio, 1, nr);
    } else {
        r->ratio_max = r->ratio_median = NAN;
    }
    free(lj);
    free(lp);
    free(ratio);
    free(work);
    return BB_OK;
}

void sensitivity_free(SensResult *r) {
    free(r->spread);
    free(r->jac);
    free(r->path);
    free(r->bound);
    free(r->b);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ output */

static int table_open(TsvWriter *w, const char *dir, const char *name, const char *columns, const Run *run,
                      const SensConfig *sc, const SensResult *r, BbError *err) {
    int rc = tsv_begin(w, dir, name, columns, err);
    if (rc) return rc;
    fprintf(w->f, "# run %s\n# checkpoint %ld\n", run->cfg.out, run->step);
    fprintf(w->f, "# sensitivity seqs %d query_pos %d replacements %d chunk %d first_source %d\n", sc->seqs, r->i,
            r->R, sc->chunk, r->first_src);
    analysis_config_lines(w->f, run);
    return BB_OK;
}

static int write_spread(const char *dir, const Run *run, const SensConfig *sc, const SensResult *r, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "spread.tsv", "layer\tdistance\tpairs\tspread_intact\tspread_nosink", run, sc, r,
                        err);
    if (rc) return rc;
    fputs("# spread = ||h'_i - h_i|| / ||h_i|| of the residual state after layer `layer` at the query position i\n"
          "# when the input token at j = i - distance is replaced, mean over the replacements and sequences;\n"
          "# intact: the model as trained; nosink: attention to key 0 removed and renormalised (both h and h')\n",
          w.f);
    for (int l = 0; l < r->L; l++)
        for (int d = 1; d <= r->i - r->first_src; d++) {
            const int j = r->i - d;
            double m[2] = {0, 0};
            for (int mode = 0; mode < 2; mode++) {
                for (int s = 0; s < r->seqs; s++) m[mode] += r->spread[((size_t)(s * 2 + mode) * r->L + l) * r->i + j];
                m[mode] /= r->seqs;
            }
            fprintf(w.f, "%d\t%d", l, d);
            bb_put_fields(w.f, 3, (double[]){(double)r->seqs * r->R, m[0], m[1]});
            fputc('\n', w.f);
        }
    return tsv_commit(&w, err);
}

static int write_jacobian(const char *dir, const Run *run, const SensConfig *sc, const SensResult *r, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "jacobian.tsv", "seq\ti\tj\tjacobian_norm\tpath_sum\tbound\theld", run, sc, r, err);
    if (rc) return rc;
    fputs("# jacobian_norm = ||d h^L_i / d h^0_j||_2 (reverse mode through the backward kernels, spectral norm);\n"
          "# path_sum = [(A_{L-1}+I)...(A_0+I)]_ij, A_l the head-mean attention of layer l on the sequence;\n"
          "# bound = prod_l K_l M_l * path_sum (docs/method.md#over-mixing-sensitivity); held = jacobian_norm <= bound\n",
          w.f);
    for (int s = 0; s < r->seqs; s++)
        for (int j = 0; j < r->i; j++) {
            const size_t k = (size_t)s * r->i + j;
            fprintf(w.f, "%d\t%d\t%d", s, r->i, j);
            bb_put_fields(w.f, 4, (double[]){r->jac[k], r->path[k], r->bound[k], (double)(r->jac[k] <= r->bound[k])});
            fputc('\n', w.f);
        }
    return tsv_commit(&w, err);
}

static void put_metric(FILE *f, int layer, const char *name, double v) {
    fprintf(f, "%d\t-1\t%s", layer, name);
    bb_put_fields(f, 1, &v);
    fputc('\n', f);
}

static int write_summary(const char *dir, const Run *run, const SensConfig *sc, const SensResult *r, BbError *err) {
    TsvWriter w;
    int rc = table_open(&w, dir, "summary.tsv", "layer\thead\tmetric\tvalue", run, sc, r, err);
    if (rc) return rc;
    fputs("# layer -1: the model; spread_* there are the last layer's (mean over sources and sequences);\n"
          "# bound_K, bound_M: the largest per-layer factors over the sequences; correlations of log jacobian_norm\n"
          "# and log path_sum over the corr_pairs pairs where both are > 0\n",
          w.f);
    FILE *f = w.f;
    const int L = r->L;
    put_metric(f, -1, "seqs", r->seqs);
    put_metric(f, -1, "query_pos", r->i);
    put_metric(f, -1, "replacements", r->R);
    put_metric(f, -1, "sources", r->i - r->first_src);
    put_metric(f, -1, "spread_intact", r->spread_layer[0][L - 1]);
    put_metric(f, -1, "spread_nosink", r->spread_layer[1][L - 1]);
    put_metric(f, -1, "spread_ratio", r->spread_layer[1][L - 1] / r->spread_layer[0][L - 1]);
    put_metric(f, -1, "pairs", (double)r->pairs);
    put_metric(f, -1, "bound_held", (double)r->held);
    put_metric(f, -1, "bound_held_frac", (double)r->held / (double)r->pairs);
    put_metric(f, -1, "bound_ratio_max", r->ratio_max);
    put_metric(f, -1, "bound_ratio_median", r->ratio_median);
    put_metric(f, -1, "corr_pairs", (double)r->corr_pairs);
    put_metric(f, -1, "pearson_log", r->pearson);
    put_metric(f, -1, "spearman_log", r->spearman);
    for (int l = 0; l < L; l++) {
        double K = 0, M = 0;
        for (int s = 0; s < r->seqs; s++) {
            K = r->b[s].K[l] > K ? r->b[s].K[l] : K;
            M = r->b[s].M[l] > M ? r->b[s].M[l] : M;
        }
        put_metric(f, l, "spread_intact", r->spread_layer[0][l]);
        put_metric(f, l, "spread_nosink", r->spread_layer[1][l]);
        put_metric(f, l, "bound_K", K);
        put_metric(f, l, "bound_M", M);
    }
    return tsv_commit(&w, err);
}

int sensitivity_write(const char *dir, const Run *run, const SensConfig *sc, const SensResult *r, BbError *err) {
    int rc;
    if ((rc = write_spread(dir, run, sc, r, err)) || (rc = write_jacobian(dir, run, sc, r, err)) ||
        (rc = write_summary(dir, run, sc, r, err)))
        return rc;
    return BB_OK;
}
