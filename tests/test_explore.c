/* Tests of bbsim explore (src/analysis/explore.c): the checkpoint sample, the JSON string
 * escape that keeps labels from closing the page's script element, the data of a tiny run
 * against the analysis functions called here directly (maps within their 16-bit
 * quantisation, value norms to the printed digits, the steps), and bad input refused
 * with exit 2 and no file. The page itself: tests/browser_explore.sh. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bbsim/explore.h"

static void test_pick_checkpoints(void **state) {
    (void)state;
    int idx[200];
    long steps[400];
    for (int k = 0; k < 400; k++) steps[k] = 10L * k;
    assert_int_equal(explore_pick_checkpoints(steps, 5, 40, idx), 5);
    for (int k = 0; k < 5; k++) assert_int_equal(idx[k], k);
    assert_int_equal(explore_pick_checkpoints(steps, 3, 2, idx), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 2);
    for (int n = 3; n <= 200; n += 7)
        for (int max = 2; max < n; max += 5) {
            assert_int_equal(explore_pick_checkpoints(steps, n, max, idx), max);
            assert_int_equal(idx[0], 0);
            assert_int_equal(idx[max - 1], n - 1);
            for (int k = 1; k < max; k++) assert_true(idx[k] > idx[k - 1]);
        }
    /* the quick 1L schedule (every 10 steps to 600, then x1.05 to 4,000: 98 checkpoints):
     * 40 picks even in log t put 9 after step 600, where the sink forms (log 600 / log 4000
     * = 0.77 of the axis), and none closer than the schedule allows (by index: 5) */
    int n = 0;
    for (long s = 0; s <= 600; s += 10) steps[n++] = s;
    for (double s = 600 * 1.05; s < 4000; s *= 1.05) steps[n++] = (long)s;
    steps[n++] = 4000;
    assert_int_equal(explore_pick_checkpoints(steps, n, 40, idx), 40);
    int late = 0;
    for (int k = 0; k < 40; k++) late += steps[idx[k]] > 600;
    assert_int_equal(late, 9);
}

static char *json_of(const char *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    explore_json_string(f, s);
    fclose(f);
    return buf;
}

static void test_json_string(void **state) {
    (void)state;
    char *j = json_of("a\"b\\c<&'>\xe2\x80\xae\n");
    assert_string_equal(j, "\"a\\\"b\\\\c\\u003c\\u0026\\u0027\\u003e\\u00e2\\u0080\\u00ae\\u000a\"");
    free(j);
    j = json_of("</script><script>alert(1)</script><!--");
    assert_null(strchr(j, '<'));
    assert_null(strchr(j, '>'));
    assert_non_null(strstr(j, "\\u003c/script\\u003e"));
    free(j);
}

/* ---- the data of a tiny run ---- */

/* The text after "\"key\":" in json (NULL: none). */
static const char *field(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? p + strlen(pat) : NULL;
}

static int b64_value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The bytes of the base64 string that starts at p (after its quote). */
static unsigned char *b64_decode(const char *p, size_t *n) {
    const char *end = strchr(p, '"');
    unsigned char *out = malloc((size_t)(end - p) / 4 * 3 + 3);
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (; p < end; p++) {
        const int x = b64_value(*p);
        if (x < 0) break; /* '=' padding */
        v = v << 6 | (unsigned)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits & 0xff);
        }
    }
    *n = o;
    return out;
}

static void test_explore_data(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, run_dir[600];
    int rc = run_bbsim(&out, "train --layers 2 --heads 2 --dim 16 --seq 12 --batch 4 --steps 30 --eval-batch 4 "
                             "--eval-every 10 --ckpt 5,30,1 --threads 1 --quiet --out %s/run", d);
    if (rc) fail_msg("train: %s", out);
    free(out);
    snprintf(run_dir, sizeof run_dir, "%s/run", d);
    ExploreRequest req;
    explore_request_default(&req);
    req.seq = 2;
    req.max_ckpts = 3;
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    BbError err = {{0}};
    rc = explore_write_json(f, run_dir, &req, NULL, &err);
    fclose(f);
    if (rc) fail_msg("explore_write_json: %s", err.msg);

    /* the sample: the first and the last of the run's checkpoints, 3 of them */
    long *steps;
    int n;
    assert_int_equal(run_checkpoints(run_dir, &steps, &n, &err), BB_OK);
    char want[128];
    snprintf(want, sizeof want, "[%ld,", steps[0]);
    assert_true(strncmp(field(json, "steps"), want, strlen(want)) == 0);
    snprintf(want, sizeof want, ",%ld]", steps[n - 1]);
    assert_non_null(strstr(field(json, "steps"), want));
    snprintf(want, sizeof want, "%d", n);
    assert_true(strncmp(field(json, "ckpts_total"), want, strlen(want)) == 0);

    /* the last checkpoint's sequence, from the analysis functions directly */
    Run r;
    assert_int_equal(run_load(&r, run_dir, -1, &err), BB_OK);
    EvalBatch eb;
    analysis_batch(&eb, &r.task, r.cfg.task.eval_batch, NULL);
    SeqDump sd;
    analysis_sequence(&sd, &r.model, &eb, req.seq, NULL);
    const int L = sd.L, H = sd.H, T = sd.T, NC = 3;
    const size_t tri = (size_t)T * (T + 1) / 2;
    size_t nb;
    unsigned char *q = b64_decode(field(json, "att") + 1, &nb);
    assert_int_equal(nb, (size_t)NC * L * H * tri * 2);
    const char *rp = field(json, "att_range") + 1;
    double *range = malloc((size_t)NC * L * H * 2 * sizeof *range);
    for (int k = 0; k < NC * L * H * 2; k++) {
        char *e;
        range[k] = strtod(rp, &e);
        rp = e + 1;
    }
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            const size_t m = ((size_t)(NC - 1) * L + l) * H + h;
            const double lo = range[2 * m], hi = range[2 * m + 1];
            for (int i = 0; i < T; i++)
                for (int j = 0; j <= i; j++) {
                    const size_t o = 2 * (m * tri + (size_t)i * (i + 1) / 2 + j);
                    const double v = lo + (q[o] | q[o + 1] << 8) / 65535.0 * (hi - lo);
                    const double a = sd.att[(((size_t)l * H + h) * T + i) * T + j];
                    if (fabs(v - a) > (hi - lo) / 65535.0 + 1e-5 * fabs(hi))
                        fail_msg("l%dh%d (%d,%d): page %g, analysis_sequence %g", l, h, i, j, v, a);
                }
        }
    /* value norms of the last checkpoint: its row is the last of value_norm */
    const char *vn = field(json, "value_norm");
    for (int c = 0; c < NC - 1; c++) vn = strstr(vn, "],") + 2;
    while (*vn == '\n' || *vn == '[') vn++;
    for (int x = 0; x < L * H * T; x++) {
        char *e;
        const double v = strtod(vn, &e);
        assert_true(e != vn);
        assert_close(v, sd.value_norm[x], 1e-12, 1e-5);
        vn = e + 1;
    }
    /* the tokens: the escaped labels of the sequence */
    assert_non_null(field(json, "tokens"));
    assert_non_null(strstr(field(json, "tokens"), "[\"\\u003cs\\u003e\","));
    free(range);
    free(q);
    analysis_sequence_free(&sd);
    analysis_batch_free(&eb);
    run_free(&r);
    free(steps);
    free(json);
    remove_tempdir(d);
}

static void test_explore_bad_input_exit_2(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, path[600];
    int rc = run_bbsim(&out, "train --dim 8 --seq 8 --batch 4 --steps 2 --eval-batch 4 --quiet --threads 1 --out %s/run", d);
    if (rc) fail_msg("train: %s", out);
    free(out);
    const char *cases[][2] = {
        {"explore %s/run --seq 4 --out %s/x.html", "--seq 4: the run's evaluation batch has 4 sequences"},
        {"explore %s/nope --out %s/x.html", "not a run directory"},
        {"explore %s/run --max-ckpts 1 --out %s/x.html", "--max-ckpts"},
        {"explore %s/run --out %s/missing/x.html", "missing"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rc = run_bbsim(&out, cases[k][0], d, d);
        if (rc != 2 || strncmp(out, "bbsim explore: ", 15) || !strstr(out, cases[k][1]))
            fail_msg("'%s': exit %d, output '%s' (expected exit 2 saying '%s')", cases[k][0], rc, out, cases[k][1]);
        free(out);
        snprintf(path, sizeof path, "%s/x.html", d);
        assert_int_not_equal(access(path, F_OK), 0);
    }
    /* the default place, and a page that holds its data */
    rc = run_bbsim(&out, "explore %s/run --quiet", d);
    if (rc) fail_msg("explore: %s", out);
    free(out);
    snprintf(path, sizeof path, "%s/run/explore.html", d);
    assert_int_equal(access(path, R_OK), 0);
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_checkpoints),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_explore_data),
        cmocka_unit_test(test_explore_bad_input_exit_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
