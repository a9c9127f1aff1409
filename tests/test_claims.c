/* Tests of the TSV reader and the claims table: what bbsim claims stands on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/claims.h"
#include "bbsim/tsv.h"
#include "testutil.h"

static void test_tsv_reads_header_rows_and_skips_comments(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    snprintf(p, sizeof p, "%s/a.tsv", d);
    write_text(p, "# bbsim\n# seed 1\nlayer\thead\tmetric\tvalue\n-1\t-1\tloss\t1.5\n0\t0\tattn_bos\t0.93\n\n0\t0\tname\tNaN\n");
    Tsv t;
    BbError err;
    assert_int_equal(tsv_read(p, &t, &err), 0);
    assert_int_equal(t.ncols, 4);
    assert_int_equal(t.nrows, 3);
    assert_int_equal(tsv_col(&t, "metric"), 2);
    assert_int_equal(tsv_col(&t, "nope"), -1);
    assert_string_equal(tsv_str(&t, 1, 2), "attn_bos");
    assert_close(tsv_num(&t, 0, 3), 1.5, 0, 0);
    assert_true(isnan(tsv_num(&t, 1, 2))); /* text is not a number */
    double v = 0;
    assert_int_equal(tsv_metric(&t, 0, 0, "attn_bos", &v, &err), 0);
    assert_close(v, 0.93, 0, 1e-15);
    assert_int_equal(tsv_metric(&t, 1, 0, "attn_bos", &v, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "attn_bos"));
    tsv_free(&t);
    remove_tempdir(d);
}

static void test_tsv_errors_name_file_and_line(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    Tsv t;
    BbError err;
    snprintf(p, sizeof p, "%s/ragged.tsv", d);
    write_text(p, "# x\na\tb\tc\n1\t2\t3\n1\t2\n");
    assert_int_equal(tsv_read(p, &t, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "ragged.tsv:4"));
    assert_non_null(strstr(err.msg, "2 fields"));
    snprintf(p, sizeof p, "%s/empty.tsv", d);
    write_text(p, "# only provenance\n");
    assert_int_equal(tsv_read(p, &t, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "no header"));
    snprintf(p, sizeof p, "%s/missing.tsv", d);
    assert_int_equal(tsv_read(p, &t, &err), BB_EIO);
    assert_non_null(strstr(err.msg, "missing.tsv"));
    tsv_free(&t); /* safe on a failed read */
    remove_tempdir(d);
}

static void test_claims_round_trip_and_nan_never_passes(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    ClaimList a = {0}, b = {0};
    claims_add(&a, "C1", "sink", "Attn<s> -> 1", 0.97, ">= 0.9", 0.97 >= 0.9, "n %d", 512);
    claims_add(&a, "C2", "drain\twith tab", "small", NAN, "<= 0.3", 1, "nothing measured");
    assert_int_equal(a.c[1].pass, 0);
    BbError err;
    assert_int_equal(claims_write_tsv(&a, p, NULL, 0, &err), 0);
    assert_int_equal(claims_read_tsv(&b, p, &err), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.c[0].id, "C1");
    assert_close(b.c[0].measured, 0.97, 0, 1e-6);
    assert_int_equal(b.c[0].pass, 1);
    assert_string_equal(b.c[0].fit, "n 512");
    assert_string_equal(b.c[1].claim, "drain with tab");
    assert_int_equal(b.c[1].pass, 0);
    /* a bad verdict is refused */
    write_text(p, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\nC1\tx\ty\t1\tz\tw\tMAYBE\n");
    ClaimList c = {0};
    assert_int_equal(claims_read_tsv(&c, p, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "MAYBE"));
    remove_tempdir(d);
}

static void test_claims_cli_reports_missing_inputs(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    int rc = run_bbsim(&out, "claims %s --sections theory", d);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "theory.tsv"));
    free(out);
    rc = run_bbsim(&out, "claims %s --sections nosuch", d);
    assert_int_equal(rc, 2);
    free(out);
    remove_tempdir(d);
}

/* Sections not requested still give rows: every claim of the contract is in claims.tsv,
 * the ones not decided as NOT RUN (with why), and NOT RUN reads back as such. */
static void test_claims_lists_every_claim(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512], *out = NULL;
    snprintf(p, sizeof p, "%s/theory", d);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/theory/theory.tsv", d);
    write_text(p, "# bbsim\nid\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\n"
                  "C10\ttoy\tgrows\t6.4\tfit\t>= 4\tPASS\nC12\tdrain\t-> 0\t1\tfit\t<= 0.2\tFAIL\n");
    int rc = run_bbsim(&out, "claims %s --sections theory", d);
    if (rc) fail_msg("bbsim claims: %s", out);
    assert_non_null(strstr(out, "1 PASS, 1 FAIL"));
    free(out);
    ClaimList l = {0};
    BbError err;
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    assert_int_equal(claims_read_tsv(&l, p, &err), 0);
    for (int c = 1; c <= 17; c++) {
        char id[8];
        snprintf(id, sizeof id, "C%d", c);
        int rows = 0, not_run = 0;
        for (int i = 0; i < l.n; i++)
            if (!strcmp(l.c[i].id, id)) rows++, not_run += l.c[i].not_run;
        if (!rows) fail_msg("claims.tsv has no row for %s", id);
        /* C10 and C12 come from theory.tsv; C11 (absent there) and every other claim is NOT RUN */
        if ((c == 10 || c == 12) ? not_run != 0 : not_run != rows) fail_msg("%s: %d of %d rows NOT RUN", id, not_run, rows);
    }
    for (int i = 0; i < l.n; i++)
        if (l.c[i].not_run) {
            assert_int_equal(l.c[i].pass, 0);
            assert_true(isnan(l.c[i].measured));
            assert_true(strlen(l.c[i].fit) > 10); /* says why */
        }
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsv_reads_header_rows_and_skips_comments),
        cmocka_unit_test(test_tsv_errors_name_file_and_line),
        cmocka_unit_test(test_claims_round_trip_and_nan_never_passes),
        cmocka_unit_test(test_claims_cli_reports_missing_inputs),
        cmocka_unit_test(test_claims_lists_every_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
