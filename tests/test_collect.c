/* Tests of `bbsim collect` (src/analysis/collect.c, src/cli/cmd_collect.c) on a sweep of
 * three tiny trained runs that differ in --lr and --heads (and one simplified model): one
 * row per run, only the differing fields as columns, the loss that bbsim analyze and the
 * training log compute, the same bytes for any thread count, sweep directories, escaped
 * text values, and the bad-input errors. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bbsim/collect.h"
#include "bbsim/train.h"
#include "bbsim/tsv.h"

/* tmp/sweep/{a,b,c}: lr 1e-3, 3e-3, 1e-2 with 1, 2, 2 heads; tmp/simple: the simplified model. */
static char *g_tmp;
static char g_run[3][800], g_sweep[512], g_simple[512];
static const double g_lr[3] = {1e-3, 3e-3, 1e-2};
static const int g_heads[3] = {1, 2, 2};

static void train_tiny_run(const char *dir, double lr, int heads, int simple) {
    TrainConfig c = tiny_run_config(dir);
    c.model.H = heads;
    if (simple) c.model.kind = MODEL_SIMPLE;
    c.optim.lr = lr;
    train_tiny(&c);
}

static int setup(void **state) {
    (void)state;
    g_tmp = make_tempdir();
    snprintf(g_sweep, sizeof g_sweep, "%s/sweep", g_tmp);
    for (int k = 0; k < 3; k++) {
        snprintf(g_run[k], sizeof g_run[k], "%s/%c", g_sweep, 'a' + k);
        train_tiny_run(g_run[k], g_lr[k], g_heads[k], 0);
    }
    snprintf(g_simple, sizeof g_simple, "%s/simple", g_tmp);
    train_tiny_run(g_simple, 1e-2, 1, 1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    remove_tempdir(g_tmp);
    return 0;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) fail_msg("cannot read %s", path);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The text without the provenance lines that record the command line and the thread count. */
static char *without_runtime_lines(const char *s) {
    char *out = malloc(strlen(s) + 1), *o = out;
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "# command ", 10) && strncmp(p, "# threads ", 10)) {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
    }
    *o = '\0';
    return out;
}

static void collect_to(const char *out, const char *args) {
    char *msg = NULL;
    int rc = run_bbsim(&msg, "collect %s --out %s", args, out);
    if (rc) fail_msg("bbsim collect %s: exit %d: %s", args, rc, msg ? msg : "");
    free(msg);
}

static void read_table(const char *path, Tsv *t) {
    BbError err;
    if (tsv_read(path, t, &err)) fail_msg("%s", err.msg);
}

static int col(const Tsv *t, const char *name) {
    int c = tsv_col(t, name);
    if (c < 0) fail_msg("%s: no column %s", t->path, name);
    return c;
}

/* One row per run in argument order, the column-name line first, the differing fields
 * (lr, heads) as columns and the shared ones (dim, seq, ...) only with --all-fields. */
static void test_table(void **state) {
    (void)state;
    char out[1024], args[4096];
    snprintf(out, sizeof out, "%s/table.tsv", g_tmp);
    snprintf(args, sizeof args, "%s %s %s --threads 1", g_run[0], g_run[1], g_run[2]);
    collect_to(out, args);
    char *text = slurp(out);
    /* the fields in config.txt order (model before optimizer), then the metrics */
    assert_true(strncmp(text, "run\theads\tlr\tstep\tloss\t", 23) == 0);
    assert_non_null(strstr(text, "\n# bbsim "));
    assert_non_null(strstr(text, "\n# config dim 16\n"));
    free(text);
    Tsv t;
    read_table(out, &t);
    assert_int_equal(t.nrows, 3);
    for (int k = 0; k < 3; k++) {
        assert_string_equal(tsv_str(&t, k, col(&t, "run")), g_run[k]);
        assert_close(tsv_num(&t, k, col(&t, "lr")), g_lr[k], 0, 0);
        assert_close(tsv_num(&t, k, col(&t, "heads")), g_heads[k], 0, 0);
        assert_close(tsv_num(&t, k, col(&t, "step")), 30, 0, 0);
        assert_close(tsv_num(&t, k, col(&t, "attn_heads")), g_heads[k], 0, 0);
        /* the wide part: l0h1 exists for the two-head runs only */
        assert_true(isnan(tsv_num(&t, k, col(&t, "l0h1_attn_bos"))) == (g_heads[k] == 1));
        assert_true(isfinite(tsv_num(&t, k, col(&t, "l0h0_attn_bos"))));
        assert_true(isfinite(tsv_num(&t, k, col(&t, "resid_ratio_max"))));
        assert_true(tsv_num(&t, k, col(&t, "sink_chance")) > 0);
    }
    const char *shared[] = {"dim", "seq", "layers", "steps", "batch", "eval_batch", "init_seed"};
    for (size_t i = 0; i < sizeof shared / sizeof *shared; i++) assert_int_equal(tsv_col(&t, shared[i]), -1);
    const char *runtime[] = {"out", "resume", "threads", "quiet"};
    for (size_t i = 0; i < 4; i++) assert_int_equal(tsv_col(&t, runtime[i]), -1);
    tsv_free(&t);

    snprintf(args, sizeof args, "%s %s %s --all-fields", g_run[0], g_run[1], g_run[2]);
    collect_to(out, args);
    read_table(out, &t);
    assert_int_equal(t.nrows, 3);
    for (size_t i = 0; i < sizeof shared / sizeof *shared; i++) (void)col(&t, shared[i]);
    assert_close(tsv_num(&t, 2, col(&t, "dim")), 16, 0, 0);
    for (size_t i = 0; i < 4; i++) assert_int_equal(tsv_col(&t, runtime[i]), -1);
    tsv_free(&t);
}

/* The loss column is the number bbsim analyze writes to risks.tsv (the same computation,
 * the same bits), and the training log's last eval_loss up to the trainer's float sums. */
static void test_same_as_analyze(void **state) {
    (void)state;
    char out[1024], args[4096], path[4096];
    snprintf(out, sizeof out, "%s/table.tsv", g_tmp);
    snprintf(args, sizeof args, "%s %s %s", g_run[0], g_run[1], g_run[2]);
    collect_to(out, args);
    Tsv t;
    read_table(out, &t);
    for (int k = 0; k < 3; k++) {
        char *msg = NULL, adir[1024];
        snprintf(adir, sizeof adir, "%s/analysis_%d", g_tmp, k);
        int rc = run_bbsim(&msg, "analyze %s --out %s --no-heads --quiet", g_run[k], adir);
        if (rc) fail_msg("analyze: %s", msg ? msg : "");
        free(msg);
        Tsv r, m, log;
        snprintf(path, sizeof path, "%s/risks.tsv", adir);
        read_table(path, &r);
        int dom = col(&r, "domain"), row = -1;
        for (int i = 0; i < r.nrows; i++)
            if (!strcmp(tsv_str(&r, i, dom), "all")) row = i;
        assert_true(row >= 0);
        /* the same text: the same double */
        assert_string_equal(tsv_str(&t, k, col(&t, "loss")), tsv_str(&r, row, col(&r, "loss")));
        assert_string_equal(tsv_str(&t, k, col(&t, "risk")), tsv_str(&r, row, col(&r, "risk")));
        assert_string_equal(tsv_str(&t, k, col(&t, "excess")), tsv_str(&r, row, col(&r, "excess")));
        tsv_free(&r);
        /* per-head and model-level numbers of analyze's metrics.tsv */
        snprintf(path, sizeof path, "%s/metrics.tsv", adir);
        read_table(path, &m);
        BbError err;
        double v;
        const char *names[] = {"backcopy_excess", "bigram_excess", "sink_rate", "sink_chance"};
        for (int i = 0; i < 4; i++) {
            if (tsv_metric(&m, -1, -1, names[i], &v, &err)) fail_msg("%s", err.msg);
            assert_close(tsv_num(&t, k, col(&t, names[i])), v, 0, 0);
        }
        if (tsv_metric(&m, 0, 0, "attn_bos", &v, &err)) fail_msg("%s", err.msg);
        assert_close(tsv_num(&t, k, col(&t, "l0h0_attn_bos")), v, 0, 0);
        if (tsv_metric(&m, 0, -1, "resid_ratio", &v, &err)) fail_msg("%s", err.msg);
        assert_close(tsv_num(&t, k, col(&t, "resid_ratio_last")), v, 0, 0);
        tsv_free(&m);
        /* the training log evaluates the same batch with float sums per chunk */
        snprintf(path, sizeof path, "%s/metrics.tsv", g_run[k]);
        read_table(path, &log);
        assert_int_equal(log.nrows, 30);
        assert_close(tsv_num(&t, k, col(&t, "loss")), tsv_num(&log, 29, col(&log, "eval_loss")), 1e-9, 1e-7);
        tsv_free(&log);
    }
    tsv_free(&t);
}

/* The same bytes for 1 and 2 threads (both ways of splitting the work: runs in parallel
 * when there are enough of them, one run's chunks in parallel otherwise), apart from the
 * provenance lines that record the command and the thread count. */
static void test_threads(void **state) {
    (void)state;
    char out1[1024], out2[1024], args[4096];
    snprintf(out1, sizeof out1, "%s/t1.tsv", g_tmp);
    snprintf(out2, sizeof out2, "%s/t2.tsv", g_tmp);
    const char *sets[2] = {"%s %s %s", "%s"};
    for (int s = 0; s < 2; s++) {
        char runs[3600];
        snprintf(runs, sizeof runs, sets[s], g_run[0], g_run[1], g_run[2]);
        snprintf(args, sizeof args, "%s --threads 1", runs);
        collect_to(out1, args);
        snprintf(args, sizeof args, "%s --threads 2", runs);
        collect_to(out2, args);
        char *a = slurp(out1), *b = slurp(out2);
        assert_non_null(strstr(a, "\n# threads 1\n"));
        assert_non_null(strstr(b, "\n# threads 2\n"));
        char *ra = without_runtime_lines(a), *rb = without_runtime_lines(b);
        assert_string_equal(ra, rb);
        free(a);
        free(b);
        free(ra);
        free(rb);
    }
}

/* A directory that is not a run stands for the runs inside it (others skipped), in name
 * order: the same table as naming them; to stdout without --out. */
static void test_sweep_directory(void **state) {
    (void)state;
    char notes[1024], out[1024], args[4096];
    snprintf(notes, sizeof notes, "%s/notes", g_sweep);
    mkdir(notes, 0755);
    snprintf(out, sizeof out, "%s/explicit.tsv", g_tmp);
    snprintf(args, sizeof args, "%s %s %s", g_run[0], g_run[1], g_run[2]);
    collect_to(out, args);
    char *explicit = slurp(out), *swept = NULL;
    assert_int_equal(run_bbsim(&swept, "collect %s", g_sweep), 0); /* stdout */
    char *a = without_runtime_lines(explicit), *b = without_runtime_lines(swept);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(explicit);
    free(swept);
    rmdir(notes);
}

/* A simplified and a transformer run share the table; what the simplified model does not
 * have (a residual stream) is NaN. */
static void test_mixed_kinds(void **state) {
    (void)state;
    char out[1024], args[4096];
    snprintf(out, sizeof out, "%s/mixed.tsv", g_tmp);
    snprintf(args, sizeof args, "%s %s", g_run[2], g_simple);
    collect_to(out, args);
    Tsv t;
    read_table(out, &t);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(tsv_str(&t, 0, col(&t, "model")), "transformer");
    assert_string_equal(tsv_str(&t, 1, col(&t, "model")), "simple");
    assert_int_equal(tsv_col(&t, "lr"), -1); /* both 1e-2 */
    assert_true(isfinite(tsv_num(&t, 0, col(&t, "resid_ratio_max"))));
    assert_true(isnan(tsv_num(&t, 1, col(&t, "resid_ratio_max"))));
    assert_true(isnan(tsv_num(&t, 1, col(&t, "l0_resid_ratio"))));
    assert_true(isnan(tsv_num(&t, 1, col(&t, "l0h1_attn_bos"))));
    assert_true(isfinite(tsv_num(&t, 1, col(&t, "l0h0_attn_bos"))));
    assert_true(isfinite(tsv_num(&t, 1, col(&t, "loss"))));
    tsv_free(&t);
}

/* Text values cannot break the table: the run column of a directory named with a tab,
 * '#', '"' and a space is written in the escape of token labels (spaces kept). */
static void test_escape(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tsv_put_text(f, "my corpus\t#1\n50%\"x\".txt", TSV_ESC_TEXT);
    fclose(f);
    assert_string_equal(buf, "my corpus\\t\\x231\\n50%\\x22x\\x22.txt");
    free(buf);
}

/* Bad input: one line naming the problem, exit 2, no output file. */
static void test_errors(void **state) {
    (void)state;
    char *msg = NULL, empty[1024], broken[1024], out[1024], path[4096];
    snprintf(empty, sizeof empty, "%s/empty", g_tmp);
    mkdir(empty, 0755);
    snprintf(broken, sizeof broken, "%s/broken", g_tmp);
    mkdir(broken, 0755);
    snprintf(path, sizeof path, "%s/config.txt", broken);
    write_text(path, "lr 0.01\n");
    snprintf(out, sizeof out, "%s/never.tsv", g_tmp);
    struct {
        const char *args, *expect;
        int rc;
    } cases[] = {
        {"", "bbsim collect: expected at least one run directory", 2},
        {"--threads 1", "bbsim collect: expected at least one run directory", 2},
        {"%s/missing", "/missing: not a run directory (No such file or directory)", 2},
        {"%s/empty", "/empty: not a run directory (no ckpt/, config.txt or metrics.tsv) and no run directories", 2},
        {"%s/broken", "/broken: not a run directory (cannot open", 2},
        {"%s/sweep/a --ckpt 999", "/sweep/a: no checkpoint at step 999", 2},
        {"%s/sweep/a --ckpt first", "--ckpt 'first': expected a step or 'last'", 2},
        {"%s/sweep/a --bogus 1", "--bogus", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases + 1; i++) {
        char args[4096];
        const char *expect = "cannot create";
        int want = 1; /* the last case: an output file that cannot be created (docs/method.md#exit-statuses) */
        if (i < sizeof cases / sizeof *cases) {
            snprintf(args, sizeof args, cases[i].args, g_tmp);
            snprintf(args + strlen(args), sizeof args - strlen(args), " --out %s", out);
            expect = cases[i].expect;
            want = cases[i].rc;
        } else {
            snprintf(args, sizeof args, "%s --out %s/no/such/dir.tsv", g_run[0], g_tmp);
        }
        int rc = run_bbsim(&msg, "collect %s", args);
        /* one line, "bbsim collect: ...", nothing else (no half table on stdout) */
        const int ok = rc == want && msg && strstr(msg, expect) && strchr(msg, '\n') == msg + strlen(msg) - 1 &&
                       !strncmp(msg, "bbsim collect: ", 15);
        char got[1024];
        snprintf(got, sizeof got, "%s", msg ? msg : "");
        free(msg);
        msg = NULL;
        if (!ok)
            fail_msg("bbsim collect %s: exit %d (expected %d), output '%s', expected '%s'", args, rc, want, got, expect);
        struct stat st;
        assert_int_not_equal(stat(out, &st), 0);
    }
    rmdir(empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),        cmocka_unit_test(test_same_as_analyze),
        cmocka_unit_test(test_threads),      cmocka_unit_test(test_sweep_directory),
        cmocka_unit_test(test_mixed_kinds),  cmocka_unit_test(test_escape),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
