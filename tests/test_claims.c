/* Tests of the TSV files (the writer's layout, the escape of text fields, the reader) and
 * of the claims table: what bbsim claims stands on. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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
    assert_int_equal(tsv_read(p, &t, &err), BB_EINPUT); /* bad input (exit 2), as every reader's */
    assert_non_null(strstr(err.msg, "missing.tsv"));
    /* a NUL byte is an error at its line, a FIFO is not read (it would block) */
    snprintf(p, sizeof p, "%s/nul.tsv", d);
    FILE *f = fopen(p, "wb");
    fwrite("a\tb\n1\t2\n3\0\t4\n", 1, 13, f);
    fclose(f);
    assert_int_equal(tsv_read(p, &t, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "nul.tsv:3: NUL byte"));
    snprintf(p, sizeof p, "%s/fifo.tsv", d);
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(tsv_read(p, &t, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "is a FIFO (named pipe), not a regular file"));
    unlink(p);
    tsv_free(&t); /* safe on a failed read */
    remove_tempdir(d);
}

/* The layout every TSV gets from tsv_begin: the column names on line 1 (what numpy's
 * genfromtxt(names=True) reads), the provenance right after, then the writer's lines. */
static void test_tsv_writer_layout(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512], line[4096];
    TsvWriter w;
    BbError err;
    assert_int_equal(tsv_begin(&w, d, "t.tsv", "step\tvalue\tlabel", &err), 0);
    assert_int_equal(w.ncols, 3);
    fputs("# value = what it measures\n", w.f);
    fputs("1\t0.5\ta\n", w.f);
    fputs("# a comment between rows\n", w.f);
    fputs("2\tNaN\t\\s\n", w.f);
    snprintf(p, sizeof p, "%s/t.tsv", d);
    assert_int_equal(access(p, F_OK), -1); /* atomic: nothing there before the commit */
    assert_int_equal(tsv_commit(&w, &err), 0);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    const char *want[] = {"step\tvalue\tlabel\n", "# bbsim ", "# command ", "# threads ", "# built against "};
    for (int i = 0; i < 5; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        if (strncmp(line, want[i], strlen(want[i]))) fail_msg("line %d is '%s', expected '%s...'", i + 1, line, want[i]);
        if (i == 3) assert_int_equal(atoi(line + strlen(want[i])), omp_get_max_threads()); /* the count in use */
    }
    fclose(f);
    Tsv t;
    assert_int_equal(tsv_read(p, &t, &err), 0); /* bbsim's own reader: the same table */
    assert_int_equal(t.ncols, 3);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.names[2], "label");
    assert_string_equal(tsv_str(&t, 1, 2), "\\s");
    assert_true(isnan(tsv_num(&t, 1, 1)));
    tsv_free(&t);
    /* tsv_abort leaves nothing behind; a NULL dir takes the name as the path */
    snprintf(p, sizeof p, "%s/gone.tsv", d);
    assert_int_equal(tsv_begin(&w, NULL, p, "a", &err), 0);
    tsv_abort(&w);
    assert_int_equal(access(p, F_OK), -1);
    strcat(p, ".tmp");
    assert_int_equal(access(p, F_OK), -1);
    /* an unwritable place is an error, not a crash */
    assert_int_equal(tsv_begin(&w, "/nonexistent-dir", "x.tsv", "a", &err), BB_EIO);
    /* the head on a stream (train's appended metrics.tsv) */
    snprintf(p, sizeof p, "%s/head.tsv", d);
    f = fopen(p, "w");
    assert_int_equal(tsv_write_head(f, "a\tb_2\tC3"), 3);
    fclose(f);
    assert_int_equal(tsv_read(p, &t, &err), 0);
    assert_int_equal(t.ncols, 3);
    assert_int_equal(t.nrows, 0);
    tsv_free(&t);
    remove_tempdir(d);
}

/* No escaped byte is a tab, newline, '#', '"' (nor, for labels, a space or anything
 * outside printable ASCII), and tsv_unescape gives the bytes back. */
static void check_escape(const unsigned char *s, size_t n, TsvEscape mode) {
    char out[4 * 64 + 1];
    unsigned char back[64];
    size_t m = 0;
    assert_true(n <= 64);
    assert_int_equal(tsv_escape(out, sizeof out, s, n, mode), n);
    for (const char *c = out; *c; c++) {
        const int ok = mode == TSV_ESC_LABEL ? *c > ' ' && *c < 127 : *c >= ' ' && *c < 127;
        if (!ok || *c == '#' || *c == '"') fail_msg("escape of %zu bytes holds byte 0x%02X: '%s'", n, (unsigned char)*c, out);
    }
    assert_int_equal(tsv_unescape(back, sizeof back, out, &m), 0);
    assert_int_equal(m, n);
    assert_memory_equal(back, s, n);
}

static void test_tsv_escape(void **state) {
    (void)state;
    const struct { const char *in, *label, *text; } cases[] = {
        {" ", "\\s", " "},          {"#", "\\x23", "\\x23"},   {"\"", "\\x22", "\\x22"},
        {"\\", "\\\\", "\\\\"},     {"\t", "\\t", "\\t"},      {"\n", "\\n", "\\n"},
        {"\r", "\\r", "\\r"},       {"\x01", "\\x01", "\\x01"}, {"\xe9", "\\xE9", "\\xE9"},
        {"\x7f", "\\x7F", "\\x7F"}, {"a b", "a\\sb", "a b"},   {"<s>", "<s>", "<s>"},
        {"x'y", "x'y", "x'y"},
    };
    char out[64];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tsv_escape(out, sizeof out, cases[k].in, strlen(cases[k].in), TSV_ESC_LABEL);
        assert_string_equal(out, cases[k].label);
        tsv_escape(out, sizeof out, cases[k].in, strlen(cases[k].in), TSV_ESC_TEXT);
        assert_string_equal(out, cases[k].text);
    }
    /* every byte alone, then pseudo-random strings, both modes */
    for (int c = 0; c < 256; c++) {
        const unsigned char b = (unsigned char)c;
        check_escape(&b, 1, TSV_ESC_LABEL);
        check_escape(&b, 1, TSV_ESC_TEXT);
    }
    uint64_t x = 88172645463325252ULL;
    for (int trial = 0; trial < 2000; trial++) {
        unsigned char s[64];
        const size_t n = (size_t)trial % 65;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            /* mostly the characters that matter, sometimes any byte */
            s[i] = x % 4 ? (unsigned char)" #\"\\\tab"[x % 8] : (unsigned char)(x >> 56);
        }
        check_escape(s, n, trial % 2 ? TSV_ESC_TEXT : TSV_ESC_LABEL);
    }
    /* a short buffer cuts between escapes, never inside one; the cut part reads back */
    assert_int_equal(tsv_escape(out, 6, "ab##", 4, TSV_ESC_LABEL), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(tsv_escape(out, 7, "ab##", 4, TSV_ESC_LABEL), 3);
    assert_string_equal(out, "ab\\x23");
    assert_int_equal(tsv_escape(out, 1, "a", 1, TSV_ESC_LABEL), 0);
    assert_string_equal(out, "");
    /* tsv_put_text writes the same as tsv_escape */
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    tsv_put_text(f, "R2 0.9; \"fit\" #1\\", TSV_ESC_TEXT);
    fclose(f);
    assert_string_equal(mem, "R2 0.9; \\x22fit\\x22 \\x231\\\\");
    free(mem);
    /* bad escapes and a short output are refused; lower-case hex is read */
    unsigned char back[8];
    size_t n;
    const char *bad[] = {"\\", "a\\q", "\\x4", "\\xZZ", "\\x"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        if (tsv_unescape(back, sizeof back, bad[k], &n) != BB_EINPUT) fail_msg("'%s' was accepted", bad[k]);
    assert_int_equal(tsv_unescape(back, 2, "abc", &n), BB_EINPUT);
    assert_int_equal(tsv_unescape(back, sizeof back, "\\xe9\\s", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(back[0], 0xE9);
    assert_int_equal(back[1], ' ');
}

static void test_claims_round_trip_and_nan_never_passes(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    ClaimList a = {0}, b = {0};
    claims_add(&a, "C1", "sink", "Attn<s> -> 1", 0.97, ">= 0.9", 0.97 >= 0.9, "n %d", 512);
    claims_add(&a, "C2", "drain\twith tab", "small", NAN, "<= 0.3", 1, "nothing measured");
    claims_add(&a, "C3", "a \"quoted\" #hash", "x \\ y", 1, "< 2", 1, "n #%d \"q\"", 3);
    assert_int_equal(a.c[1].pass, 0);
    BbError err;
    assert_int_equal(claims_write_tsv(&a, p, NULL, 0, &err), 0);
    assert_int_equal(claims_read_tsv(&b, p, &err), 0);
    assert_int_equal(b.n, 3);
    /* '#' and '"' are escaped in the file (no data row holds one) and read back as they were */
    FILE *f = fopen(p, "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\tseeds\tseeds_pass\tmin\tmax\t"
                              "values\tci_low\tci_high\tpooled_k\tpooled_n\n");
    while (fgets(line, sizeof line, f))
        if (line[0] != '#') assert_true(!strchr(line, '#') && !strchr(line, '"'));
    fclose(f);
    assert_string_equal(b.c[2].claim, "a \"quoted\" #hash");
    assert_string_equal(b.c[2].prediction, "x \\ y");
    assert_string_equal(b.c[2].fit, "n #3 \"q\"");
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

/* A section for claims_decide_seeds: one row whose value is the number in DIR/value.txt
 * (DIR = OUT for the first seed, OUT/seedK for seed K), passing at >= 0.9. */
static int value_section(const char *out, ClaimList *l, BbError *err) {
    char p[512];
    snprintf(p, sizeof p, "%s/value.txt", out);
    FILE *f = fopen(p, "r");
    double v;
    if (!f) return bb_fail(err, BB_EINPUT, "cannot open %s", p);
    int ok = fscanf(f, "%lf", &v) == 1;
    fclose(f);
    if (!ok) return bb_fail(err, BB_EINPUT, "%s: no number", p);
    claims_add(l, "C1", "value", "-> 1", v, ">= 0.9", v >= 0.9, "v %g", v);
    return BB_OK;
}

static void write_value(const char *d, const char *sub, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s%s", d, sub);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s%s/value.txt", d, sub);
    write_text(p, text);
}

/* Over seeds: the median is measured, the range and every value are kept, the verdict
 * counts the seeds that passed (PASS all, FAIL none, MIXED otherwise), a MIXED row reads
 * back as such, and a missing replicate is an error naming it. */
static void test_claims_decide_over_seeds(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    const ClaimSection sec = {"value", "C1", value_section, "-"};
    write_value(d, "", "0.95");
    write_value(d, "/seed2", "0.5");
    write_value(d, "/seed3", "0.99");
    ClaimList l = {0}, back = {0};
    BbError err;
    assert_int_equal(claims_decide_seeds(&sec, d, 3, &l, &err), 0);
    assert_int_equal(l.n, 1);
    const Claim *c = &l.c[0];
    assert_close(c->measured, 0.95, 0, 1e-12);
    assert_close(c->lo, 0.5, 0, 1e-12);
    assert_close(c->hi, 0.99, 0, 1e-12);
    assert_int_equal(c->seeds, 3);
    assert_int_equal(c->seeds_pass, 2);
    assert_int_equal(c->pass, 0);
    assert_string_equal(claims_verdict(c), "MIXED");
    assert_string_equal(c->values, "0.95,0.5,0.99");
    assert_string_equal(c->fit, "v 0.95"); /* the first seed's side numbers */
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    assert_int_equal(claims_write_tsv(&l, p, NULL, 0, &err), 0);
    assert_int_equal(claims_read_tsv(&back, p, &err), 0);
    assert_string_equal(claims_verdict(&back.c[0]), "MIXED");
    assert_int_equal(back.c[0].seeds_pass, 2);
    assert_string_equal(back.c[0].values, "0.95,0.5,0.99");
    /* every seed passes: PASS; none: FAIL; one seed: the row as the section made it */
    l.n = 0;
    write_value(d, "/seed2", "0.91");
    assert_int_equal(claims_decide_seeds(&sec, d, 3, &l, &err), 0);
    assert_string_equal(claims_verdict(&l.c[0]), "PASS");
    l.n = 0;
    write_value(d, "", "0.1");
    write_value(d, "/seed2", "0.2");
    write_value(d, "/seed3", "0.3");
    assert_int_equal(claims_decide_seeds(&sec, d, 3, &l, &err), 0);
    assert_string_equal(claims_verdict(&l.c[0]), "FAIL");
    assert_close(l.c[0].measured, 0.2, 0, 1e-12);
    l.n = 0;
    assert_int_equal(claims_decide_seeds(&sec, d, 1, &l, &err), 0);
    assert_int_equal(l.c[0].seeds, 1);
    assert_close(l.c[0].measured, 0.1, 0, 1e-12);
    /* a replicate that is not there */
    l.n = 0;
    assert_int_equal(claims_decide_seeds(&sec, d, 4, &l, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "seed 4 of 4"));
    assert_non_null(strstr(err.msg, "seed4/value.txt"));
    /* a MIXED verdict that the seed counts do not support is refused */
    write_text(p, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\tseeds\tseeds_pass\tmin\tmax\tvalues\n"
                  "C1\tx\ty\t1\tz\tw\tMIXED\t3\t3\t1\t1\t1,1,1\n");
    back.n = 0;
    assert_int_equal(claims_read_tsv(&back, p, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "3 of 3 seeds"));
    remove_tempdir(d);
}

/* The 95% Wilson score interval: the closed forms at k = 0 and k = n (z^2 / (n + z^2),
 * n / (n + z^2)), the values of the docs' rule (4 and 0 of 8 heads), Newcombe's (1998,
 * Stat. Med. 17:857, Table I, method 3) published examples, a fractional count, the
 * symmetry lo(k) = 1 - hi(n - k), and NaN on counts that are not a proportion. */
static void test_claims_wilson_interval(void **state) {
    (void)state;
    const double z2 = 1.959963984540054 * 1.959963984540054;
    double lo, hi;
    claims_wilson(4, 8, 0.95, &lo, &hi);
    assert_close(lo, 0.215216, 1e-6, 0);
    assert_close(hi, 0.784784, 1e-6, 0);
    claims_wilson(0, 8, 0.95, &lo, &hi);
    assert_close(lo, 0, 1e-15, 0);
    assert_close(hi, z2 / (8 + z2), 1e-12, 0); /* 0.324408 */
    assert_close(hi, 0.324408, 1e-6, 0);
    claims_wilson(8, 8, 0.95, &lo, &hi);
    assert_close(lo, 8 / (8 + z2), 1e-12, 0); /* 0.675592 */
    assert_close(hi, 1, 1e-15, 0);
    const struct { double k, n, lo, hi; } newcombe[] = {
        {81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0, 0.1611}, {1, 29, 0.0061, 0.1718}};
    for (size_t i = 0; i < sizeof newcombe / sizeof newcombe[0]; i++) {
        claims_wilson(newcombe[i].k, newcombe[i].n, 0.95, &lo, &hi);
        if (fabs(lo - newcombe[i].lo) > 5e-5 || fabs(hi - newcombe[i].hi) > 5e-5)
            fail_msg("%g of %g: [%.5f, %.5f], Newcombe [%.4f, %.4f]", newcombe[i].k, newcombe[i].n, lo, hi,
                     newcombe[i].lo, newcombe[i].hi);
    }
    claims_wilson(3.936, 8, 0.95, &lo, &hi); /* softmax's 49.2% of 8 heads */
    assert_close(lo, 0.209836, 1e-6, 0);
    assert_close(hi, 0.779355, 1e-6, 0);
    double lo2, hi2;
    claims_wilson(8 - 3.936, 8, 0.95, &lo2, &hi2);
    assert_close(lo, 1 - hi2, 1e-12, 0);
    assert_close(hi, 1 - lo2, 1e-12, 0);
    claims_wilson(1, 8, 0.99, &lo2, &hi2); /* a higher level: a wider interval */
    claims_wilson(1, 8, 0.95, &lo, &hi);
    assert_true(lo2 < lo && hi2 > hi);
    const double bad[][2] = {{1, 0}, {-0.5, 8}, {9, 8}, {NAN, 8}, {1, NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        claims_wilson(bad[i][0], bad[i][1], 0.95, &lo, &hi);
        if (!isnan(lo) || !isnan(hi)) fail_msg("%g of %g gave [%g, %g], not NaN", bad[i][0], bad[i][1], lo, hi);
    }
}

/* One rate row, k of n heads, decided by claims_set_rate (one seed); its verdict. */
static const char *rate_verdict(ClaimList *l, double k, double n, double threshold, int above) {
    l->n = 0;
    claims_add(l, "C15", "rate", "-", 100 * k / n, above ? ">= t" : "<= t", 1, "-");
    claims_set_rate(l, k, n, threshold, above);
    return claims_verdict(&l->c[0]);
}

/* PASS when the whole interval is on the passing side of the threshold, FAIL when it is
 * all on the failing side, UNDECIDED when it straddles it: never MIXED, and a NaN rate
 * fails. Then the verdict and the interval read back from claims.tsv, and a reader
 * refuses UNDECIDED on a row that is not a rate, and MIXED on one that is. */
static void test_claims_rate_verdicts(void **state) {
    (void)state;
    ClaimList l = {0}, back = {0};
    /* >= 50% */
    assert_string_equal(rate_verdict(&l, 8, 8, 50, 1), "PASS"); /* [67.6, 100] */
    assert_close(l.c[0].ci_lo, 67.5592, 1e-4, 0);
    assert_string_equal(rate_verdict(&l, 7, 8, 50, 1), "PASS");      /* [52.9, 97.8]: just above */
    assert_string_equal(rate_verdict(&l, 6, 8, 50, 1), "UNDECIDED"); /* [40.9, 92.9] */
    assert_string_equal(rate_verdict(&l, 4, 8, 50, 1), "UNDECIDED"); /* [21.5, 78.5] */
    assert_int_equal(l.c[0].seeds_pass, 1);                          /* 50% itself is on the passing side */
    assert_string_equal(rate_verdict(&l, 3.936, 8, 50, 1), "UNDECIDED");
    assert_int_equal(l.c[0].seeds_pass, 0);
    assert_string_equal(rate_verdict(&l, 1, 8, 50, 1), "FAIL"); /* [2.2, 47.1]: all below */
    assert_close(l.c[0].ci_hi, 47.0888, 1e-4, 0);
    /* <= 10% */
    assert_string_equal(rate_verdict(&l, 0, 8, 10, 0), "UNDECIDED"); /* [0, 32.4]: 8 heads cannot show it */
    assert_string_equal(rate_verdict(&l, 0, 34, 10, 0), "UNDECIDED"); /* [0, 10.2] */
    assert_string_equal(rate_verdict(&l, 0, 35, 10, 0), "PASS");      /* [0, 9.9] */
    assert_string_equal(rate_verdict(&l, 8, 40, 10, 0), "FAIL");      /* 20%: [10.5, 35.0], all above */
    assert_true(l.c[0].ci_lo > 10 && l.c[0].ci_lo < 11);
    assert_string_equal(rate_verdict(&l, 7, 40, 10, 0), "UNDECIDED"); /* 17.5%: [8.7, 32.0] */
    /* a NaN rate (no heads) never passes and is not UNDECIDED either */
    assert_string_equal(rate_verdict(&l, NAN, 8, 50, 1), "FAIL");
    assert_string_equal(rate_verdict(&l, 0, 0, 10, 0), "FAIL");
    /* round trip: the verdict, the interval and the counts; other rows get NaN there */
    char *d = make_tempdir(), p[512];
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    rate_verdict(&l, 4, 8, 50, 1);
    claims_add(&l, "C1", "not a rate", "-", 1, ">= 0.9", 1, "-");
    BbError err;
    assert_int_equal(claims_write_tsv(&l, p, NULL, 0, &err), 0);
    assert_int_equal(claims_read_tsv(&back, p, &err), 0);
    assert_string_equal(claims_verdict(&back.c[0]), "UNDECIDED");
    assert_int_equal(back.c[0].rate, 1);
    assert_close(back.c[0].ci_lo, 21.5216, 1e-4, 0);
    assert_close(back.c[0].ci_hi, 78.4784, 1e-4, 0);
    assert_close(back.c[0].rate_k, 4, 0, 0);
    assert_close(back.c[0].rate_n, 8, 0, 0);
    assert_int_equal(back.c[1].rate, 0);
    assert_string_equal(claims_verdict(&back.c[1]), "PASS");
    const char *head = "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\tseeds\tseeds_pass\tmin\tmax\tvalues\t"
                       "ci_low\tci_high\tpooled_k\tpooled_n\n";
    char text[1024];
    snprintf(text, sizeof text, "%sC15\tx\ty\t50\tz\tw\tUNDECIDED\t1\t1\t50\t50\t50\tNaN\tNaN\tNaN\tNaN\n", head);
    write_text(p, text);
    back.n = 0;
    assert_int_equal(claims_read_tsv(&back, p, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "verdict UNDECIDED on a row that is not a rate"));
    snprintf(text, sizeof text, "%sC15\tx\ty\t50\tz\tw\tMIXED\t2\t1\t40\t60\t40,60\t30\t70\t8\t16\n", head);
    write_text(p, text);
    back.n = 0;
    assert_int_equal(claims_read_tsv(&back, p, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "verdict MIXED on a row that is a rate"));
    /* a table of bbsim 0.2 (no seed, no rate columns) still reads */
    write_text(p, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\nC15\tx\ty\t50\tz\tw\tFAIL\n");
    back.n = 0;
    assert_int_equal(claims_read_tsv(&back, p, &err), 0);
    assert_int_equal(back.c[0].rate, 0);
    remove_tempdir(d);
}

static void test_claims_cli_reports_missing_inputs(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    int rc = run_bbsim(&out, "claims %s --sections theory", d);
    assert_int_equal(rc, 2); /* a missing input is bad input (docs/method.md#exit-statuses) */
    assert_non_null(strstr(out, "bbsim claims: section theory: "));
    assert_non_null(strstr(out, "theory.tsv"));
    free(out);
    rc = run_bbsim(&out, "claims %s --sections nosuch", d);
    assert_int_equal(rc, 2);
    free(out);
    rc = run_bbsim(&out, "claims %s --sections theory:0", d);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "'theory:0': the number of seeds after ':' must be 1 to 99"));
    free(out);
    remove_tempdir(d);
}

/* Issue 22: --profile takes only the profiles of paper_repro/Makefile, and --sections must
 * name a section: ",", "", "a,,b" and a trailing comma are refused (each once gave exit 0
 * with every claim NOT RUN, or recorded any profile name). */
static void test_claims_cli_refuses_bad_profile_and_empty_sections(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, p[512];
    int rc = run_bbsim(&out, "claims %s --profile quik --sections theory", d);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "bbsim claims: --profile: unknown value 'quik' (did you mean quick? choose one of: "
                                "quick, paper, smoke)"));
    const char *nl = strchr(out, '\n');
    assert_true(nl && nl[1] == '\0'); /* one line */
    free(out);
    const char *empty[] = {",", "''", "theory,,deep", "theory,", ",theory"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        rc = run_bbsim(&out, "claims %s --sections %s", d, empty[i]);
        if (rc != 2 || !strstr(out, "an empty section name"))
            fail_msg("--sections %s: exit %d, '%s'", empty[i], rc, out);
        free(out);
    }
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    assert_int_equal(access(p, F_OK), -1); /* nothing written */
    /* a known profile is recorded in the header */
    snprintf(p, sizeof p, "%s/theory", d);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/theory/theory.tsv", d);
    write_text(p, "id\tclaim\tprediction\tmeasured\tfit\tthreshold\tverdict\nC10\ttoy\tgrows\t6.4\tfit\t>= 4\tPASS\n");
    rc = run_bbsim(&out, "claims %s --profile smoke --sections theory --quiet", d);
    if (rc) fail_msg("bbsim claims: %s", out);
    free(out);
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    FILE *f = fopen(p, "r");
    char line[1024];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) found |= !strcmp(line, "# config profile smoke\n");
    if (f) fclose(f);
    assert_true(found);
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
    assert_non_null(strstr(out, "1 PASS, 0 MIXED, 1 FAIL"));
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

/* ---- C15 (section activations) and C16 (section context) on hand-made inputs */

static void mkdirs(const char *d, const char *rel) {
    char p[512], *q;
    snprintf(p, sizeof p, "%s/%s", d, rel);
    for (q = p + strlen(d) + 1; *q; q++)
        if (*q == '/') *q = 0, mkdir(p, 0755), *q = '/';
    mkdir(p, 0755);
}

/* One run of the activation sweep: 2 layers x 2 heads; layer 1 sinks with share `bos`,
 * the slot takes `slot` of every row (non-trigger and trigger alike). */
static void write_act_run(const char *d, const char *attn, double sink_rate, double loss, double bos, double slot) {
    char rel[128], p[512], text[4096];
    snprintf(rel, sizeof rel, "runs/rel_%s/analysis", attn);
    mkdirs(d, rel);
    snprintf(p, sizeof p, "%s/%s/sink.tsv", d, rel);
    snprintf(text, sizeof text, "# config seq 64\nkey\teps\tsink_rate\tchance\theads\tsequences\n0\t0.3\t%g\t7.41\t4\t512\n",
             sink_rate);
    write_text(p, text);
    int n = snprintf(text, sizeof text, "# bbsim\nlayer\thead\tmetric\tvalue\n-1\t-1\tloss\t%g\n-1\t-1\ttrigger_frac\t0.25\n",
                     loss);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 2; h++)
            n += snprintf(text + n, sizeof text - (size_t)n,
                          "%d\t%d\tattn_bos\t%g\n%d\t%d\tattn_mass\t0.5\n%d\t%d\tattn_slot\t%g\n%d\t%d\tattn_slot_trigger\t%g\n",
                          l, h, l ? bos : 0.1, l, h, l, h, slot, l, h, slot);
    snprintf(p, sizeof p, "%s/%s/metrics.tsv", d, rel);
    write_text(p, text);
}

static const Claim *find_row(const ClaimList *l, const char *prefix) {
    for (int i = 0; i < l->n; i++)
        if (!strncmp(l->c[i].claim, prefix, strlen(prefix))) return &l->c[i];
    fail_msg("no row starting with '%s'", prefix);
    return NULL;
}

static void test_claims_activations_rows_and_missing_input(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    /* one seed of 4 heads: the sink-rate rows are decided by their interval (below) */
    write_act_run(d, "softmax", 100, 1.75, 0.95, 0);
    write_act_run(d, "sigmoid-norm", 49.9, 1.76, 0.9, 0);
    write_act_run(d, "sigmoid", 10, 1.80, 0.2, 0);
    write_act_run(d, "relu", 100, 1.70, 0.2, 0);
    write_act_run(d, "softmax-keybias", 5, 1.75, 0.1, 0.31); /* every head above 0.3 on the slot */
    write_act_run(d, "softmax1", 0, 1.90, 0.1, 0.1);         /* 8.6% above softmax */
    ClaimList l = {0};
    BbError err;
    assert_int_equal(claims_activations(d, &l, &err), 0);
    assert_int_equal(l.n, 6);
    const Claim *c = find_row(&l, "softmax: sink rate");
    assert_close(c->measured, 100, 0, 0);
    assert_int_equal(c->rate, 1);
    assert_close(c->rate_k, 4, 0, 1e-12); /* 4 of the 4 heads of sink.tsv */
    assert_close(c->rate_n, 4, 0, 0);
    assert_string_equal(claims_verdict(c), "PASS"); /* 4 of 4: [51.0%, 100%], all >= 50% */
    assert_non_null(strstr(c->fit, "chance 7.41%"));
    c = find_row(&l, "sigmoid-norm: sink rate");
    assert_close(c->rate_k, 4 * 0.499, 0, 1e-12);
    assert_string_equal(claims_verdict(c), "UNDECIDED");
    assert_int_equal(c->seeds_pass, 0); /* its own rate is below 50% */
    c = find_row(&l, "sigmoid: sink rate");
    assert_string_equal(claims_verdict(c), "UNDECIDED"); /* 0.4 of 4 heads cannot show <= 10% */
    assert_int_equal(c->seeds_pass, 1);                  /* ... although 10% itself is */
    assert_non_null(strstr(c->fit, "raw row mass"));
    assert_string_equal(claims_verdict(find_row(&l, "relu: sink rate")), "FAIL"); /* [51.0%, 100%], all > 10% */
    c = find_row(&l, "softmax-keybias");
    assert_close(c->measured, 100, 0, 1e-12);
    assert_int_equal(c->pass, 1);
    assert_int_equal(c->rate, 0); /* two conditions: the per-seed rule */
    c = find_row(&l, "final loss");
    assert_close(c->measured, 100 * (1.90 / 1.75 - 1), 0, 1e-9);
    assert_int_equal(c->pass, 0);
    assert_non_null(strstr(c->fit, "worst softmax1"));
    /* keybias with a first-token sink fails even with the slot taken */
    write_act_run(d, "softmax-keybias", 25, 1.75, 0.5, 0.31);
    l.n = 0;
    assert_int_equal(claims_activations(d, &l, &err), 0);
    assert_int_equal(find_row(&l, "softmax-keybias")->pass, 0);
    /* a missing input is refused, naming the file */
    snprintf(p, sizeof p, "%s/runs/rel_relu/analysis/sink.tsv", d);
    assert_int_equal(remove(p), 0);
    l.n = 0;
    assert_int_not_equal(claims_activations(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "rel_relu/analysis/sink.tsv"));
    remove_tempdir(d);
}

/* The activation sweep's runs under OUT (seed 1) and OUT/seedK; rates[a] per seed for
 * softmax, sigmoid-norm, sigmoid, relu (4 heads per run). */
static void write_act_seeds(const char *d, int nseeds, const double rates[][4]) {
    static const char *const acts[4] = {"softmax", "sigmoid-norm", "sigmoid", "relu"};
    for (int k = 0; k < nseeds; k++) {
        char root[512];
        if (k) snprintf(root, sizeof root, "%s/seed%d", d, k + 1), mkdir(root, 0755);
        else snprintf(root, sizeof root, "%s", d);
        for (int a = 0; a < 4; a++) write_act_run(root, acts[a], rates[k][a], 1.75, 0.9, 0);
        write_act_run(root, "softmax-keybias", 5, 1.75, 0.1, 0.31);
        write_act_run(root, "softmax1", 0, 1.75, 0.1, 0.1);
    }
}

static const ClaimSection *section_named(const char *name) {
    for (int k = 0; k < claim_nsections; k++)
        if (!strcmp(claim_sections[k].name, name)) return &claim_sections[k];
    fail_msg("no section %s", name);
    return NULL;
}

/* C15's sink rates over five seeds of fake runs (4 heads each, 20 pooled): each seed of
 * softmax alone is UNDECIDED, pooled it PASSes; sigmoid-norm with one seed below 50% PASSes
 * pooled (not MIXED); sigmoid at 0% on every seed (PASS 5/5 under the per-seed rule)
 * is UNDECIDED (0 of 20 heads: [0, 16.1%]) and PASSes with nine seeds (0 of 36: [0, 9.6%]);
 * relu's interval lies above 10%: FAIL. Through bbsim claims: the table and the
 * summary count UNDECIDED. */
static void test_claims_rates_pooled_over_seeds(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512], *out = NULL;
    const double rates[9][4] = {{75, 100, 0, 50}, {75, 100, 0, 50}, {75, 100, 0, 50}, {75, 100, 0, 50},
                                {75, 25, 0, 50},  {75, 100, 0, 50}, {75, 100, 0, 50}, {75, 100, 0, 50},
                                {75, 100, 0, 50}};
    write_act_seeds(d, 9, rates);
    const ClaimSection *sec = section_named("activations");
    ClaimList one = {0}, l = {0};
    BbError err;
    assert_int_equal(claims_decide_seeds(sec, d, 1, &one, &err), 0);
    assert_string_equal(claims_verdict(find_row(&one, "softmax: sink rate")), "UNDECIDED"); /* 3 of 4: [30.1, 95.4] */
    assert_int_equal(claims_decide_seeds(sec, d, 5, &l, &err), 0);
    const Claim *c = find_row(&l, "softmax: sink rate");
    assert_string_equal(claims_verdict(c), "PASS"); /* 15 of 20: [53.1, 88.8] */
    assert_close(c->rate_k, 15, 0, 1e-12);
    assert_close(c->rate_n, 20, 0, 0);
    assert_close(c->ci_lo, 53.1299, 1e-4, 0);
    assert_close(c->ci_hi, 88.8138, 1e-4, 0);
    assert_int_equal(c->seeds, 5);
    c = find_row(&l, "sigmoid-norm: sink rate");
    assert_string_equal(claims_verdict(c), "PASS"); /* 17 of 20: [64.0, 94.8] */
    assert_int_equal(c->seeds_pass, 4);              /* seed 5 alone is below 50% */
    assert_close(c->measured, 85, 0, 1e-12);        /* the pooled rate, not the median (100) */
    assert_close(c->lo, 25, 0, 0);
    assert_close(c->hi, 100, 0, 0);
    assert_string_equal(c->values, "100,100,100,100,25");
    c = find_row(&l, "sigmoid: sink rate");
    assert_string_equal(claims_verdict(c), "UNDECIDED");
    assert_int_equal(c->seeds_pass, 5);
    assert_close(c->ci_hi, 16.1125, 1e-4, 0);
    c = find_row(&l, "relu: sink rate");
    assert_string_equal(claims_verdict(c), "FAIL"); /* 10 of 20: [29.9, 70.1] */
    assert_string_equal(claims_verdict(find_row(&l, "final loss")), "PASS"); /* per-seed rule, as before */
    l.n = 0;
    assert_int_equal(claims_decide_seeds(sec, d, 9, &l, &err), 0);
    assert_string_equal(claims_verdict(find_row(&l, "sigmoid: sink rate")), "PASS");
    /* softmax at exactly 50% on every seed straddles 50% however many seeds */
    const double half[5][4] = {{50, 100, 0, 50}, {50, 100, 0, 50}, {50, 100, 0, 50}, {50, 100, 0, 50},
                               {50, 100, 0, 50}};
    write_act_seeds(d, 5, half);
    l.n = 0;
    assert_int_equal(claims_decide_seeds(sec, d, 5, &l, &err), 0);
    assert_string_equal(claims_verdict(find_row(&l, "softmax: sink rate")), "UNDECIDED"); /* [29.9, 70.1] */
    /* the CLI: the verdict in the table and the summary, the columns in claims.tsv */
    int rc = run_bbsim(&out, "claims %s --sections activations:5", d);
    if (rc) fail_msg("bbsim claims: %s", out);
    assert_non_null(strstr(out, "UNDECIDED 5/5"));
    assert_non_null(strstr(out, "pooled over heads x 5 seeds: 10 of 20 heads sink, 95% Wilson interval [29.93%, 70.07%]"));
    assert_non_null(strstr(out, "3 PASS, 0 MIXED, 1 FAIL, 2 UNDECIDED, "));
    free(out);
    ClaimList back = {0};
    snprintf(p, sizeof p, "%s/claims.tsv", d);
    assert_int_equal(claims_read_tsv(&back, p, &err), 0);
    c = find_row(&back, "softmax: sink rate");
    assert_string_equal(claims_verdict(c), "UNDECIDED");
    assert_close(c->rate_n, 20, 0, 0);
    remove_tempdir(d);
}

static void test_claims_context_spearman_and_missing_input(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    mkdirs(d, "related");
    const char *head = "# sweep\nx\trun\tsink_rate\tchance\tattn_bos\tattn_bos_last\tloss\n";
    char text[1024];
    /* sink rate rising with N except one tie: ranks (1,2,3,4) vs (1,2.5,2.5,4) */
    snprintf(text, sizeof text, "%s32\ta\t10\t13\t0.5\t0.5\t1.8\n64\tb\t20\t7.4\t0.5\t0.5\t1.8\n"
                                "128\tc\t20\t4.2\t0.5\t0.5\t1.8\n256\td\t40\t2.4\t0.5\t0.5\t1.8\n", head);
    snprintf(p, sizeof p, "%s/related/context.tsv", d);
    write_text(p, text);
    snprintf(text, sizeof text, "%s1\ta\t30\t7.4\t0.5\t0.5\t1.8\n2\tb\t20\t7.4\t0.5\t0.5\t1.8\n"
                                "3\tc\t10\t7.4\t0.5\t0.5\t1.8\n", head);
    snprintf(p, sizeof p, "%s/related/depth.tsv", d);
    write_text(p, text);
    ClaimList l = {0};
    BbError err;
    /* the grid file is needed too, and named when missing */
    assert_int_not_equal(claims_context(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "related/first_token_grid.tsv"));
    char grid[512];
    snprintf(grid, sizeof grid, "%s/related/first_token_grid.tsv", d);
    write_text(grid, "# grid\ntrain\trun\teval\trisk\toracle_risk\texcess\texcess_trigger\texcess_nontrigger\n"
                     "BOS_first\ta\tBOS\t1.9\t1.8\t0.02\t0.01\t0.03\n"
                     "BOS_first\ta\tno_BOS\t2.3\t1.8\t0.5\t0.4\t0.6\n"
                     "packed\tb\tno_BOS\t1.9\t1.8\t0.03\t0.01\t0.04\n");
    l.n = 0;
    assert_int_equal(claims_context(d, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_close(l.c[2].measured, 25, 0, 1e-12);
    assert_int_equal(l.c[2].pass, 1);
    assert_non_null(strstr(l.c[2].fit, "packed -> no_BOS 0.03"));
    /* a grid without the BOS-first model evaluated without BOS is refused */
    write_text(grid, "train\trun\teval\texcess\nBOS_first\ta\tBOS\t0.02\n");
    l.n = 0;
    assert_int_equal(claims_context(d, &l, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "eval no_BOS"));
    /* Pearson of the ranks: (1,2,3,4) vs (1,2.5,2.5,4) = 4.5 / sqrt(5 * 4.5) */
    assert_close(l.c[0].measured, 4.5 / sqrt(5 * 4.5), 0, 1e-12);
    assert_int_equal(l.c[0].pass, 1);
    assert_non_null(strstr(l.c[0].fit, "N 256: 40%"));
    assert_close(l.c[1].measured, -1, 0, 1e-12);
    assert_int_equal(l.c[1].pass, 0);
    /* too few rows, then a missing file: refused, naming the file */
    snprintf(text, sizeof text, "%s1\ta\t30\t7.4\t0.5\t0.5\t1.8\n", head);
    write_text(p, text);
    l.n = 0;
    assert_int_equal(claims_context(d, &l, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "depth.tsv"));
    assert_int_equal(remove(p), 0);
    l.n = 0;
    assert_int_not_equal(claims_context(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "related/depth.tsv"));
    remove_tempdir(d);
}

/* ---- C13 (section ablation) on hand-made inputs: the sink on a token type decides, the
 * type is named from dlogit.tsv; the old position metric is only a side number */

static void write_heads(const char *d, const char *run) {
    char rel[128], p[512];
    snprintf(rel, sizeof rel, "runs/%s/analysis", run);
    mkdirs(d, rel);
    snprintf(p, sizeof p, "%s/%s/heads.tsv", d, rel);
    write_text(p, "# h\nlayer\thead\tdomain\tpositions\tattn_bos\tattn_prev\trisk_full\trisk_removed\tdelta_risk\tlabel\n"
                  "0\t0\ttrigger\t10\t0.1\t0.9\t1\t3\t2\tactive\n0\t0\tnontrigger\t30\t0.95\t0\t1\t1\t0\tdormant\n");
}

static void write_nobos(const char *d, double share) {
    char p[512], text[1024];
    mkdirs(d, "runs/noBOS/analysis");
    snprintf(text, sizeof text,
             "# m\nlayer\thead\tmetric\tvalue\n0\t0\ttop_key\t0\n0\t0\ttop_key_share\t0.06\n0\t0\tsink_type\t0\n"
             "0\t0\tsink_type_share\t%g\n0\t0\tsink_type_rows\t16761\n0\t0\tsink_type_argmax\t0.97\n",
             share);
    snprintf(p, sizeof p, "%s/runs/noBOS/analysis/metrics.tsv", d);
    write_text(p, text);
    snprintf(p, sizeof p, "%s/runs/noBOS/analysis/dlogit.tsv", d);
    write_text(p, "# d\nlayer\thead\ttoken\ttrigger\tpositions\tdlogit\tlabel\n0\t0\t1\t1\t40\t0.5\t\\s\n"
                  "0\t0\t0\t0\t40\t2.5\t\\n\n");
}

static void test_claims_ablation_sink_type(void **state) {
    (void)state;
    char *d = make_tempdir();
    write_heads(d, "induction");
    write_heads(d, "dormant_markov");
    write_nobos(d, 0.96);
    ClaimList l = {0};
    BbError err;
    assert_int_equal(claims_ablation(d, &l, &err), 0);
    const Claim *c = find_row(&l, "no BOS");
    assert_string_equal(c->id, "C13");
    assert_close(c->measured, 0.96, 0, 0);
    assert_int_equal(c->pass, 1); /* on the newline, although top_key_share is 0.06 */
    assert_non_null(strstr(c->fit, "sink type '\\n' over 16761 rows"));
    assert_non_null(strstr(c->fit, "0.97"));
    write_nobos(d, 0.49);
    l.n = 0;
    assert_int_equal(claims_ablation(d, &l, &err), 0);
    assert_int_equal(find_row(&l, "no BOS")->pass, 0);
    remove_tempdir(d);
}

/* ---- C8 (sections deep and relu_lr): the ReLU rows on hand-made dynamics */

/* dynamics.tsv with |Res<s>| after layer 0 = r10 at step 100 (10%), r_end at 1000, the
 * other tokens at `other` */
static void write_dyn(const char *d, const char *run, double r0, double r10, double r_end, double other) {
    char rel[128], p[512], text[512];
    snprintf(rel, sizeof rel, "runs/%s/dynamics", run);
    mkdirs(d, rel);
    snprintf(p, sizeof p, "%s/%s/dynamics.tsv", d, rel);
    snprintf(text, sizeof text, "# d\nstep\tl0_resid_bos\tl0_resid_other\n0\t%g\t%g\n100\t%g\t%g\n1000\t%g\t%g\n", r0,
             other, r10, other, r_end, other);
    write_text(p, text);
}

static void test_claims_deep_relu_lr_sweep(void **state) {
    (void)state;
    char *d = make_tempdir(), p[512];
    static const char *const arch[] = {"3L", "3xTF", "TF_TF_MLP", "MLP_TF_MLP", "Attn_TF_MLP", "2xTF"};
    for (int k = 0; k < 6; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "runs/%s/analysis", arch[k]);
        mkdirs(d, rel);
        snprintf(p, sizeof p, "%s/%s/metrics.tsv", d, rel);
        write_text(p, "# m\nlayer\thead\tmetric\tvalue\n0\t-1\tresid_ratio\t4\n0\t-1\tresid_bos\t80\n0\t-1\tresid_other\t20\n"
                      "0\t-1\tresid_gap\t60\n1\t0\tattn_bos\t0.9\n2\t0\tattn_bos\t0.99\n");
    }
    mkdirs(d, "runs/3L/intervene");
    snprintf(p, sizeof p, "%s/runs/3L/intervene/intervention_metrics.tsv", d);
    write_text(p, "# i\nintervention\tlayer\thead\tmetric\tvalue\nfull\t0\t-1\tresid_gap\t60\nfull\t1\t0\tdlogit_mean\t4\n"
                  "full\t1\t0\tval_bos\t1\nno_layer0\t0\t-1\tresid_gap\t1\nno_layer0\t1\t0\tdlogit_mean\t1\n"
                  "no_layer0\t1\t0\tval_bos\t5\n");
    write_dyn(d, "3L", 10, 20, 80, 20);
    write_dyn(d, "3L_sgd", 10, 20, 22, 20);
    write_dyn(d, "3L_relu", 15, 15.5, 19, 15);          /* lr 3e-4: x1.226 */
    write_dyn(d, "3L_relu_lr1e-3", 15, 20, 30, 24);     /* x1.5 */
    write_dyn(d, "3L_relu_lr3e-3", 15, 44, 247.5, 275); /* x5.625, not a peak: 0.9 of the others */
    ClaimList l = {0};
    BbError err;
    assert_int_equal(claims_deep(d, &l, &err), 0);
    assert_int_equal(claims_relu_lr(d, &l, &err), 0);
    const Claim *c = find_row(&l, "ReLU attention (lr 3e-4)");
    assert_close(c->measured, 19 / 15.5, 0, 1e-12);
    assert_int_equal(c->pass, 1);
    c = find_row(&l, "ReLU lr sweep (finding)");
    assert_string_equal(c->id, "C8");
    assert_close(c->measured, (247.5 / 44) / (19 / 15.5), 0, 1e-12);
    assert_int_equal(c->pass, 1);
    assert_non_null(strstr(c->fit, "lr 3e-4 1.226, 1e-3 1.5, 3e-3 5.625"));
    assert_non_null(strstr(c->fit, "others at the end 1.27, 1.25, 0.9"));
    /* the growth falling with lr fails the stated check */
    write_dyn(d, "3L_relu_lr3e-3", 15, 44, 44, 40);
    l.n = 0;
    assert_int_equal(claims_relu_lr(d, &l, &err), 0);
    assert_int_equal(find_row(&l, "ReLU lr sweep (finding)")->pass, 0);
    /* a sweep run missing is named; C6-C9 (make repro, without the sweep) do not need it */
    snprintf(p, sizeof p, "%s/runs/3L_relu_lr1e-3/dynamics/dynamics.tsv", d);
    assert_int_equal(remove(p), 0);
    l.n = 0;
    assert_int_not_equal(claims_relu_lr(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "3L_relu_lr1e-3/dynamics/dynamics.tsv"));
    l.n = 0;
    assert_int_equal(claims_deep(d, &l, &err), 0);
    for (int i = 0; i < l.n; i++) assert_null(strstr(l.c[i].claim, "lr sweep"));
    remove_tempdir(d);
}

/* ---- C18 (section sinkfree) on hand-made analyses */

/* a run's analysis/metrics.tsv (layer 0 head 0 and, with 3 layers, layers 1-2 head 0) and
 * heads.tsv (layer 0 head 0's removal effects) */
static void write_sf_run(const char *d, const char *run, int layers, double attn_bos, double val_ratio, double slot,
                         double peak, double later, double loss, double d_trig, double d_non) {
    char rel[128], p[512], text[2048];
    snprintf(rel, sizeof rel, "runs/%s/analysis", run);
    mkdirs(d, rel);
    snprintf(p, sizeof p, "%s/%s/metrics.tsv", d, rel);
    int n = snprintf(text, sizeof text,
                     "layer\thead\tmetric\tvalue\n# bbsim\n-1\t-1\tloss\t%g\n-1\t-1\tsink_rate\t%g\n"
                     "0\t-1\tresid_ratio\t%g\n0\t0\tattn_bos\t%g\n0\t0\tval_ratio\t%g\n0\t0\tattn_slot\t%g\n",
                     loss, attn_bos > 0.3 ? 100.0 : 0.0, peak, attn_bos, val_ratio, slot);
    for (int l = 1; l < layers; l++) /* layer 2 has the larger share */
        n += snprintf(text + n, sizeof text - (size_t)n, "%d\t0\tattn_bos\t%g\n", l, l == 2 ? later : later / 2);
    write_text(p, text);
    snprintf(p, sizeof p, "%s/%s/heads.tsv", d, rel);
    snprintf(text, sizeof text,
             "layer\thead\tdomain\tdelta_risk\n0\t0\ttrigger\t%g\n0\t0\tnontrigger\t%g\n", d_trig, d_non);
    write_text(p, text);
}

static void test_claims_sinkfree(void **state) {
    (void)state;
    char *d = make_tempdir();
    static const char *const var[] = {"softmax-sink", "softpick", "gated-head", "gated-elem"};
    write_sf_run(d, "1L", 1, 0.93, 0.2, 0, 0, 0, 1.70, 6.0, 0.004);
    write_sf_run(d, "3L", 3, 0.74, 0.3, 0, 6.3, 0.88, 1.68, 1, 0);
    for (int v = 0; v < 4; v++) { /* every threshold met; softpick sinks in layer 2 and costs 6% loss */
        char r1[64], r3[64];
        snprintf(r1, sizeof r1, "sf_1L_%s", var[v]);
        snprintf(r3, sizeof r3, "sf_3L_%s", var[v]);
        write_sf_run(d, r1, 1, 0.1, 0.8, v == 0 ? 0.7 : 0, 0, 0, 1.71, 6.0, 0.002);
        write_sf_run(d, r3, 3, 0.1, 0.9, 0, 1.2, v == 1 ? 0.85 : 0.1, v == 1 ? 1.68 * 1.06 : 1.69, 1, 0);
    }
    ClaimList l = {0};
    BbError err;
    assert_int_equal(claims_sinkfree(d, &l, &err), 0);
    assert_int_equal(l.n, 4 * 6 + 1); /* six rows per variant, the slot row for softmax-sink */
    for (int i = 0; i < l.n; i++) {
        assert_string_equal(l.c[i].id, "C18");
        const int softpick = !strncmp(l.c[i].claim, "softpick", 8);
        const int failing = softpick && (strstr(l.c[i].claim, "later-layer") || strstr(l.c[i].claim, "final loss"));
        if (l.c[i].pass == failing) fail_msg("row '%s': pass %d", l.c[i].claim, l.c[i].pass);
    }
    const Claim *c = find_row(&l, "softpick: final loss");
    assert_close(c->measured, 1.06, 0, 1e-9);
    assert_non_null(strstr(find_row(&l, "softpick, 3 layers: largest")->fit, "l2h0; softmax (3L) 0.88 (l2h0)"));
    assert_close(find_row(&l, "softmax-sink, 1 layer: slot share")->measured, 0.7, 0, 1e-12);
    /* the mechanism: a head whose removal moves the non-trigger risk by more than tau_loss is not kept */
    write_sf_run(d, "sf_1L_gated-head", 1, 0.1, 0.8, 0, 0, 0, 1.71, 6.0, 0.05);
    l.n = 0;
    assert_int_equal(claims_sinkfree(d, &l, &err), 0);
    assert_int_equal(find_row(&l, "gated-head, 1 layer: the head still active-dormant")->pass, 0);
    /* a missing analysis is named */
    char p[512];
    snprintf(p, sizeof p, "%s/runs/sf_3L_gated-elem/analysis/metrics.tsv", d);
    assert_int_equal(remove(p), 0);
    l.n = 0;
    assert_int_not_equal(claims_sinkfree(d, &l, &err), 0);
    assert_non_null(strstr(err.msg, "sf_3L_gated-elem/analysis/metrics.tsv"));
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsv_reads_header_rows_and_skips_comments),
        cmocka_unit_test(test_tsv_writer_layout),
        cmocka_unit_test(test_tsv_escape),
        cmocka_unit_test(test_tsv_errors_name_file_and_line),
        cmocka_unit_test(test_claims_round_trip_and_nan_never_passes),
        cmocka_unit_test(test_claims_decide_over_seeds),
        cmocka_unit_test(test_claims_wilson_interval),
        cmocka_unit_test(test_claims_rate_verdicts),
        cmocka_unit_test(test_claims_cli_reports_missing_inputs),
        cmocka_unit_test(test_claims_cli_refuses_bad_profile_and_empty_sections),
        cmocka_unit_test(test_claims_lists_every_claim),
        cmocka_unit_test(test_claims_activations_rows_and_missing_input),
        cmocka_unit_test(test_claims_rates_pooled_over_seeds),
        cmocka_unit_test(test_claims_context_spearman_and_missing_input),
        cmocka_unit_test(test_claims_ablation_sink_type),
        cmocka_unit_test(test_claims_deep_relu_lr_sweep),
        cmocka_unit_test(test_claims_sinkfree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
