/* Unit tests for the shared plumbing: option parsing and errors ("did you mean"), config
 * round trip, atomic files, the 64-bit GSL stream, the shortest numbers, the default thread
 * count. */
#include "testutil.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bbsim/common.h"

static const char *const colours[] = {"red", "green", NULL};

typedef struct {
    int n;
    double x;
    uint64_t seed;
    char s[BB_STRLEN];
    int flag, colour;
    BbIntList list;
} Cfg;

static int cfg_opts(Cfg *c, Opt *o) {
    int k = 0;
    o[k++] = (Opt){"n", OPT_INT, &c->n, 1, 100, NULL, "a count"};
    o[k++] = (Opt){"x", OPT_DOUBLE, &c->x, 0, 1, NULL, "a probability"};
    o[k++] = (Opt){"seed", OPT_U64, &c->seed, 0, 0, NULL, "seed"};
    o[k++] = (Opt){"s", OPT_STR, c->s, 0, 0, NULL, "a string"};
    o[k++] = (Opt){"flag", OPT_FLAG, &c->flag, 0, 1, NULL, "a flag"};
    o[k++] = (Opt){"colour", OPT_CHOICE, &c->colour, 0, 0, colours, "a colour"};
    o[k++] = (Opt){"list", OPT_INTLIST, &c->list, 0, 9, NULL, "layers"};
    return k;
}

static void test_parse_ok(void **state) {
    (void)state;
    Cfg c = {.n = 5, .x = 0.5};
    Opt o[8];
    int n = cfg_opts(&c, o), npos;
    char *argv[] = {"--n", "7", "--x=0.25", "pos", "--flag", "--colour", "green", "--list", "0,2", "--seed",
                    "18446744073709551615"};
    char *pos[2];
    BbError err;
    assert_int_equal(opts_parse(o, n, 11, argv, pos, 2, &npos, &err), 0);
    assert_int_equal(c.n, 7);
    assert_true(c.x == 0.25);
    assert_int_equal(c.flag, 1);
    assert_int_equal(c.colour, 1);
    assert_int_equal(c.list.n, 2);
    assert_int_equal(c.list.v[1], 2);
    assert_true(c.seed == UINT64_MAX);
    assert_int_equal(npos, 1);
    assert_string_equal(pos[0], "pos");
}

static void expect_error(char **argv, int argc, const char *needle) {
    Cfg c = {.n = 5};
    Opt o[8];
    int n = cfg_opts(&c, o), npos;
    BbError err = {{0}};
    assert_int_equal(opts_parse(o, n, argc, argv, NULL, 0, &npos, &err), BB_EINPUT);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_parse_errors(void **state) {
    (void)state;
    expect_error((char *[]){"--nope", "1"}, 2, "unknown flag '--nope'");
    expect_error((char *[]){"--n", "0"}, 2, "out of range");
    expect_error((char *[]){"--n", "3x"}, 2, "not an integer");
    expect_error((char *[]){"--n"}, 1, "needs a value");
    expect_error((char *[]){"--x", "nan"}, 2, "not a finite number");
    expect_error((char *[]){"--x", "1.5"}, 2, "out of range");
    expect_error((char *[]){"--colour", "blue"}, 2, "choose one of: red, green");
    expect_error((char *[]){"--list", "1,10"}, 2, "--list: 10 in '1,10' is out of range");
    expect_error((char *[]){"--seed", "-1"}, 2, "non-negative");
    expect_error((char *[]){"stray"}, 1, "unexpected argument 'stray'");
}

/* "Did you mean": one edit, a swap, a prefix up to '-', a started name; nothing for
 * far-off names; in flags, config files and choices. */
static void test_did_you_mean(void **state) {
    (void)state;
    static const char *const flags[] = {"lr", "wd", "steps", "seed", "eval-seed", "eval-batch", "eval-every",
                                        "threads", "dim", "k"};
    const int n = sizeof flags / sizeof flags[0];
    char buf[256];
    const struct {
        const char *typed, *want;
    } cases[] = {
        {"lr-rate", "--lr"},       {"step", "--steps"},  {"stpes", "--steps"},   {"seeds", "--seed"},
        {"dims", "--dim"},         {"thr", "--threads"}, {"threds", "--threads"}, {"eval-seeds", "--eval-seed"},
        {"eval", "--eval-seed, --eval-batch or --eval-every"}, {"eval-evry", "--eval-every"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int got = bb_suggest(buf, sizeof buf, cases[c].typed, flags, n, "--");
        if (got == 0 || strcmp(buf, cases[c].want)) fail_msg("'%s' suggests '%s', not '%s'", cases[c].typed, buf, cases[c].want);
    }
    /* far off, or too short to judge: no suggestion */
    const char *const far[] = {"learning-rate", "zzz", "x", "batchsize", "nope", "l", "quiet"};
    for (size_t c = 0; c < sizeof far / sizeof far[0]; c++)
        if (bb_suggest(buf, sizeof buf, far[c], flags, n, "--")) fail_msg("'%s' suggests '%s'", far[c], buf);
    /* commands: a swap of two letters, British spelling */
    static const char *const commands[] = {"task", "train", "bench", "analyze", "intervene", "theory"};
    assert_int_equal(bb_suggest(buf, sizeof buf, "trian", commands, 6, ""), 1);
    assert_string_equal(buf, "train");
    assert_int_equal(bb_suggest(buf, sizeof buf, "analyse", commands, 6, ""), 1);
    assert_string_equal(buf, "analyze");
    assert_int_equal(bb_suggest(buf, sizeof buf, "bogus", commands, 6, ""), 0);
    assert_string_equal(buf, "");
    /* through opts_parse, opts_set (config files) and a choice */
    expect_error((char *[]){"--flga"}, 1, "unknown flag '--flga' (did you mean --flag?)");
    expect_error((char *[]){"--colour", "gren"}, 2, "unknown value 'gren' (did you mean green? choose one of: red, green)");
    expect_error((char *[]){"--zebra", "1"}, 2, "unknown flag '--zebra' (see --help)");
    Cfg c = {.n = 5};
    Opt o[8];
    int no = cfg_opts(&c, o);
    BbError err;
    assert_int_equal(opts_set(o, no, "lists", "1", &err), BB_EINPUT);
    assert_string_equal(err.msg, "unknown option 'lists' (did you mean list?)");
}

/* opts_given reads argv as opts_parse does: a value is never taken for a flag. */
static void test_opts_given(void **state) {
    (void)state;
    Cfg c = {.n = 5};
    Opt o[8];
    int n = cfg_opts(&c, o);
    char *argv[] = {"--s", "--seed", "--flag", "pos", "--n=3", "--x", "0.5"};
    assert_false(opts_given(o, n, 7, argv, "seed")); /* "--seed" is the value of --s */
    assert_true(opts_given(o, n, 7, argv, "s"));
    assert_true(opts_given(o, n, 7, argv, "flag"));
    assert_true(opts_given(o, n, 7, argv, "n"));
    assert_true(opts_given(o, n, 7, argv, "x"));
    assert_false(opts_given(o, n, 7, argv, "colour"));
}

static void test_config_roundtrip(void **state) {
    (void)state;
    Cfg a = {.n = 9, .x = 0.1 + 0.2, .seed = 123456789012345ULL, .flag = 1, .colour = 1};
    strcpy(a.s, "hello world");
    parse_intlist("3,1,4", &a.list, 0, 9, NULL);
    Opt oa[8];
    int n = cfg_opts(&a, oa);
    char *dir = make_tempdir(), path[1200];
    snprintf(path, sizeof path, "%s/config", dir);
    FILE *f = fopen(path, "w");
    opts_write(f, oa, n);
    fclose(f);
    Cfg b = {.n = 1};
    Opt ob[8];
    cfg_opts(&b, ob);
    BbError err;
    f = fopen(path, "r");
    assert_int_equal(opts_read(ob, n, f, path, &err), 0);
    fclose(f);
    assert_int_equal(b.n, 9);
    assert_true(b.x == a.x); /* %.17g round-trips exactly */
    assert_true(b.seed == a.seed);
    assert_string_equal(b.s, "hello world");
    assert_int_equal(b.flag, 1);
    assert_int_equal(b.list.n, 3);
    assert_int_equal(b.list.v[2], 4);
    /* a bad line is reported with file:line */
    write_text(path, "n 5\nbogus 1\n");
    f = fopen(path, "r");
    assert_int_equal(opts_read(ob, n, f, path, &err), BB_EINPUT);
    fclose(f);
    assert_non_null(strstr(err.msg, ":2: unknown option 'bogus'"));
    remove_tempdir(dir);
}

/* The first line of the file at path is `want` (newline included). */
static void assert_first_line(const char *path, const char *want) {
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, want);
}

static void test_atomic_file(void **state) {
    (void)state;
    char *dir = make_tempdir(), path[1200], tmp[1300];
    snprintf(path, sizeof path, "%s/out.tsv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_text(path, "old\n");
    AtomicFile af;
    BbError err;
    assert_int_equal(afile_open(&af, path, &err), 0);
    fputs("new\n", af.f);
    afile_abort(&af); /* aborted: the old file survives, no temp left */
    assert_first_line(path, "old\n");
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(afile_open(&af, path, &err), 0);
    fputs("new\n", af.f);
    assert_int_equal(afile_commit(&af, &err), 0);
    assert_first_line(path, "new\n");
    /* a full disk: /dev/full accepts the open and fails on flush; nothing is renamed */
    if (access("/dev/full", W_OK) == 0) {
        AtomicFile full = {0};
        full.f = fopen("/dev/full", "w");
        snprintf(full.path, sizeof full.path, "%s/never", dir);
        snprintf(full.tmp, sizeof full.tmp, "%s/never.tmp", dir);
        for (int i = 0; i < 10000; i++) fputs("xxxxxxxx", full.f);
        assert_int_equal(afile_commit(&full, &err), BB_EIO);
        assert_non_null(strstr(err.msg, "No space left"));
        snprintf(tmp, sizeof tmp, "%s/never", dir);
        assert_int_equal(access(tmp, F_OK), -1);
    }
    /* an unwritable place is a clear error */
    assert_int_equal(afile_open(&af, "/nonexistent-dir/x.tsv", &err), BB_EIO);
    assert_non_null(strstr(err.msg, "cannot create /nonexistent-dir/x.tsv.tmp"));
    remove_tempdir(dir);
}

/* A target that is not a regular file is refused, not replaced; a link planted at the
 * temporary name is not written through; a temporary file left by a write that died is. */
static void test_atomic_file_targets(void **state) {
    (void)state;
    char *dir = make_tempdir(), path[1200], tmp[1300], victim[1200];
    AtomicFile af;
    BbError err;
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    write_text(victim, "keep\n");
    /* a symbolic link, a FIFO, a directory and a device as the target */
    snprintf(path, sizeof path, "%s/link.tsv", dir);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(afile_open(&af, path, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "is not a regular file (a symbolic link): refusing to replace it"));
    snprintf(path, sizeof path, "%s/fifo.tsv", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(afile_open(&af, path, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "(a FIFO)"));
    assert_int_equal(afile_open(&af, dir, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "(a directory)"));
    assert_int_equal(afile_open(&af, "/dev/null", &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "(a device)"));
    /* a link planted at PATH.tmp: refused, the file it points to untouched */
    snprintf(path, sizeof path, "%s/out.tsv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(afile_open(&af, path, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "refusing to write through it"));
    assert_first_line(victim, "keep\n");
    /* a regular PATH.tmp left by a write that died is replaced */
    assert_int_equal(unlink(tmp), 0);
    write_text(tmp, "stale\n");
    assert_int_equal(afile_open(&af, path, &err), 0);
    fputs("new\n", af.f);
    assert_int_equal(afile_commit(&af, &err), 0);
    assert_first_line(path, "new\n");
    assert_int_equal(access(tmp, F_OK), -1);
    remove_tempdir(dir);
}

static void test_rng(void **state) {
    (void)state;
    gsl_rng *a = bb_rng_alloc(42), *b = bb_rng_alloc(42), *c = bb_rng_alloc(43);
    int same_c = 0;
    double mean = 0;
    for (int i = 0; i < 100000; i++) {
        double x = gsl_rng_uniform(a), y = gsl_rng_uniform(b), z = gsl_rng_uniform(c);
        assert_true(x == y);
        assert_true(x >= 0 && x < 1);
        same_c += x == z;
        mean += x;
    }
    assert_true(same_c < 5);
    assert_close(mean / 100000, 0.5, 0.005, 0);
    /* seeds differing only in the high 32 bits give different streams */
    gsl_rng *h1 = bb_rng_alloc(1ULL << 40), *h2 = bb_rng_alloc(1ULL << 41);
    assert_true(gsl_rng_get(h1) != gsl_rng_get(h2));
    assert_true(bb_seed_mix(1, 2, 3) != bb_seed_mix(1, 3, 2));
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
    gsl_rng_free(h1);
    gsl_rng_free(h2);
}

/* Numbers in files: short where possible, always read back exactly, NaN/Inf spelled. */
static void test_format_num(void **state) {
    (void)state;
    char buf[40];
    const double cases[] = {0.003, 1.0 / 3.0, 3e-4, 1e30, -2.5, 0.0, 123456789.0, 0.1f, 6.02214076e23};
    const char *short_forms[] = {"0.003", NULL, "0.0003", "1e+30", "-2.5", "0", "123456789", NULL, "6.02214076e+23"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bb_format_num(buf, sizeof buf, cases[k]);
        if (strtod(buf, NULL) != cases[k]) fail_msg("%.17g printed as %s does not read back", cases[k], buf);
        if (short_forms[k] && strcmp(buf, short_forms[k])) fail_msg("%.17g printed as %s, not %s", cases[k], buf, short_forms[k]);
    }
    bb_format_float(buf, sizeof buf, 0.1f); /* float32: the shortest that reads back as that float */
    assert_string_equal(buf, "0.1");
    const float f = 1.0f / 3.0f;
    bb_format_float(buf, sizeof buf, f);
    assert_true(strtof(buf, NULL) == f && strlen(buf) <= 11);
    bb_format_num(buf, sizeof buf, NAN);
    assert_string_equal(buf, "NaN");
    bb_format_num(buf, sizeof buf, -INFINITY);
    assert_string_equal(buf, "-Inf");
}

/* The significant digits of a %g text ("1.25e-05" -> 3, "20000" -> 1, "0.003" -> 1). */
static int significant_digits(const char *s) {
    int digits = 0, zeros = 0, started = 0;
    for (const char *p = s; *p && *p != 'e'; p++) {
        if (*p < '0' || *p > '9') continue;
        if (*p == '0') {
            if (started) zeros++;
            continue;
        }
        started = 1;
        digits += zeros + 1;
        zeros = 0;
    }
    return digits > 0 ? digits : 1;
}

/* Shortest round trip: the text reads back exactly and no fewer significant digits do,
 * for chosen values, subnormals and random doubles (bit patterns and short decimals). */
static void check_shortest(double x) {
    char buf[40], shorter[320];
    bb_format_num(buf, sizeof buf, x);
    if (strtod(buf, NULL) != x) fail_msg("%.17g printed as %s does not read back", x, buf);
    const int d = significant_digits(buf);
    for (int k = 1; k < d; k++) {
        snprintf(shorter, sizeof shorter, "%.*g", k, x);
        if (strtod(shorter, NULL) == x) fail_msg("%.17g printed as %s, but %s (%d digits) reads back", x, buf, shorter, k);
    }
}

static void test_shortest_numbers(void **state) {
    (void)state;
    char buf[40];
    const double chosen[] = {0.003, 3e-3 * 1.0000000000000002, 0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 5e-324,
                             2.2250738585072014e-308, 1.7976931348623157e308, 20000, 1e5, 1e6, 1234567, 0.5, -0.25,
                             1.05, 0.999999999, 4242};
    for (size_t k = 0; k < sizeof chosen / sizeof chosen[0]; k++) check_shortest(chosen[k]);
    const char *const forms[][2] = {{"0.003", "0.003"}, {"5e-324", "5e-324"}, {"20000", "20000"}, {"1e+06", "1e+06"},
                                    {"1.05", "1.05"},   {"3e-4", "0.0003"}};
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        bb_format_num(buf, sizeof buf, strtod(forms[k][0], NULL));
        assert_string_equal(buf, forms[k][1]);
    }
    gsl_rng *r = bb_rng_alloc(7);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = ((uint64_t)gsl_rng_get(r) << 32) ^ gsl_rng_get(r);
        double x;
        memcpy(&x, &bits, sizeof x);
        if (isfinite(x)) check_shortest(x);
        check_shortest(gsl_rng_uniform(r));
        /* a short decimal m x 10^e, as people type them */
        snprintf(buf, sizeof buf, "%de%d", (int)gsl_rng_uniform_int(r, 100000), (int)gsl_rng_uniform_int(r, 40) - 20);
        const double typed = strtod(buf, NULL);
        check_shortest(typed);
        char back[40];
        bb_format_num(back, sizeof back, typed);
        if (significant_digits(back) > significant_digits(buf))
            fail_msg("%s printed as %s: more digits than typed", buf, back);
    }
    gsl_rng_free(r);
    /* float32: at most 9 digits, the fewest that read back as that float */
    const float floats[] = {0.1f, 1.0f / 3.0f, 1e-45f, 1.17549435e-38f, 3.4028235e38f, 65504.0f};
    for (size_t k = 0; k < sizeof floats / sizeof floats[0]; k++) {
        bb_format_float(buf, sizeof buf, floats[k]);
        if (strtof(buf, NULL) != floats[k]) fail_msg("float %.9g printed as %s does not read back", floats[k], buf);
        char shorter[320];
        for (int d = 1; d < significant_digits(buf); d++) {
            snprintf(shorter, sizeof shorter, "%.*g", d, floats[k]);
            if (strtof(shorter, NULL) == floats[k]) fail_msg("float printed as %s, but %s reads back", buf, shorter);
        }
    }
    bb_format_float(buf, sizeof buf, 1e-45f);
    assert_string_equal(buf, "1e-45");
}

/* OPT_PATH: the command line refuses "" and a flag-like value, with a message naming
 * the flag; a config file keeps "" = none (old config.txt files have "corpus " lines). */
static void test_path_flags(void **state) {
    (void)state;
    char path[BB_STRLEN] = "default";
    const Opt o[] = {{"out", OPT_PATH, path, 0, 0, NULL, "output directory [default: X]"},
                     {"quiet", OPT_FLAG, &(int){0}, 0, 1, NULL, "quiet"}};
    BbError err = {{0}};
    int npos;
    struct {
        int argc;
        char *argv[3];
        const char *msg;
    } bad[] = {
        {2, {"--out", ""}, "--out: empty path"},
        {1, {"--out="}, "--out: empty path"},
        {2, {"--out", "--quiet"}, "--out '--quiet': looks like a flag; write ./--quiet if you mean it"},
        {1, {"--out=-x"}, "--out '-x': looks like a flag; write ./-x if you mean it"},
        {2, {"--out", "-"}, "--out '-': looks like a flag"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(opts_parse(o, 2, bad[i].argc, bad[i].argv, NULL, 0, &npos, &err), BB_EINPUT);
        if (strcmp(err.msg, bad[i].msg) && !strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: message '%s', expected '%s'", i, err.msg, bad[i].msg);
        assert_string_equal(path, "default"); /* nothing set */
    }
    /* an empty positional argument is refused too ("" as RUN_DIR would be the cwd or /) */
    char *pos[2];
    assert_int_equal(opts_parse(o, 2, 1, (char *[]){""}, pos, 2, &npos, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "empty argument"));
    /* what the refusals point to works */
    assert_int_equal(opts_parse(o, 2, 2, (char *[]){"--out", "./--quiet"}, NULL, 0, &npos, &err), 0);
    assert_string_equal(path, "./--quiet");
    /* config files: "" still means "none" */
    FILE *f = tmpfile();
    fputs("out \n", f);
    rewind(f);
    assert_int_equal(opts_read(o, 2, f, "config.txt", &err), 0);
    fclose(f);
    assert_string_equal(path, "");
    assert_int_equal(opts_set(o, 2, "out", "", &err), 0);
    /* --help: PATH, and no "[default: none]" after a help that names its default */
    char *text = NULL;
    size_t len = 0;
    f = open_memstream(&text, &len);
    opts_help(f, o, 1);
    fclose(f);
    assert_non_null(strstr(text, "--out PATH"));
    assert_null(strstr(text, "none"));
    free(text);
}

/* Whether s is valid UTF-8 with no control character (C0, DEL, C1) and no bidirectional
 * control: what a message may show raw. Written independently of bb_escape_msg, by code
 * point. */
static int shows_clean(const unsigned char *s) {
    while (*s) {
        unsigned cp, n;
        if (*s < 0x80) cp = *s, n = 1;
        else if ((*s & 0xe0) == 0xc0) cp = *s & 0x1f, n = 2;
        else if ((*s & 0xf0) == 0xe0) cp = *s & 0x0f, n = 3;
        else if ((*s & 0xf8) == 0xf0) cp = *s & 0x07, n = 4;
        else return 0;
        for (unsigned i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        static const unsigned minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < minimum[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0; /* overlong, surrogate */
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return 0;
        if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 0;
        s += n;
    }
    return 1;
}

/* On random byte strings (biased towards the bytes that matter), bb_escape_msg's output is
 * always clean, and unescaping its \xHH pieces gives back the input (nothing lost). */
static void test_escape_random(void **state) {
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static const unsigned char picks[] = {0x1b, 0x07, 0x0a, 0x7f, 0x80, 0x9b, 0xbf, 0xc0, 0xc2, 0xc3, 0xe0, 0xe2,
                                          0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x80, 0x81, 0xa6, 0xaa, 0xae, '\\'};
    for (int trial = 0; trial < 100000; trial++) {
        unsigned char in[24], out[24 * 4 + 1], back[24];
        const int n = 1 + trial % 23;
        for (int i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            in[i] = (x & 3) ? picks[(x >> 8) % sizeof picks] : (unsigned char)(1 + (x >> 16) % 255);
        }
        in[n] = '\0';
        bb_escape_msg((char *)out, sizeof out, (const char *)in, "");
        if (!shows_clean(out)) fail_msg("trial %d: output not clean", trial);
        size_t k = 0; /* unescape: a backslash of the input stays one (it is printable) */
        for (const unsigned char *p = out; *p; k++) {
            unsigned v;
            if (p[0] == '\\' && p[1] == 'x' && sscanf((const char *)p + 2, "%2x", &v) == 1 && isxdigit(p[2]) &&
                isxdigit(p[3]) && !(k < (size_t)n && in[k] == '\\'))
                back[k] = (unsigned char)v, p += 4;
            else
                back[k] = *p++;
        }
        if (k != (size_t)n || memcmp(back, in, (size_t)n)) fail_msg("trial %d: the escape lost bytes", trial);
    }
}

/* Control bytes in messages come out as \xHH; exit statuses are one table. */
static void test_error_escapes(void **state) {
    (void)state;
    BbError err;
    assert_int_equal(bb_fail(&err, BB_EINPUT, "%s:%d: '%s'", "t\x1b[2Jx", 3, "a\007b\tc\177\n"), BB_EINPUT);
    assert_string_equal(err.msg, "t\\x1b[2Jx:3: 'a\\x07b\\x09c\\x7f\\x0a'");
    /* an argument that is err->msg itself, and idempotence */
    bb_fail(&err, BB_EIO, "outer: %s", err.msg);
    assert_string_equal(err.msg, "outer: t\\x1b[2Jx:3: 'a\\x07b\\x09c\\x7f\\x0a'");
    /* UTF-8 stays as it is (2, 3 and 4 bytes) */
    bb_fail(&err, BB_EINPUT, "%s", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80");
    assert_string_equal(err.msg, "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80");
    /* but not what a terminal acts on: a C1 CSI (as UTF-8 and as a lone Latin-1 byte), a
     * right-to-left override and isolate; nor bytes that are not UTF-8 (a lone
     * continuation, an overlong form, a surrogate, a cut sequence at the end) */
    bb_fail(&err, BB_EINPUT, "%s", "a\xc2\x9b" "2Jb\x9b" "2Jc\xe2\x80\xae" "d\xe2\x81\xa6" "e");
    assert_string_equal(err.msg, "a\\xc2\\x9b2Jb\\x9b2Jc\\xe2\\x80\\xaed\\xe2\\x81\\xa6e");
    bb_fail(&err, BB_EINPUT, "%s", "\x80|\xc0\xaf|\xed\xa0\x80|\xff|\xe2\x86");
    assert_string_equal(err.msg, "\\x80|\\xc0\\xaf|\\xed\\xa0\\x80|\\xff|\\xe2\\x86");
    /* bb_escape_msg keeps what it is told to (bb_say: newline, return, tab) */
    char shown[64];
    assert_int_equal(bb_escape_msg(shown, sizeof shown, "\r[run\x1b]\tx\n", "\n\r\t"), 13);
    assert_string_equal(shown, "\r[run\\x1b]\tx\n");
    /* a valid sequence that does not fit is cut whole */
    assert_int_equal(bb_escape_msg(shown, 4, "ab\xc3\xa9", ""), 2);
    assert_string_equal(shown, "ab");
    /* a long message of control bytes is cut between escapes, never inside one */
    char ctl[2000];
    memset(ctl, 0x1b, sizeof ctl - 1);
    ctl[sizeof ctl - 1] = '\0';
    bb_fail(&err, BB_EINPUT, "%s", ctl);
    assert_int_equal(strlen(err.msg) % 4, 0);
    assert_true(strlen(err.msg) >= sizeof err.msg - 5);
    assert_int_equal(bb_exit_status(BB_OK), 0);
    assert_int_equal(bb_exit_status(BB_EINPUT), 2);
    assert_int_equal(bb_exit_status(BB_EIO), 1);
    assert_int_equal(bb_exit_status(BB_ENOMEM), 1);
    assert_int_equal(bb_exit_status(BB_ENUM), 1);
    assert_int_equal(bb_exit_status(BB_EINTR), 130);
}

/* --threads 0: OMP_NUM_THREADS (left to OpenMP) wins over SLURM_CPUS_PER_TASK, which wins
 * over OpenMP's default (every core); a malformed Slurm value is ignored. */
static void test_threads_default(void **state) {
    (void)state;
    assert_int_equal(bb_threads_default(NULL, NULL), 0);
    assert_int_equal(bb_threads_default(NULL, "3"), 3);
    assert_int_equal(bb_threads_default("", "3"), 3); /* empty = unset */
    assert_int_equal(bb_threads_default("2", "3"), 0);
    assert_int_equal(bb_threads_default("2", NULL), 0);
    assert_int_equal(bb_threads_default(NULL, ""), 0);
    const char *bad[] = {"0", "-1", "2x", "1025", " ", "99999999999999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        if (bb_threads_default(NULL, bad[k])) fail_msg("SLURM_CPUS_PER_TASK='%s' was not ignored", bad[k]);
}

/* The rule applied from the environment, in this process and through the CLI (main()
 * applies it before any command): the thread count lands in the provenance header. */
static void test_threads_apply(void **state) {
    (void)state;
    const char *omp = getenv("OMP_NUM_THREADS");
    char *omp_saved = omp ? strdup(omp) : NULL;
    const int threads_saved = bb_threads();
    unsetenv("OMP_NUM_THREADS");
    setenv("SLURM_CPUS_PER_TASK", "3", 1);
    bb_threads_apply(0);
    assert_int_equal(bb_threads(), 3);
    bb_threads_apply(1); /* an explicit --threads wins */
    assert_int_equal(bb_threads(), 1);
    char *dir = make_tempdir(), *out = NULL, path[512];
    int rc = run_bbsim(&out, "train --layers 1 --dim 16 --seq 8 --batch 4 --steps 2 --eval-batch 8 --quiet --out %s/run",
                       dir);
    if (rc) fail_msg("bbsim train failed (%d): %s", rc, out);
    free(out);
    snprintf(path, sizeof path, "%s/run/metrics.tsv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f)) found |= !strcmp(line, "# threads 3\n");
    fclose(f);
    if (!found) fail_msg("%s: no '# threads 3' with SLURM_CPUS_PER_TASK=3 and no OMP_NUM_THREADS", path);
    remove_tempdir(dir);
    unsetenv("SLURM_CPUS_PER_TASK");
    if (omp_saved) setenv("OMP_NUM_THREADS", omp_saved, 1);
    free(omp_saved);
    bb_threads_apply(threads_saved);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),      cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_config_roundtrip), cmocka_unit_test(test_atomic_file),
        cmocka_unit_test(test_atomic_file_targets),
        cmocka_unit_test(test_rng),           cmocka_unit_test(test_format_num),
        cmocka_unit_test(test_did_you_mean),  cmocka_unit_test(test_opts_given),
        cmocka_unit_test(test_shortest_numbers), cmocka_unit_test(test_path_flags),
        cmocka_unit_test(test_error_escapes),
        cmocka_unit_test(test_escape_random),
        cmocka_unit_test(test_threads_default), cmocka_unit_test(test_threads_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
