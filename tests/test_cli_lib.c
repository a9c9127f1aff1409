/* Tests of the library functions the commands call (src/core/parallel.c,
 * src/analysis/analyze_run.c, src/theory/report.c): parallel_for_each runs every item once
 * and returns the first failure in item order for any thread count; analyze_run on a tiny
 * trained run writes one checkpoint's set and the dynamics into one folder, each mode
 * keeping the other's files, and leaves no folder on bad input; the --tokens parser; the
 * residual-peak toy's curve file. */
#include "testutil.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/analysis.h"
#include "bbsim/parallel.h"
#include "bbsim/theory.h"
#include "bbsim/train.h"

static char *g_tmp;
static char g_run[512];

static int setup(void **state) {
    (void)state;
    g_tmp = make_tempdir();
    snprintf(g_run, sizeof g_run, "%s/run", g_tmp);
    TrainConfig c = tiny_run_config(g_run);
    train_tiny(&c);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    remove_tempdir(g_tmp);
    return 0;
}

static int exists(const char *dir, const char *name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

/* item k records k+1 and the threads it was given; items 3 and 5 fail. */
typedef struct {
    int value[8], threads[8];
} Items;

static int record_item(void *ctx, int k, int threads, BbError *err) {
    Items *it = ctx;
    it->value[k] = k + 1;
    it->threads[k] = threads;
    return k == 3 || k == 5 ? bb_fail(err, BB_EINPUT, "item %d", k) : BB_OK;
}

static void test_parallel_for_each(void **state) {
    (void)state;
    const int saved = omp_get_max_threads();
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        Items it = {{0}, {0}};
        BbError err = {{0}};
        assert_int_equal(parallel_for_each(8, record_item, &it, NULL, "items", &err), BB_EINPUT);
        assert_string_equal(err.msg, "item 3"); /* the first in item order, whichever ends first */
        for (int k = 0; k < 8; k++) {
            assert_int_equal(it.value[k], k + 1);
            assert_int_equal(it.threads[k], 1); /* 8 items >= threads: one item per thread, serial inside */
        }
        /* one item: it gets every thread */
        Items one = {{0}, {0}};
        assert_int_equal(parallel_for_each(1, record_item, &one, NULL, "items", &err), BB_OK);
        assert_int_equal(one.threads[0], threads);
    }
    omp_set_num_threads(saved);
}

static void test_analyze_run(void **state) {
    (void)state;
    char out[1024];
    snprintf(out, sizeof out, "%s/analysis", g_tmp);
    AnalyzeRequest req;
    analyze_request_default(&req);
    FILE *report = tmpfile();
    BbError err = {{0}};
    if (analyze_run(g_run, out, &req, report, &err)) fail_msg("analyze_run: %s", err.msg);
    const char *files[] = {"risks.tsv", "metrics.tsv", "heads.tsv", "sink.tsv", "attention_active_l0h0.tsv",
                           "values_dormant.tsv"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!exists(out, files[i])) fail_msg("analyze_run wrote no %s", files[i]);
    char text[4096] = "";
    rewind(report);
    size_t n = fread(text, 1, sizeof text - 1, report);
    text[n] = '\0';
    fclose(report);
    assert_non_null(strstr(text, "bbsim analyze: "));
    assert_non_null(strstr(text, "sink rate Sink_1^0.3"));

    /* every checkpoint: dynamics.tsv beside the one checkpoint's files, one row each */
    req.all = 1;
    if (analyze_run(g_run, out, &req, NULL, &err)) fail_msg("analyze_run all: %s", err.msg);
    assert_true(exists(out, "risks.tsv"));
    char path[1200];
    snprintf(path, sizeof path, "%s/dynamics.tsv", out);
    Tsv t;
    if (tsv_read(path, &t, &err)) fail_msg("%s", err.msg);
    long *steps;
    int nsteps;
    if (run_checkpoints(g_run, &steps, &nsteps, &err)) fail_msg("%s", err.msg);
    assert_int_equal(t.nrows, nsteps);
    free(steps);
    tsv_free(&t);
    /* and one checkpoint again keeps dynamics.tsv */
    req.all = 0;
    req.no_heads = 1;
    if (analyze_run(g_run, out, &req, NULL, &err)) fail_msg("analyze_run: %s", err.msg);
    assert_true(exists(out, "dynamics.tsv"));
    assert_false(exists(out, "heads.tsv"));

    /* bad input: BB_EINPUT before anything is made */
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/bad", g_tmp);
    req.ac.sink_key = 99;
    assert_int_equal(analyze_run(g_run, bad, &req, NULL, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "--sink-key 99"));
    req.ac.sink_key = 0;
    snprintf(req.tokens, sizeof req.tokens, "1,x");
    assert_int_equal(analyze_run(g_run, bad, &req, NULL, &err), BB_EINPUT);
    struct stat st;
    assert_int_not_equal(stat(bad, &st), 0);
}

static void test_token_set(void **state) {
    (void)state;
    unsigned char *set = (unsigned char *)"x";
    BbError err = {{0}};
    assert_int_equal(analysis_token_set("", 10, &set, &err), BB_OK);
    assert_null(set);
    assert_int_equal(analysis_token_set("1,3", 10, &set, &err), BB_OK);
    for (int v = 0; v < 10; v++) assert_int_equal(set[v], v == 1 || v == 3);
    free(set);
    assert_int_equal(analysis_token_set("10", 10, &set, &err), BB_EINPUT);
    assert_null(set);
    assert_true(strncmp(err.msg, "--tokens: ", 10) == 0);
}

static void test_mtoy_write(void **state) {
    (void)state;
    MtoyConfig c;
    mtoy_config_default(&c);
    c.steps = 10;
    double ms[11], ma[11];
    mtoy_run(&c, ms, ma);
    BbError err = {{0}};
    if (mtoy_write(g_tmp, &c, ms, ma, NULL, 0, &err)) fail_msg("mtoy_write: %s", err.msg);
    char path[1200];
    snprintf(path, sizeof path, "%s/mtoy.tsv", g_tmp);
    Tsv t;
    if (tsv_read(path, &t, &err)) fail_msg("%s", err.msg);
    assert_int_equal(t.nrows, 11);
    assert_close(tsv_num(&t, 0, tsv_col(&t, "m_closed_form")), c.m0, 0, 0);
    assert_close(tsv_num(&t, 10, tsv_col(&t, "m_adam")), ma[10], 0, 1e-15);
    tsv_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_for_each),
        cmocka_unit_test(test_analyze_run),
        cmocka_unit_test(test_token_set),
        cmocka_unit_test(test_mtoy_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
