/* bbsim figures RUN_DIR: the figures of `make repro` for any run a user trained by hand:
 * analyses the run (one checkpoint) into OUT/data/ and (every checkpoint, for the
 * dynamics) into OUT/dynamics/, then draws attention maps, value norms, per-layer panels,
 * the training dynamics and the residual norms with the same gnuplot scripts (plots/) as make repro. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bbsim/analysis.h"
#include "bbsim/blas.h"
#include "bbsim/cli.h"
#include "bbsim/process.h"
#include "bbsim/tsv.h"

typedef struct {
    char ckpt[64];
    char out[BB_STRLEN];
    char plots[BB_STRLEN];
    int threads, no_dynamics, quiet;
} FiguresOpts;

static int figures_opts(FiguresOpts *o, Opt *t) {
    int k = 0;
    t[k++] = (Opt){"ckpt", OPT_STR, o->ckpt, 0, 0, NULL, "checkpoint of the maps and bars: a step or 'last'"};
    t[k++] = (Opt){"out", OPT_PATH, o->out, 0, 0, NULL, "output directory [default: RUN_DIR/figures]"};
    t[k++] = (Opt){"plots", OPT_PATH, o->plots, 0, 0, NULL,
                   "folder of the gnuplot scripts [default: $BBSIM_PLOTS, else the source tree's plots/]"};
    t[k++] = (Opt){"threads", OPT_INT, &o->threads, 0, 1024, NULL, "threads of the analyses (0 = OpenMP default)"};
    t[k++] = (Opt){"no-dynamics", OPT_FLAG, &o->no_dynamics, 0, 1, NULL,
                   "skip the analysis of every checkpoint (no dynamics and residual curves)"};
    t[k++] = (Opt){"quiet", OPT_FLAG, &o->quiet, 0, 1, NULL, "no list of files on stdout"};
    return k;
}

static int fail(int rc, const BbError *err) { return bb_report("figures", rc, err); }

/* One figure: PLOTS/SCRIPT.gp drawn into OUT/NAME.pdf (plot_render), its path listed. */
static int draw(const FiguresOpts *o, const char *outdir, const char *name, const char *script, int nargs,
                char *const *args, BbError *err) {
    char gp[BB_STRLEN + 64], pdf[BB_STRLEN + 64];
    snprintf(gp, sizeof gp, "%s/%s.gp", o->plots, script);
    snprintf(pdf, sizeof pdf, "%s/%s.pdf", outdir, name);
    int rc = plot_render(gp, pdf, nargs, args, err);
    if (!rc && !o->quiet) bb_say(stdout, "  %s\n", pdf);
    return rc;
}

/* bbsim analyze RUN_DIR --out DIR --quiet of checkpoint step, or of every checkpoint (all),
 * as that command runs it: interrupts caught, failures reported as "bbsim analyze: ...". */
static int analyze(const char *dir, const char *out, long step, int all) {
    AnalyzeRequest req;
    analyze_request_default(&req);
    req.step = step;
    req.all = all;
    BbError err = {{0}};
    bb_catch_interrupts();
    int rc = analyze_run(dir, out, &req, NULL, &err);
    bb_release_interrupts();
    return rc ? bb_report("analyze", rc, &err) : 0;
}

/* 1 when column `name` of the TSV at path has a finite number in some row. */
static int column_has_number(const char *path, const char *name) {
    Tsv t;
    BbError ignore;
    int found = 0;
    if (tsv_read(path, &t, &ignore) == BB_OK)
        for (int j = 0; j < t.ncols; j++)
            if (!strcmp(t.names[j], name))
                for (int i = 0; i < t.nrows && !found; i++) {
                    char *end;
                    const double v = strtod(t.cells[(size_t)i * t.ncols + j], &end);
                    found = end != t.cells[(size_t)i * t.ncols + j] && isfinite(v);
                }
    tsv_free(&t);
    return found;
}

static void usage(const Opt *t, int n) {
    printf("usage: bbsim figures RUN_DIR [flags]\n\n"
           "The figures of make repro for one run: analyses it into OUT/data/ (the checkpoint --ckpt) and\n"
           "OUT/dynamics/ (every checkpoint), then draws with gnuplot (plots/*.gp):\n"
           "  attention.pdf   attention maps of an active and a dormant sequence, every layer\n"
           "  values.pdf      value-state norms |Wo v_j| of the active sequence, every layer\n"
           "  layers.pdf      per layer: attention, value norms, residual norms (transformer only)\n"
           "  dynamics_lLh0.pdf  training dynamics of layer L's head 0, normalised to their maxima\n"
           "  resid.pdf       |Res<s>| after layer 0 over training (transformer only)\n"
           "Figures show head 0 of each layer.\n\nflags:\n");
    opts_help(stdout, t, n);
}

/* The model's shape as the figures need it: which layers have attention (and the list
 * "0,1,2" of them), whether there is a residual stream. */
typedef struct {
    char layers[256];
    int has_attn[BB_MAXL], nattn, resid, L;
} FigureShape;

static int figure_shape(const char *dir, long step, FigureShape *s, BbError *err) {
    Run run;
    int rc = run_load(&run, dir, step, err);
    if (rc) return rc;
    memset(s, 0, sizeof *s);
    s->resid = analysis_has_resid(&run.model);
    s->L = analysis_layers(&run.model);
    for (int l = 0; l < s->L; l++)
        if ((s->has_attn[l] = model_has_attn(&run.model.cfg, l))) {
            size_t k = strlen(s->layers);
            snprintf(s->layers + k, sizeof s->layers - k, "%s%d", k ? "," : "", l);
            s->nattn++;
        }
    run_free(&run);
    return BB_OK;
}

/* A curve over training needs two checkpoints at least: *one = 1 (and said) when the run has one. */
static int one_checkpoint(const FiguresOpts *o, const char *dir, int *one, BbError *err) {
    long *steps;
    int n, rc = run_checkpoints(dir, &steps, &n, err);
    if (rc) return rc;
    *one = n < 2;
    if (*one && !o->quiet)
        bb_say(stdout, "bbsim figures: %s has one checkpoint (step %ld): no dynamics figures\n", dir, steps[0]);
    free(steps);
    return BB_OK;
}

/* The maps and bars of data/ (layers with attention only; the panels need a residual stream). */
static int draw_checkpoint(const FiguresOpts *o, const char *outdir, char *data, FigureShape *s, BbError *err) {
    if (!s->nattn) return BB_OK;
    char *a1[] = {data, "active,dormant", s->layers}, *a2[] = {data, "active", s->layers};
    int rc;
    if ((rc = draw(o, outdir, "attention", "attention_map", 3, a1, err)) ||
        (rc = draw(o, outdir, "values", "value_bars", 3, a2, err)))
        return rc;
    return s->resid ? draw(o, outdir, "layers", "layer_panels", 3, a2, err) : BB_OK;
}

/* The dynamics of each layer's head 0 (unless the backcopy risk is undefined throughout)
 * and the residual curves, from dyntsv. */
static int draw_dynamics(const FiguresOpts *o, const char *dir, const char *outdir, char *dyntsv,
                         const FigureShape *s, BbError *err) {
    int heads = 1, rc;
    if (!column_has_number(dyntsv, "backcopy_risk")) {
        /* --task markov, --k 0, or sequences too short for a backcopy: the dynamics figure's
         * first curve is undefined at every checkpoint (the residual curves are not) */
        bb_say(stderr, "bbsim figures: %s has no backcopy (trigger) positions (--task markov, --k 0, or --seq too "
                       "short): the backcopy risk is undefined, so no dynamics figures (the data is in %s)\n",
               dir, dyntsv);
        heads = 0;
    }
    for (int l = 0; l < s->L && heads; l++) {
        if (!s->has_attn[l]) continue; /* only layers with attention have a head */
        char head[16], name[32];
        snprintf(head, sizeof head, "l%dh0", l);
        snprintf(name, sizeof name, "dynamics_%s", head);
        char *a[] = {dyntsv, head};
        if ((rc = draw(o, outdir, name, "dynamics", 2, a, err))) return rc;
    }
    if (!s->resid) return BB_OK;
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    char label[128];
    snprintf(label, sizeof label, "%s", base);
    for (char *p = label; *p; p++)
        if (*p == ' ') *p = '_';
    char *a[] = {label, dyntsv};
    return draw(o, outdir, "resid", "resid_curves", 2, a, err);
}

int cmd_figures(int argc, char **argv) {
    FiguresOpts o = {.ckpt = "last"};
    Opt table[8];
    const int nopt = figures_opts(&o, table);
    if (opts_wants_help(argc, argv)) {
        usage(table, nopt);
        return 0;
    }
    BbError err = {{0}};
    const char *dir;
    int rc = opts_parse_run_dir(table, nopt, argc, argv, "bbsim figures RUN_DIR", &dir, &err);
    if (rc) return fail(rc, &err);
    if (!o.plots[0]) snprintf(o.plots, sizeof o.plots, "%s", getenv("BBSIM_PLOTS") ? getenv("BBSIM_PLOTS") : BBSIM_PLOTS_DIR);
    char probe[BB_STRLEN + 32];
    snprintf(probe, sizeof probe, "%s/style.gp", o.plots);
    if (access(probe, R_OK) != 0) {
        bb_fail(&err, BB_EINPUT, "no gnuplot scripts in %s (set --plots or BBSIM_PLOTS to bbsim's plots/ folder)",
                o.plots);
        return fail(BB_EINPUT, &err);
    }
    long step;
    FigureShape shape;
    if ((rc = run_ckpt_arg(o.ckpt, &step, "a step or 'last'", &err)) || (rc = figure_shape(dir, step, &shape, &err)))
        return fail(rc, &err);
    char outdir[BB_STRLEN], data[BB_STRLEN + 16], dyn[BB_STRLEN + 32], dyntsv[BB_STRLEN + 64];
    if (o.out[0]) snprintf(outdir, sizeof outdir, "%s", o.out);
    else if ((size_t)snprintf(outdir, sizeof outdir, "%s/figures", dir) >= sizeof outdir) {
        bb_fail(&err, BB_EINPUT, "run directory path too long: %s", dir);
        return fail(BB_EINPUT, &err);
    }
    snprintf(data, sizeof data, "%s/data", outdir);
    snprintf(dyn, sizeof dyn, "%s/dynamics", outdir); /* beside data/: analyze replaces each folder whole */
    snprintf(dyntsv, sizeof dyntsv, "%s/dynamics.tsv", dyn);
    int one = 0;
    if ((!o.no_dynamics && (rc = one_checkpoint(&o, dir, &one, &err))) || (rc = bb_mkdirs(outdir, &err)))
        return fail(rc, &err);
    o.no_dynamics |= one;
    if (!o.quiet) bb_say(stdout, "bbsim figures: analysing %s (checkpoint %s) into %s\n", dir, o.ckpt, data);
    if (o.threads > 0) bb_threads_apply(o.threads);
    blas_set_threads(1); /* as bbsim analyze: parallel over chunks, single-threaded GEMMs inside */
    if ((rc = analyze(dir, data, step, 0))) return rc;
    if (!o.no_dynamics) {
        if (!o.quiet) bb_say(stdout, "bbsim figures: analysing every checkpoint into %s\n", dyn);
        if ((rc = analyze(dir, dyn, -1, 1))) return rc;
    }
    if (!o.quiet) bb_say(stdout, "bbsim figures: drawing into %s\n", outdir);
    if ((rc = draw_checkpoint(&o, outdir, data, &shape, &err)) ||
        (!o.no_dynamics && (rc = draw_dynamics(&o, dir, outdir, dyntsv, &shape, &err))))
        return fail(rc, &err);
    return 0;
}
