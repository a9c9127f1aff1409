/* Unit tests for the task module (docs/method.md#the-task): tables from the three sources and their
 * errors, the rules of every variant, bigram frequencies (chi-square), the oracle and the
 * exact Bayes floor against brute-force enumeration and Monte-Carlo, determinism across
 * thread counts, and the `bbsim task` command. */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_cdf.h>
#include "bbsim/task.h"
#include "../src/tasks/task_internal.h" /* the table-file reader and the embedded table */

/* ------------------------------------------------------------------ helpers */

static void build_ok(Task *t, const TaskConfig *c) {
    BbError err = {{0}};
    int rc = task_build(t, c, &err);
    if (rc) fail_msg("task_build failed: %s", err.msg);
}

static int P_at(const Task *t, int a, int b) { return t->P[(size_t)a * t->vbase + b] > 0; }

/* A tiny sparse chain (5 tokens): zeros make support checks informative. */
static const char *TINY =
    "# a tiny sparse chain, probabilities\n"
    "0.0 0.5 0.3 0.2 0.0\n"
    "0.4 0.0 0.0 0.3 0.3   # row 2\n"
    "0.2 0.2 0.2 0.2 0.2\n"
    "\n"
    "0.0 0.6 0.0 0.0 0.4\n"
    "0.5 0.0 0.25 0.25 0.0\n";

typedef struct {
    char *dir;
    char tiny[512];
} Files;

static Files files_make(void) {
    Files f;
    f.dir = make_tempdir();
    snprintf(f.tiny, sizeof f.tiny, "%s/tiny.txt", f.dir);
    write_text(f.tiny, TINY);
    return f;
}

/* Original English-like prose for the corpus tests (written for this test). */
static const char *CORPUS_TEXT =
    "The river ran low that summer, and the children of the valley walked along its bed\n"
    "looking for the stones their fathers had told them about. There were green stones and\n"
    "red ones, and a few that held the light like a window at dusk. Nobody knew who had\n"
    "first carried them down from the hills, but everyone agreed that the best were found\n"
    "near the old mill, where the water turned and slowed before the weir.\n"
    "On the third morning the eldest girl, who kept a notebook of everything, counted the\n"
    "stones in her basket and wrote the number at the top of a fresh page. Her brother said\n"
    "that counting was a waste of a good day, and that stones were meant to be thrown, not\n"
    "written down. She did not answer him. She was thinking about the mill, and about the\n"
    "miller, who had gone to the city in the spring and had not come back.\n"
    "In the afternoon a storm rose over the western ridge. The wind bent the tall grass flat\n"
    "and the first drops were heavy and warm. They ran for the mill because it was nearest,\n"
    "and the door, which had always been locked, stood open. Inside it smelled of flour and\n"
    "old rope. A lamp hung from a beam, still warm, as if somebody had put it out only a\n"
    "moment before they came in. The boy wanted to leave at once. The girl took out her\n"
    "notebook, sat down on a sack of grain, and began to write what she saw: the lamp, the\n"
    "rope, a pair of boots by the stair, a loaf of bread on the table, cut but not eaten.\n"
    "When the rain stopped the light came back yellow and low across the fields, and they\n"
    "walked home without speaking. At supper their mother asked where they had been, and\n"
    "the girl said they had been at the river, which was true, and the boy said nothing at\n"
    "all, which was also a kind of truth. That night she read her page again by the window\n"
    "and decided that tomorrow she would go back alone, early, before anybody else was up,\n"
    "and find out who had cut the bread.\n";

/* Mean oracle entropy over B generated sequences and its standard error (per-sequence
 * means are independent). Also returns the fraction of trigger positions. */
static void mc_floor(const Task *t, int B, double *mean, double *se, double *frac) {
    const int N = t->cfg.seq;
    int *in = malloc((size_t)B * N * sizeof(int)), *tg = malloc((size_t)B * N * sizeof(int));
    double *p = malloc((size_t)t->V * sizeof(double));
    task_batch(t, 7, B, in, tg);
    double s = 0, s2 = 0, ntrig = 0;
    for (int b = 0; b < B; b++) {
        double m = 0;
        for (int i = 0; i < N; i++) {
            m += task_oracle(t, in + (size_t)b * N, i, p);
            ntrig += task_is_trigger_pos(t, in + (size_t)b * N, i);
        }
        m /= N;
        s += m;
        s2 += m * m;
    }
    *mean = s / B;
    *se = sqrt((s2 / B - *mean * *mean) / (B - 1));
    *frac = ntrig / ((double)B * N);
    free(in);
    free(tg);
    free(p);
}

/* ------------------------------------------------------------- the options */

static void test_config_and_opts(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    assert_int_equal(c.kind, TASK_BB);
    assert_int_equal(c.table, TASK_TABLE_SHAKESPEARE);
    assert_int_equal(c.vbase, 64);
    assert_int_equal(c.k, 3);
    assert_int_equal(c.bos, 1);
    assert_int_equal(c.seq, 256);
    assert_int_equal(c.eval_batch, 512);
    assert_true(c.data_seed == 42 && c.eval_seed == 4242 && c.table_seed == 1);
    assert_true(c.mix_p == 0.5);
    Opt o[TASK_NOPTS];
    int n = task_opts(&c, o);
    assert_true(n <= TASK_NOPTS);
    const char *names[] = {"task", "table", "vocab", "table-seed", "corpus", "transitions", "marginal", "labels", "k",
                           "triggers", "mix-p", "bos", "packing", "seq", "data-seed", "eval-seed", "eval-batch"};
    for (size_t j = 0; j < sizeof names / sizeof *names; j++) {
        int found = 0;
        for (int i = 0; i < n; i++) found |= !strcmp(o[i].name, names[j]);
        if (!found) fail_msg("task_opts lacks --%s", names[j]);
    }
    char *argv[] = {"--task", "induction", "--bos", "2", "--packing", "--seq", "32", "--triggers", "1,2"};
    int npos;
    BbError err;
    assert_int_equal(opts_parse(o, n, 9, argv, NULL, 0, &npos, &err), 0);
    assert_int_equal(c.kind, TASK_INDUCTION);
    assert_int_equal(c.bos, 2);
    assert_int_equal(c.packing, 1);
    assert_int_equal(c.seq, 32);
    assert_string_equal(c.triggers, "1,2");
    char *bad[] = {"--bos", "3"};
    assert_int_equal(opts_parse(o, n, 2, bad, NULL, 0, &npos, &err), BB_EINPUT);
}

/* ------------------------------------------------------------------ tables */

/* The synthetic table (--table synthetic). */
static void test_builtin_table(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    c.table = TASK_TABLE_SYNTHETIC;
    Task t, u;
    build_ok(&t, &c);
    build_ok(&u, &c);
    const int n = t.vbase;
    assert_int_equal(n, 64);
    assert_int_equal(t.V, 66);
    assert_int_equal(t.bos_id, 64);
    assert_int_equal(t.delim_id, 65);
    assert_string_equal(task_label(&t, t.bos_id), "<s>");
    assert_string_equal(task_label(&t, t.delim_id), "<d>");
    /* deterministic for a table seed */
    assert_memory_equal(t.P, u.P, (size_t)n * n * sizeof(double));
    /* rows are laws, pi is the stationary law */
    double ps = 0;
    for (int a = 0; a < n; a++) {
        double s = 0;
        for (int b = 0; b < n; b++) s += t.P[a * n + b];
        assert_close(s, 1.0, 1e-12, 0);
        ps += t.pi[a];
    }
    assert_close(ps, 1.0, 1e-12, 0);
    double piP[1024];
    for (int b = 0; b < n; b++) {
        piP[b] = 0;
        for (int a = 0; a < n; a++) piP[b] += t.pi[a] * t.P[a * n + b];
    }
    assert_allclose(piP, t.pi, (size_t)n, 1e-13, 0);
    /* rows differ (the bigram matters) */
    double l1 = 0;
    for (int b = 0; b < n; b++) l1 += fabs(t.P[0 * n + b] - t.P[1 * n + b]);
    assert_true(l1 > 0.2);
    /* the triggers are the 3 most frequent tokens, in decreasing order of pi */
    assert_int_equal(t.ntrig, 3);
    for (int a = 0; a < n; a++)
        if (!t.is_trigger[a])
            for (int j = 0; j < 3; j++) assert_true(t.pi[t.trig[j]] >= t.pi[a]);
    assert_true(t.pi[t.trig[0]] >= t.pi[t.trig[1]] && t.pi[t.trig[1]] >= t.pi[t.trig[2]]);
    /* character-like: the most frequent token is the space */
    assert_string_equal(task_label(&t, t.trig[0]), "\\s");
    /* pi' */
    for (int j = 0; j < 3; j++) assert_true(t.pi_nt[t.trig[j]] == 0);
    /* about a quarter of BB positions are trigger positions */
    BbError err;
    BayesFloor fl;
    assert_int_equal(task_bayes_floor(&t, &fl, &err), 0);
    assert_int_equal(fl.exact, 1);
    assert_true(fl.frac_trigger > 0.2 && fl.frac_trigger < 0.33);
    assert_true(fl.floor > 0.5 && fl.floor < fl.floor_nontrigger);
    assert_true(fl.floor_trigger == 0);
    task_free(&u);
    /* another table seed, another table; another V_base */
    c.table_seed = 2;
    build_ok(&u, &c);
    assert_memory_not_equal(t.P, u.P, (size_t)n * n * sizeof(double));
    task_free(&u);
    c.vbase = 10;
    build_ok(&u, &c);
    assert_int_equal(u.V, 12);
    task_free(&u);
    c.vbase = 200; /* beyond the character alphabet: numeric labels */
    build_ok(&u, &c);
    assert_string_equal(task_label(&u, 150), "150");
    task_free(&u);
    task_free(&t);
    task_free(&t); /* freeing twice is harmless */
}

static void test_corpus_table(void **state) {
    (void)state;
    char *dir = make_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    write_text(path, "abcab\nca");
    TaskConfig c;
    task_config_default(&c);
    snprintf(c.corpus, sizeof c.corpus, "%s", path);
    c.k = 1;
    Task t;
    build_ok(&t, &c);
    /* tokens: '\n' a b c in byte order */
    assert_int_equal(t.vbase, 4);
    assert_string_equal(task_label(&t, 0), "\\n");
    assert_string_equal(task_label(&t, 1), "a");
    double pi[4] = {1 / 8.0, 3 / 8.0, 2 / 8.0, 2 / 8.0};
    assert_allclose(t.pi, pi, 4, 1e-15, 0);
    /* pairs: ab bc ca ab b\n \nc ca: a->b (2/2); b->c 1/2, b->\n 1/2; c->a 2/2; \n->c */
    double P[16] = {0, 0, 0, 1, /* \n */ 0, 0, 1, 0, /* a */ 0.5, 0, 0, 0.5, /* b */ 0, 1, 0, 0 /* c */};
    assert_allclose(t.P, P, 16, 1e-15, 0);
    assert_int_equal(t.trig[0], 1); /* 'a' is the most frequent */
    task_free(&t);
    /* a byte that only occurs last has no successor: its row is pi */
    write_text(path, "aab");
    build_ok(&t, &c);
    assert_allclose(t.P + 2, t.pi, 2, 1e-15, 0);
    task_free(&t);
    /* spaces get a visible label; '#', '"' and '\' are escaped (docs/method.md#token-labels) */
    write_text(path, "a b a");
    build_ok(&t, &c);
    assert_string_equal(task_label(&t, 0), "\\s");
    task_free(&t);
    write_text(path, "#\"\\a\t\x7f\xe9");
    build_ok(&t, &c);
    assert_int_equal(t.vbase, 7); /* byte order: \t " # \\ a DEL 0xE9 */
    const char *want[7] = {"\\t", "\\x22", "\\x23", "\\\\", "a", "\\x7F", "\\xE9"};
    for (int a = 0; a < 7; a++) assert_string_equal(task_label(&t, a), want[a]);
    task_free(&t);
    remove_tempdir(dir);
}

static void test_transitions_table(void **state) {
    (void)state;
    Files f = files_make();
    TaskConfig c;
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", f.tiny);
    c.k = 2;
    Task t;
    build_ok(&t, &c);
    assert_int_equal(t.vbase, 5);
    assert_string_equal(task_label(&t, 3), "3");
    /* probabilities: pi is the stationary law */
    for (int b = 0; b < 5; b++) {
        double s = 0;
        for (int a = 0; a < 5; a++) s += t.pi[a] * t.P[a * 5 + b];
        assert_close(s, t.pi[b], 1e-14, 0);
    }
    task_free(&t);
    /* counts: rows normalised, pi = row sums */
    char counts[512], marg[512], lab[512];
    snprintf(counts, sizeof counts, "%s/counts.txt", f.dir);
    write_text(counts, "1 3\n6 0\n");
    snprintf(c.transitions, sizeof c.transitions, "%s", counts);
    c.k = 1;
    build_ok(&t, &c);
    double P[4] = {0.25, 0.75, 1, 0}, pi[2] = {0.4, 0.6};
    assert_allclose(t.P, P, 4, 1e-15, 0);
    assert_allclose(t.pi, pi, 2, 1e-15, 0);
    assert_int_equal(t.trig[0], 1);
    task_free(&t);
    /* marginal and labels files */
    snprintf(marg, sizeof marg, "%s/marg.txt", f.dir);
    snprintf(lab, sizeof lab, "%s/labels.txt", f.dir);
    write_text(marg, "# weights\n3\n1\n");
    write_text(lab, " \nxy z\n");
    snprintf(c.marginal, sizeof c.marginal, "%s", marg);
    snprintf(c.labels, sizeof c.labels, "%s", lab);
    build_ok(&t, &c);
    double pm[2] = {0.75, 0.25};
    assert_allclose(t.pi, pm, 2, 1e-15, 0);
    assert_int_equal(t.trig[0], 0);
    assert_string_equal(task_label(&t, 0), "\\s");
    assert_string_equal(task_label(&t, 1), "xy\\sz");
    task_free(&t);
    /* explicit triggers */
    c.marginal[0] = c.labels[0] = '\0';
    snprintf(c.transitions, sizeof c.transitions, "%s", f.tiny);
    snprintf(c.triggers, sizeof c.triggers, "4,0");
    build_ok(&t, &c);
    assert_int_equal(t.ntrig, 2);
    assert_true(t.is_trigger[4] && t.is_trigger[0] && !t.is_trigger[1]);
    task_free(&t);
    remove_tempdir(f.dir);
}

/* Each malformed input gives its own message (file:line and what), never a crash. */
static void expect_build_error(const TaskConfig *c, const char *needle) {
    Task t;
    BbError err = {{0}};
    int rc = task_build(&t, c, &err);
    if (rc != BB_EINPUT) fail_msg("expected BB_EINPUT for '%s', got %d (%s)", needle, rc, err.msg);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
    task_free(&t);
}

static void test_bad_tables(void **state) {
    (void)state;
    char *dir = make_tempdir();
    struct {
        const char *name, *text, *needle;
    } cases[] = {
        {"nonsquare", "# counts\n1 2 3\n4 5\n6 7 8\n", "nonsquare.txt:3: row 2 has 2 columns but row 1 has 3 (the matrix must be square)"},
        {"tall", "1 2\n3 4\n5 6\n", "tall.txt:3: row 3 is one row too many: rows have 2 columns"},
        {"short", "1 2 3\n\n4 5 6\n", "short.txt:3: the matrix ends after row 2 but rows have 3 columns"},
        {"negative", "1 2\n3 -4\n", "negative.txt:2: column 2: negative entry -4"},
        {"nan", "1 2\n# x\nnan 4\n", "nan.txt:3: column 1: 'nan' is not a finite number"},
        {"inf", "1 inf\n3 4\n", "inf.txt:1: column 2: 'inf' is not a finite number"},
        {"word", "1 2\n3 x4\n", "word.txt:2: column 2: 'x4' is not a number"},
        {"zerorow", "1 2\n0 0\n", "zerorow.txt:2: row 2 sums to zero"},
        {"empty", "# only a comment\n\n", "empty.txt: empty table"},
        {"void", "", "void.txt: empty table"},
    };
    TaskConfig c;
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        task_config_default(&c);
        snprintf(path, sizeof path, "%s/%s.txt", dir, cases[i].name);
        write_text(path, cases[i].text);
        snprintf(c.transitions, sizeof c.transitions, "%s", path);
        c.k = 1;
        expect_build_error(&c, cases[i].needle);
    }
    /* too large */
    snprintf(path, sizeof path, "%s/large.txt", dir);
    FILE *f = fopen(path, "w");
    for (int j = 0; j < TASK_MAX_VBASE + 1; j++) fputs("1 ", f);
    fputs("\n", f);
    fclose(f);
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", path);
    expect_build_error(&c, "large.txt:1: row 1 has 1025 columns: tables larger than 1024 tokens are refused (too large)");
    /* unreadable files */
    snprintf(c.transitions, sizeof c.transitions, "%s/missing.txt", dir);
    expect_build_error(&c, "cannot open transitions file");
    task_config_default(&c);
    snprintf(c.corpus, sizeof c.corpus, "%s/missing.txt", dir);
    expect_build_error(&c, "cannot open corpus");
    snprintf(path, sizeof path, "%s/void.txt", dir);
    snprintf(c.corpus, sizeof c.corpus, "%s", path);
    expect_build_error(&c, "empty corpus");
    /* marginal and labels of the wrong length */
    char good[512], marg[512], lab[512];
    snprintf(good, sizeof good, "%s/good.txt", dir);
    write_text(good, "0.5 0.5\n0.2 0.8\n");
    snprintf(marg, sizeof marg, "%s/marg.txt", dir);
    snprintf(lab, sizeof lab, "%s/lab.txt", dir);
    task_config_default(&c);
    c.k = 1;
    snprintf(c.transitions, sizeof c.transitions, "%s", good);
    snprintf(c.marginal, sizeof c.marginal, "%s", marg);
    write_text(marg, "1 2 3\n");
    expect_build_error(&c, "marg.txt:1: more than 2 values");
    write_text(marg, "1\n");
    expect_build_error(&c, "marg.txt: 1 values but the table has 2 tokens");
    write_text(marg, "1\n-2\n");
    expect_build_error(&c, "marg.txt:2: value 2: negative entry -2");
    c.marginal[0] = '\0';
    snprintf(c.labels, sizeof c.labels, "%s", lab);
    write_text(lab, "a\nb\nc\n");
    expect_build_error(&c, "lab.txt:3: more than 2 labels");
    write_text(lab, "a\n");
    expect_build_error(&c, "lab.txt: 1 labels but the table has 2 tokens");
    /* invalid combinations (on the synthetic table's 64 tokens) */
    task_config_default(&c);
    c.table = TASK_TABLE_SYNTHETIC;
    c.k = 64;
    expect_build_error(&c, "--k 64 leaves no non-trigger token");
    snprintf(c.triggers, sizeof c.triggers, "1,1");
    expect_build_error(&c, "--triggers: token 1 is listed twice");
    snprintf(c.triggers, sizeof c.triggers, "64");
    expect_build_error(&c, "--triggers: 64 in '64' is out of range [0, 63]");
    snprintf(c.triggers, sizeof c.triggers, "1,x");
    expect_build_error(&c, "--triggers:");
    task_config_default(&c);
    snprintf(c.corpus, sizeof c.corpus, "%s", good);
    snprintf(c.transitions, sizeof c.transitions, "%s", good);
    expect_build_error(&c, "--corpus and --transitions both given");
    task_config_default(&c);
    snprintf(c.marginal, sizeof c.marginal, "%s", good);
    expect_build_error(&c, "--marginal needs --transitions");
    task_config_default(&c);
    c.packing = 1;
    c.bos = 0;
    expect_build_error(&c, "--packing needs --bos 1 or 2");
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", good);
    snprintf(c.triggers, sizeof c.triggers, "0,1");
    expect_build_error(&c, "all 2 tokens are triggers");
    remove_tempdir(dir);
}

/* Input files: only regular files within the size limits are read (docs/method.md#input-files);
 * a NUL byte in a text file is an error at its line, not a silently skipped line; control
 * bytes of a file are escaped in the message. */
static void write_bytes(const char *path, const char *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void test_input_files(void **state) {
    (void)state;
    char *dir = make_tempdir(), fifo[512], path[512], good[512];
    TaskConfig c;
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(good, sizeof good, "%s/good.txt", dir);
    write_text(good, "0.5 0.5\n0.2 0.8\n");
    /* devices, FIFOs and directories, for every table flag: refused at once (no writer
     * ever opens the FIFO: a blocking read would hang the test) */
    const char *nonregular[][2] = {{"/dev/zero", "is a character device, not a regular file"},
                                   {fifo, "is a FIFO (named pipe), not a regular file"},
                                   {dir, "is a directory, not a regular file"}};
    for (int i = 0; i < 3; i++) {
        char want[600];
        task_config_default(&c);
        snprintf(c.corpus, sizeof c.corpus, "%s", nonregular[i][0]);
        snprintf(want, sizeof want, "corpus %s %s", nonregular[i][0], nonregular[i][1]);
        expect_build_error(&c, want);
        task_config_default(&c);
        snprintf(c.transitions, sizeof c.transitions, "%s", nonregular[i][0]);
        snprintf(want, sizeof want, "transitions file %s %s", nonregular[i][0], nonregular[i][1]);
        expect_build_error(&c, want);
        task_config_default(&c);
        c.k = 1;
        snprintf(c.transitions, sizeof c.transitions, "%s", good);
        snprintf(c.marginal, sizeof c.marginal, "%s", nonregular[i][0]);
        snprintf(want, sizeof want, "marginal file %s %s", nonregular[i][0], nonregular[i][1]);
        expect_build_error(&c, want);
        c.marginal[0] = '\0';
        snprintf(c.labels, sizeof c.labels, "%s", nonregular[i][0]);
        snprintf(want, sizeof want, "labels file %s %s", nonregular[i][0], nonregular[i][1]);
        expect_build_error(&c, want);
    }
    /* over the limits: sparse files (ftruncate), refused before a byte is read */
    snprintf(path, sizeof path, "%s/huge.txt", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, BB_MAX_TABLE_BYTES + 1), 0);
    close(fd);
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", path);
    expect_build_error(&c, "has 67108865 bytes, more than the 64 MiB limit");
    fd = open(path, O_WRONLY);
    assert_int_equal(ftruncate(fd, BB_MAX_CORPUS_BYTES + 1), 0);
    close(fd);
    task_config_default(&c);
    snprintf(c.corpus, sizeof c.corpus, "%s", path);
    expect_build_error(&c, "has 268435457 bytes, more than the 256 MiB limit (docs/method.md#input-files)");
    unlink(path);
    /* a NUL byte: an error at its line in every text table */
    const char rows_nul[] = "0.5 0.5\n\0 0.2 0.8\n";
    snprintf(path, sizeof path, "%s/nul.txt", dir);
    write_bytes(path, rows_nul, sizeof rows_nul - 1);
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", path);
    expect_build_error(&c, "nul.txt:2: NUL byte");
    task_config_default(&c);
    c.k = 1;
    snprintf(c.transitions, sizeof c.transitions, "%s", good);
    snprintf(c.marginal, sizeof c.marginal, "%s", path);
    write_bytes(path, "1\n2\0\n", 5);
    expect_build_error(&c, "nul.txt:2: NUL byte");
    c.marginal[0] = '\0';
    snprintf(c.labels, sizeof c.labels, "%s", path);
    write_bytes(path, "a\n\0b\n", 5);
    expect_build_error(&c, "nul.txt:2: NUL byte");
    /* ESC and BEL of a table come out escaped */
    snprintf(path, sizeof path, "%s/esc.txt", dir);
    write_text(path, "1 2\n3 \x1b[2J\a\n");
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", path);
    expect_build_error(&c, "esc.txt:2: column 2: '\\x1b[2J\\x07' is not a number");
    Task t;
    BbError err;
    assert_int_equal(task_build(&t, &c, &err), BB_EINPUT);
    for (const char *m = err.msg; *m; m++) assert_true((unsigned char)*m >= 0x20 && *m != 0x7f);
    unlink(fifo);
    remove_tempdir(dir);
}

/* ---------------------------------------------------------------- the rules */

typedef struct {
    int B, N, *in, *tg;
} Batch;

static Batch batch_make(const Task *t, int B, long step) {
    Batch b = {B, t->cfg.seq, NULL, NULL};
    b.in = malloc((size_t)B * b.N * sizeof(int));
    b.tg = malloc((size_t)B * b.N * sizeof(int));
    task_batch(t, step, B, b.in, b.tg);
    return b;
}
static void batch_free(Batch *b) {
    free(b->in);
    free(b->tg);
}
/* z_n of sequence s (n in 0..N) */
static int zat(const Batch *b, int s, int n) {
    return n < b->N ? b->in[(size_t)s * b->N + n] : b->tg[(size_t)s * b->N + b->N - 1];
}

static void test_bb_rules(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    c.seq = 128;
    Task t;
    build_ok(&t, &c);
    Batch b = batch_make(&t, 256, 3);
    long ntrig = 0;
    for (int s = 0; s < b.B; s++) {
        assert_int_equal(zat(&b, s, 0), t.bos_id);
        assert_false(t.is_trigger[zat(&b, s, 1)]); /* z_1 ~ pi' */
        for (int n = 1; n <= b.N; n++) {
            int z = zat(&b, s, n);
            assert_true(z >= 0 && z < t.vbase); /* nothing transitions into BOS; no delimiter */
            if (n < b.N) assert_int_equal(b.tg[(size_t)s * b.N + n - 1], z); /* targets = inputs shifted */
        }
        for (int i = 1; i < b.N; i++)
            if (task_is_trigger_pos(&t, b.in + (size_t)s * b.N, i)) {
                ntrig++;
                assert_int_equal(b.tg[(size_t)s * b.N + i], b.in[(size_t)s * b.N + i - 1]); /* backcopy */
            }
        assert_false(task_is_trigger_pos(&t, b.in + (size_t)s * b.N, 0));
    }
    assert_true(ntrig > b.B * b.N / 6);
    batch_free(&b);
    task_free(&t);
}

static void test_variant_rules(void **state) {
    (void)state;
    Files f = files_make();
    TaskConfig c;
    Task t;
    Batch b;
    /* markov: pure bigram, z_1 ~ pi (may be a trigger), no trigger positions */
    task_config_default(&c);
    c.kind = TASK_MARKOV;
    c.seq = 64;
    build_ok(&t, &c);
    b = batch_make(&t, 512, 0);
    int first_trig = 0, not_copied = 0;
    for (int s = 0; s < b.B; s++) {
        first_trig += t.is_trigger[zat(&b, s, 1)];
        for (int i = 0; i < b.N; i++) {
            assert_false(task_is_trigger_pos(&t, b.in + (size_t)s * b.N, i));
            if (i > 0) assert_true(zat(&b, s, i + 1) < t.vbase);
            if (i > 0 && t.is_trigger[zat(&b, s, i)]) not_copied += zat(&b, s, i + 1) != zat(&b, s, i - 1);
        }
    }
    assert_true(first_trig > 50);
    assert_true(not_copied > 100);
    batch_free(&b);
    task_free(&t);

    /* the tiny sparse table for support checks */
    task_config_default(&c);
    snprintf(c.transitions, sizeof c.transitions, "%s", f.tiny);
    c.k = 2;
    c.seq = 64;
    /* dormant-markov: target ~ P(.|z_{n-1}) at triggers */
    c.kind = TASK_DORMANT_MARKOV;
    build_ok(&t, &c);
    b = batch_make(&t, 512, 0);
    int outside_prev = 0, outside_cur = 0, total = 0;
    for (int s = 0; s < b.B; s++)
        for (int i = 1; i < b.N; i++) {
            int x = zat(&b, s, i), prev = zat(&b, s, i - 1), y = zat(&b, s, i + 1);
            if (!t.is_trigger[x] || prev == t.bos_id) continue;
            total++;
            outside_prev += !P_at(&t, prev, y);
            outside_cur += !P_at(&t, x, y);
        }
    assert_true(total > 1000);
    assert_int_equal(outside_prev, 0);
    assert_true(outside_cur > 50); /* it is not the bigram of the trigger itself */
    batch_free(&b);
    task_free(&t);
    /* bb-mix: p = 1 is bb, p = 0 the bigram of the trigger, p = 0.5 half copies */
    c.kind = TASK_BB_MIX;
    for (int q = 0; q < 3; q++) {
        c.mix_p = q * 0.5;
        build_ok(&t, &c);
        b = batch_make(&t, 512, 0);
        int copies = 0, bigram_only = 0, informative = 0;
        total = 0;
        for (int s = 0; s < b.B; s++)
            for (int i = 1; i < b.N; i++) {
                int x = zat(&b, s, i), prev = zat(&b, s, i - 1), y = zat(&b, s, i + 1);
                if (!t.is_trigger[x] || prev == t.bos_id) continue;
                total++;
                copies += y == prev;
                bigram_only += P_at(&t, x, y);
                if (!P_at(&t, x, prev)) informative++; /* a copy here cannot come from the bigram */
            }
        if (q == 2) assert_int_equal(copies, total);
        if (q == 0) assert_int_equal(bigram_only, total);
        if (q == 1) {
            int copies_inf = 0;
            for (int s = 0; s < b.B; s++)
                for (int i = 1; i < b.N; i++) {
                    int x = zat(&b, s, i), prev = zat(&b, s, i - 1), y = zat(&b, s, i + 1);
                    if (t.is_trigger[x] && prev != t.bos_id && !P_at(&t, x, prev)) copies_inf += y == prev;
                }
            assert_true(informative > 400);
            double frac = (double)copies_inf / informative, sd = sqrt(0.25 / informative);
            assert_true(fabs(frac - 0.5) < 4 * sd);
        }
        batch_free(&b);
        task_free(&t);
    }
    /* induction: each trigger's output is fixed within a sequence and varies across
     * sequences (its law: test_induction_law) */
    task_config_default(&c);
    c.kind = TASK_INDUCTION;
    c.seq = 64;
    build_ok(&t, &c);
    b = batch_make(&t, 256, 0);
    int seen_outputs[TASK_MAX_VBASE] = {0};
    for (int s = 0; s < b.B; s++) {
        int out[TASK_MAX_VBASE];
        for (int j = 0; j < t.vbase; j++) out[j] = -1;
        for (int n = 1; n < b.N; n++) {
            int x = zat(&b, s, n), y = zat(&b, s, n + 1);
            if (!t.is_trigger[x]) continue;
            if (out[x] < 0) out[x] = y;
            assert_int_equal(out[x], y);
            if (x == t.trig[0]) seen_outputs[y] = 1;
        }
    }
    int distinct = 0;
    for (int j = 0; j < t.vbase; j++) distinct += seen_outputs[j];
    assert_true(distinct > 10);
    batch_free(&b);
    task_free(&t);
    /* bos 0: no BOS at all, z_0 ~ pi' */
    task_config_default(&c);
    c.bos = 0;
    c.seq = 64;
    build_ok(&t, &c);
    b = batch_make(&t, 256, 0);
    for (int s = 0; s < b.B; s++) {
        assert_false(t.is_trigger[zat(&b, s, 0)]);
        for (int n = 0; n <= b.N; n++) assert_true(zat(&b, s, n) < t.vbase);
        for (int i = 1; i < b.N; i++)
            if (t.is_trigger[zat(&b, s, i)]) assert_int_equal(zat(&b, s, i + 1), zat(&b, s, i - 1));
    }
    batch_free(&b);
    task_free(&t);
    /* bos 2: two BOS, then BB */
    c.bos = 2;
    build_ok(&t, &c);
    b = batch_make(&t, 256, 0);
    double p[80];
    for (int s = 0; s < b.B; s++) {
        assert_int_equal(zat(&b, s, 0), t.bos_id);
        assert_int_equal(zat(&b, s, 1), t.bos_id);
        assert_false(t.is_trigger[zat(&b, s, 2)]);
        for (int n = 2; n <= b.N; n++) assert_true(zat(&b, s, n) < t.vbase);
        for (int i = 2; i < b.N; i++)
            if (t.is_trigger[zat(&b, s, i)]) assert_int_equal(zat(&b, s, i + 1), zat(&b, s, i - 1));
    }
    /* the oracle after the first BOS is BOS with probability 1, after the second pi' */
    assert_close(task_oracle(&t, b.in, 0, p), 0.0, 1e-15, 0);
    assert_close(p[t.bos_id], 1.0, 0, 0);
    task_oracle(&t, b.in, 1, p);
    assert_allclose(p, t.pi_nt, (size_t)t.vbase, 1e-15, 0);
    batch_free(&b);
    task_free(&t);
    remove_tempdir(f.dir);
}

static void test_packing(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    c.packing = 1;
    c.seq = 32;
    Task t, plain;
    build_ok(&t, &c);
    TaskConfig cp = c;
    cp.packing = 0;
    build_ok(&plain, &cp);
    Batch b = batch_make(&t, 600, 0);
    const int N = b.N;
    int where[33] = {0};
    double p[80], q[80];
    int doc[32];
    for (int s = 0; s < b.B; s++) {
        const int *x = b.in + (size_t)s * N;
        int nbos = 0, j = -1;
        for (int n = 0; n <= N; n++)
            if (zat(&b, s, n) == t.bos_id) {
                nbos++;
                j = n;
            }
        assert_int_equal(nbos, 1); /* one document boundary per window */
        where[j]++;
        if (j < N) assert_false(t.is_trigger[zat(&b, s, j + 1)]); /* a restart: z ~ pi' */
        for (int i = 1; i < N; i++)
            if (t.is_trigger[x[i]]) {
                assert_true(x[i - 1] != t.bos_id);
                if (i + 1 != j) assert_int_equal(zat(&b, s, i + 1), x[i - 1]); /* backcopy, both sides of the BOS */
            }
        for (int i = 0; i < N; i++) {
            double h = task_oracle(&t, x, i, p), sum = 0;
            for (int v = 0; v < t.V; v++) sum += p[v];
            assert_close(sum, 1.0, 1e-12, 0);
            assert_true(h >= 0);
            if (i < j) assert_close(p[t.bos_id], 1.0 / (N - i), 1e-15, 0); /* the boundary hazard */
        }
        /* after the BOS the oracle is the unpacked one of the new document */
        if (j < N) {
            memset(doc, 0, sizeof doc);
            memcpy(doc, x + j, (size_t)(N - j) * sizeof(int));
            for (int i = j; i < N; i++) {
                task_oracle(&t, x, i, p);
                task_oracle(&plain, doc, i - j, q);
                assert_allclose(p, q, (size_t)t.V, 1e-15, 0);
            }
        }
    }
    /* the BOS is anywhere in the window */
    int distinct = 0;
    for (int n = 0; n <= N; n++) distinct += where[n] > 0;
    assert_true(where[0] > 0);
    assert_true(distinct >= 30);
    batch_free(&b);
    task_free(&t);
    /* two BOS per document: pairs, except where the window cuts one */
    c.bos = 2;
    build_ok(&t, &c);
    b = batch_make(&t, 300, 0);
    int lone = 0;
    for (int s = 0; s < b.B; s++) {
        for (int n = 0; n <= N; n++) {
            if (zat(&b, s, n) != t.bos_id) continue;
            int left = n > 0 && zat(&b, s, n - 1) == t.bos_id, right = n < N && zat(&b, s, n + 1) == t.bos_id;
            assert_true(left || right || n == 0 || n == N);
        }
        const int *x = b.in + (size_t)s * N;
        for (int i = 0; i < N; i++) {
            double sum = 0;
            task_oracle(&t, x, i, p);
            for (int v = 0; v < t.V; v++) sum += p[v];
            assert_close(sum, 1.0, 1e-12, 0);
            /* a BOS pair: BOS follows the first for sure (once the pair is visible or a
             * token precedes it), pi' follows the second */
            if (i + 1 < N && x[i] == t.bos_id && x[i + 1] == t.bos_id) {
                assert_close(p[t.bos_id], i == 0 ? 0.5 : 1.0, 1e-15, 0);
                task_oracle(&t, x, i + 1, q);
                assert_allclose(q, t.pi_nt, (size_t)t.vbase, 1e-15, 0);
            }
            /* a lone BOS at position 0 is the first or the second, equally likely */
            if (i == 0 && x[0] == t.bos_id && x[1] != t.bos_id) {
                assert_close(p[t.bos_id], 0.5, 1e-15, 0);
                assert_close(p[x[1]], 0.5 * t.pi_nt[x[1]], 1e-15, 0);
                lone++;
            }
        }
    }
    assert_true(lone > 0);
    batch_free(&b);
    task_free(&t);
    task_free(&plain);
}

/* ---------------------------------------------------- bigram chi-square test */

/* Chi-square goodness of fit of counts to law (cells with expected < 5 pooled). */
static double chisq_p(const long *count, const double *law, int n) {
    long total = 0;
    for (int c = 0; c < n; c++) total += count[c];
    double stat = 0, pool_e = 0, pool_o = 0;
    int cells = 0;
    for (int c = 0; c < n; c++) {
        double e = law[c] * total;
        if (e < 5) {
            pool_e += e;
            pool_o += count[c];
            continue;
        }
        stat += (count[c] - e) * (count[c] - e) / e;
        cells++;
    }
    if (pool_e > 0) {
        stat += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
        cells++;
    } else if (pool_o > 0) {
        return 0; /* a count where the law has no mass */
    }
    return gsl_cdf_chisq_Q(stat, cells - 1);
}

/* Induction as the paper's code draws it (BBM/data.py): o_t uniform over the ordinary ids,
 * triggers included; z_1 ~ pi, triggers included. Chi-square on many sequences, and the
 * oracle's law at the points where it is not one-hot. */
static void test_induction_law(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    c.table = TASK_TABLE_SYNTHETIC;
    c.vbase = 12;
    c.kind = TASK_INDUCTION;
    c.seq = 32;
    Task t;
    build_ok(&t, &c);
    const int n = t.vbase, M = 20000;
    Batch b = batch_make(&t, M, 5);
    double first[TASK_MAX_VBASE] = {0}, out[TASK_MAX_VBASE] = {0}, nout = 0;
    double *p = malloc((size_t)t.V * sizeof(double));
    int checked_unseen = 0;
    for (int s = 0; s < M; s++) {
        first[zat(&b, s, 1)] += 1;
        int seen[TASK_MAX_VBASE] = {0};
        for (int i = 1; i < b.N; i++) {
            const int x = zat(&b, s, i);
            if (!t.is_trigger[x] || seen[x]) continue;
            seen[x] = 1; /* the first occurrence of x reveals o_x */
            out[zat(&b, s, i + 1)] += 1;
            nout += 1;
            if (s < 200) { /* the oracle there: uniform over the ordinary ids */
                task_oracle(&t, b.in + (size_t)s * b.N, i, p);
                for (int a = 0; a < t.V; a++) assert_close(p[a], a < n ? 1.0 / n : 0.0, 1e-15, 0);
                checked_unseen++;
            }
        }
        if (s < 200) { /* position 0 (input BOS): the law of z_1 is pi */
            task_oracle(&t, b.in + (size_t)s * b.N, 0, p);
            assert_allclose(p, t.pi, (size_t)n, 1e-15, 0);
        }
    }
    assert_true(checked_unseen > 200);
    double x2_first = 0, x2_out = 0;
    for (int a = 0; a < n; a++) {
        const double e1 = M * t.pi[a], e2 = nout / n;
        x2_first += (first[a] - e1) * (first[a] - e1) / e1;
        x2_out += (out[a] - e2) * (out[a] - e2) / e2;
    }
    const double q_first = gsl_cdf_chisq_Q(x2_first, n - 1), q_out = gsl_cdf_chisq_Q(x2_out, n - 1);
    if (q_first < 1e-4) fail_msg("z_1 is not distributed as pi: chi2 %g (p %g)", x2_first, q_first);
    if (q_out < 1e-4) fail_msg("o_t is not uniform over the ordinary ids: chi2 %g (p %g)", x2_out, q_out);
    for (int j = 0; j < t.ntrig; j++) assert_true(first[t.trig[j]] > 0 && out[t.trig[j]] > 0);
    free(p);
    batch_free(&b);
    task_free(&t);
}

static void test_bigram_chisq(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    Task t;
    build_ok(&t, &c);
    const int n = t.vbase;
    Batch b = batch_make(&t, 1024, 11);
    /* the three most frequent non-trigger tokens */
    int rows[3], nr = 0;
    for (int r = 0; r < 3; r++) {
        int best = -1;
        for (int a = 0; a < n; a++) {
            int used = t.is_trigger[a];
            for (int q = 0; q < nr; q++) used |= rows[q] == a;
            if (!used && (best < 0 || t.pi[a] > t.pi[best])) best = a;
        }
        rows[nr++] = best;
    }
    long *count = calloc((size_t)3 * n, sizeof(long)), first[TASK_MAX_VBASE] = {0};
    for (int s = 0; s < b.B; s++) {
        first[zat(&b, s, 1)]++;
        for (int i = 1; i < b.N; i++)
            for (int r = 0; r < 3; r++)
                if (b.in[(size_t)s * b.N + i] == rows[r]) count[r * n + b.tg[(size_t)s * b.N + i]]++;
    }
    for (int r = 0; r < 3; r++) {
        double pv = chisq_p(count + r * n, t.P + (size_t)rows[r] * n, n);
        if (!(pv > 1e-3)) fail_msg("row %d: chi-square p-value %g", rows[r], pv);
        /* the test has power: the counts of row r do not fit another row */
        double wrong = chisq_p(count + r * n, t.P + (size_t)rows[(r + 1) % 3] * n, n);
        if (!(wrong < 1e-6)) fail_msg("row %d against row %d: p-value %g", rows[r], rows[(r + 1) % 3], wrong);
    }
    /* pooled over every non-trigger row: sum of the per-row statistics */
    long *all = calloc((size_t)n * n, sizeof(long));
    for (int s = 0; s < b.B; s++)
        for (int i = 1; i < b.N; i++) {
            int x = b.in[(size_t)s * b.N + i];
            if (!t.is_trigger[x]) all[(size_t)x * n + b.tg[(size_t)s * b.N + i]]++;
        }
    double stat = 0, dof = 0;
    for (int a = 0; a < n; a++) {
        if (t.is_trigger[a]) continue;
        long tot = 0;
        for (int c2 = 0; c2 < n; c2++) tot += all[(size_t)a * n + c2];
        if (tot < 200) continue;
        double pv_row = chisq_p(all + (size_t)a * n, t.P + (size_t)a * n, n);
        /* back out the statistic and its degrees of freedom from the row's test */
        int cells = 0;
        double pool = 0;
        for (int c2 = 0; c2 < n; c2++) {
            double e = t.P[(size_t)a * n + c2] * tot;
            if (e >= 5) cells++;
            else pool += e;
        }
        cells += pool > 0;
        stat += gsl_cdf_chisq_Qinv(pv_row, cells - 1);
        dof += cells - 1;
    }
    double pooled = gsl_cdf_chisq_Q(stat, dof);
    if (!(pooled > 1e-3)) fail_msg("pooled chi-square over the rows: p-value %g (dof %g)", pooled, dof);
    free(all);
    /* the first token follows pi' (and not pi) */
    double pv = chisq_p(first, t.pi_nt, n);
    assert_true(pv > 1e-3);
    assert_true(chisq_p(first, t.pi, n) < 1e-6);
    free(count);
    batch_free(&b);
    task_free(&t);
}

/* ------------------------------------------------------ determinism and seeds */

static void test_determinism(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    c.seq = 64;
    for (int variant = 0; variant < 3; variant++) {
        if (variant == 1) c.kind = TASK_INDUCTION;
        if (variant == 2) c.packing = 1;
        Task t;
        build_ok(&t, &c);
        const int B = 96, N = c.seq;
        size_t sz = (size_t)B * N * sizeof(int);
        int *a_in = malloc(sz), *a_tg = malloc(sz), *b_in = malloc(sz), *b_tg = malloc(sz);
        omp_set_num_threads(1);
        task_batch(&t, 5, B, a_in, a_tg);
        omp_set_num_threads(2);
        task_batch(&t, 5, B, b_in, b_tg);
        assert_memory_equal(a_in, b_in, sz);
        assert_memory_equal(a_tg, b_tg, sz);
        task_batch(&t, 5, B, b_in, b_tg); /* again */
        assert_memory_equal(a_in, b_in, sz);
        /* sequence b depends on (seed, step, b) only: a smaller batch is a prefix */
        task_batch(&t, 5, 10, b_in, b_tg);
        assert_memory_equal(a_in, b_in, (size_t)10 * N * sizeof(int));
        task_batch(&t, 6, B, b_in, b_tg); /* another step */
        assert_memory_not_equal(a_in, b_in, sz);
        /* the evaluation batch: its own stream, never a training batch (even with equal seeds) */
        t.cfg.eval_seed = t.cfg.data_seed;
        task_eval_batch(&t, B, b_in, b_tg);
        for (long s = 0; s < 3; s++) {
            task_batch(&t, s, B, a_in, a_tg);
            assert_memory_not_equal(a_in, b_in, sz);
        }
        omp_set_num_threads(1);
        task_eval_batch(&t, B, a_in, a_tg);
        assert_memory_equal(a_in, b_in, sz);
        omp_set_num_threads(2);
        /* the seed matters */
        t.cfg.data_seed = 43;
        task_batch(&t, 5, B, b_in, b_tg);
        task_batch(&t, 5, B, a_in, a_tg);
        assert_memory_equal(a_in, b_in, sz);
        t.cfg.data_seed = 42;
        task_batch(&t, 5, B, a_in, a_tg);
        assert_memory_not_equal(a_in, b_in, sz);
        free(a_in);
        free(a_tg);
        free(b_in);
        free(b_tg);
        task_free(&t);
    }
}

/* ------------------------------------------- the floor: brute-force enumeration */

#define BF_N 6
#define BF_MAXV 5
typedef struct {
    int z[BF_N + 1];
    double p;
} BfSeq;
typedef struct {
    BfSeq *s;
    int n, cap;
} BfList;

/* The spec's generative rule, written independently of the library: the law of
 * z_{n+1} given z_0..z_n (and the induction outputs o). */
static void spec_next_law(const Task *t, const int *z, int n, const int *o, double *law) {
    const int V = t->vbase, nb = t->cfg.bos, kind = t->cfg.kind, BOS = t->vbase;
    double pin[BF_MAXV], s = 0;
    for (int c = 0; c < V; c++) s += pin[c] = t->is_trigger[c] ? 0 : t->pi[c];
    for (int c = 0; c < V; c++) pin[c] /= s;
    for (int c = 0; c <= V; c++) law[c] = 0;
    if (n < nb - 1) {
        law[BOS] = 1;
        return;
    }
    if (n == nb - 1) {
        for (int c = 0; c < V; c++) law[c] = kind == TASK_MARKOV || kind == TASK_INDUCTION ? t->pi[c] : pin[c];
        return;
    }
    const int a = z[n];
    const double *row = t->P + (size_t)a * V;
    if (kind == TASK_MARKOV || !t->is_trigger[a]) {
        for (int c = 0; c < V; c++) law[c] = row[c];
        return;
    }
    const int prev = z[n - 1]; /* BOS only for induction (z_1 ~ pi), which does not read it */
    switch (kind) {
    case TASK_BB: law[prev] = 1; break;
    case TASK_DORMANT_MARKOV:
        for (int c = 0; c < V; c++) law[c] = t->P[(size_t)prev * V + c];
        break;
    case TASK_BB_MIX:
        for (int c = 0; c < V; c++) law[c] = (1 - t->cfg.mix_p) * row[c];
        law[prev] += t->cfg.mix_p;
        break;
    default: law[o[a]] = 1; break;
    }
}

static void bf_rec(const Task *t, BfList *L, int *z, int n, double p, const int *o) {
    if (n == BF_N) {
        if (L->n == L->cap) L->s = realloc(L->s, (size_t)(L->cap = L->cap ? 2 * L->cap : 1024) * sizeof(BfSeq));
        memcpy(L->s[L->n].z, z, sizeof L->s[L->n].z);
        L->s[L->n++].p = p;
        return;
    }
    double law[BF_MAXV + 1];
    spec_next_law(t, z, n, o, law);
    for (int c = 0; c <= t->vbase; c++)
        if (law[c] > 0) {
            z[n + 1] = c;
            bf_rec(t, L, z, n + 1, p * law[c], o);
        }
}

static int g_prefix;
static int cmp_prefix(const void *a, const void *b) {
    return memcmp(((const BfSeq *)a)->z, ((const BfSeq *)b)->z, (size_t)(g_prefix + 1) * sizeof(int));
}

/* Enumerate every sequence, then for each position group by prefix: the conditional law
 * of the next token is the Bayes oracle; compare it with task_oracle, and the mean
 * conditional entropy with the floor. */
static void brute_force_check(const Task *t, double *floor_out, double *frac_out) {
    BfList L = {NULL, 0, 0};
    int z[BF_N + 1];
    const int V = t->vbase, nb = t->cfg.bos;
    /* induction: all output assignments, o_t uniform over the V_base ordinary ids */
    int o[BF_MAXV] = {0}, ntr = t->cfg.kind == TASK_INDUCTION ? t->ntrig : 0, combos = 1;
    double pin[BF_MAXV], s = 0;
    for (int c = 0; c < V; c++) s += pin[c] = t->is_trigger[c] ? 0 : t->pi[c];
    for (int j = 0; j < ntr; j++) combos *= V;
    for (int combo = 0; combo < combos; combo++) {
        double po = 1;
        for (int j = 0, r = combo; j < ntr; j++, r /= V) {
            o[t->trig[j]] = r % V;
            po /= V;
        }
        if (po == 0) continue;
        if (nb > 0) {
            z[0] = t->bos_id;
            bf_rec(t, &L, z, 0, po, o);
        } else {
            for (int c = 0; c < V; c++) {
                double p0 = t->cfg.kind == TASK_MARKOV || t->cfg.kind == TASK_INDUCTION ? t->pi[c] : pin[c] / s;
                if (p0 == 0) continue;
                z[0] = c;
                bf_rec(t, &L, z, 0, po * p0, o);
            }
        }
    }
    double total = 0, H = 0, ftrig = 0, p[16], cond[16];
    for (int k = 0; k < L.n; k++) total += L.s[k].p;
    assert_close(total, 1.0, 1e-12, 0);
    for (int i = 0; i < BF_N; i++) {
        g_prefix = i;
        qsort(L.s, (size_t)L.n, sizeof *L.s, cmp_prefix);
        for (int k0 = 0, k1; k0 < L.n; k0 = k1) {
            double mass = 0;
            memset(cond, 0, sizeof cond);
            for (k1 = k0; k1 < L.n && cmp_prefix(&L.s[k0], &L.s[k1]) == 0; k1++) {
                mass += L.s[k1].p;
                cond[L.s[k1].z[i + 1]] += L.s[k1].p;
            }
            for (int c = 0; c < t->V; c++) cond[c] /= mass;
            double h = task_oracle(t, L.s[k0].z, i, p);
            assert_allclose(p, cond, (size_t)t->V, 1e-12, 0);
            double hc = 0;
            for (int c = 0; c < t->V; c++)
                if (cond[c] > 0) hc -= cond[c] * log(cond[c]);
            assert_close(h, hc, 1e-12, 0);
            H += mass * hc;
            ftrig += mass * task_is_trigger_pos(t, L.s[k0].z, i);
        }
    }
    *floor_out = H / BF_N;
    *frac_out = ftrig / BF_N;
    free(L.s);
}

static void test_floor_brute_force(void **state) {
    (void)state;
    Files f = files_make();
    struct {
        int kind, bos;
        double mix;
    } v[] = {{TASK_BB, 1, 0}, {TASK_MARKOV, 1, 0}, {TASK_DORMANT_MARKOV, 1, 0}, {TASK_BB_MIX, 1, 0.3},
             {TASK_BB, 0, 0}, {TASK_BB, 2, 0},      {TASK_DORMANT_MARKOV, 0, 0}, {TASK_BB_MIX, 2, 0.7},
             {TASK_INDUCTION, 1, 0}};
    for (size_t j = 0; j < sizeof v / sizeof *v; j++) {
        TaskConfig c;
        task_config_default(&c);
        snprintf(c.transitions, sizeof c.transitions, "%s", f.tiny);
        c.k = 2;
        c.seq = BF_N;
        c.kind = v[j].kind;
        c.bos = v[j].bos;
        c.mix_p = v[j].mix;
        Task t;
        build_ok(&t, &c);
        double bf, bf_frac;
        brute_force_check(&t, &bf, &bf_frac);
        BayesFloor fl;
        BbError err;
        assert_int_equal(task_bayes_floor(&t, &fl, &err), 0);
        if (fl.exact) {
            assert_close(fl.floor, bf, 1e-12, 0);
            assert_close(fl.frac_trigger, bf_frac, 1e-12, 0);
            double nt = (bf * BF_N - fl.floor_trigger * bf_frac * BF_N) / (BF_N * (1 - bf_frac));
            assert_close(fl.floor_nontrigger, nt, 1e-12, 0);
        } else {
            assert_int_equal(c.kind, TASK_INDUCTION);
            assert_true(fl.mc_stderr > 0 && fl.mc_stderr < 0.01);
            if (fabs(fl.floor - bf) > 3 * fl.mc_stderr)
                fail_msg("induction: MC floor %g +- %g vs brute force %g", fl.floor, fl.mc_stderr, bf);
            assert_close(fl.frac_trigger, bf_frac, 0.01, 0);
        }
        task_free(&t);
    }
    remove_tempdir(f.dir);
}

/* ------------------------------------------------- the floor: Monte-Carlo */

static void check_floor_mc(const TaskConfig *c, const char *what) {
    Task t;
    build_ok(&t, c);
    BayesFloor fl;
    BbError err;
    assert_int_equal(task_bayes_floor(&t, &fl, &err), 0);
    assert_int_equal(fl.exact, 1);
    double mean, se, frac;
    mc_floor(&t, 3000, &mean, &se, &frac);
    if (fabs(mean - fl.floor) > 3 * se)
        fail_msg("%s: exact floor %.6f vs Monte-Carlo %.6f +- %.6f", what, fl.floor, mean, se);
    assert_close(frac, fl.frac_trigger, 0.01, 0);
    task_free(&t);
}

static void test_floor_monte_carlo(void **state) {
    (void)state;
    TaskConfig c;
    task_config_default(&c);
    c.seq = 64;
    check_floor_mc(&c, "bb built-in");
    c.kind = TASK_DORMANT_MARKOV;
    check_floor_mc(&c, "dormant-markov built-in");
    c.kind = TASK_BB_MIX;
    c.bos = 2;
    check_floor_mc(&c, "bb-mix bos 2 built-in");
    c.kind = TASK_MARKOV;
    c.bos = 0;
    check_floor_mc(&c, "markov bos 0 built-in");
    /* a corpus table */
    char *dir = make_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/story.txt", dir);
    write_text(path, CORPUS_TEXT);
    task_config_default(&c);
    c.seq = 64;
    snprintf(c.corpus, sizeof c.corpus, "%s", path);
    check_floor_mc(&c, "bb corpus");
    Task t;
    build_ok(&t, &c);
    assert_string_equal(task_label(&t, t.trig[0]), "\\s"); /* space, then e and t as in English */
    assert_string_equal(task_label(&t, t.trig[1]), "e");
    assert_string_equal(task_label(&t, 0), "\\n");
    task_free(&t);
    remove_tempdir(dir);
    /* the Monte-Carlo floors (packing, induction) agree with mean oracle entropy */
    task_config_default(&c);
    c.seq = 32;
    c.packing = 1;
    build_ok(&t, &c);
    BayesFloor fl;
    BbError err;
    assert_int_equal(task_bayes_floor(&t, &fl, &err), 0);
    assert_int_equal(fl.exact, 0);
    double mean, se, frac;
    mc_floor(&t, 3000, &mean, &se, &frac);
    assert_true(fabs(mean - fl.floor) < 3 * sqrt(se * se + fl.mc_stderr * fl.mc_stderr));
    task_free(&t);
}


/* ------------------------------------------------- the default table: shakespeare */

#define SHAKESPEARE_TEXT "/tmp/tinyshakespeare.txt" /* not in the repository (scripts/make-table.sh) */

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* counts_read_table on text (through fmemopen, as the embedded table is read). */
static int read_table_text(const char *text, TaskCounts *tc, BbError *err) {
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    int rc = counts_read_table(tc, f, "table", NULL, 0, err);
    fclose(f);
    return rc;
}

static void test_shakespeare_table(void **state) {
    (void)state;
    /* the default: the paper's table, its triggers and its exact floor (k = 3, N = 256) */
    TaskConfig c;
    task_config_default(&c);
    Task t;
    build_ok(&t, &c);
    assert_int_equal(t.vbase, 65);
    assert_int_equal(t.V, 67);
    assert_string_equal(task_label(&t, t.trig[0]), "\\s");
    assert_string_equal(task_label(&t, t.trig[1]), "e");
    assert_string_equal(task_label(&t, t.trig[2]), "t");
    assert_non_null(strstr(t.source, "karpathy/char-rnn at commit 6f9487a"));
    BayesFloor fl;
    BbError err = {{0}};
    assert_int_equal(task_bayes_floor(&t, &fl, &err), 0);
    assert_int_equal(fl.exact, 1);
    assert_close(fl.floor, 1.654868, 5e-7, 0);
    assert_close(fl.floor_nontrigger, 2.222751, 5e-7, 0);
    /* the binary holds exactly the shipped file */
    char path[1024];
    snprintf(path, sizeof path, "%s/src/tasks/data/shakespeare.tsv", BBSIM_SOURCE_DIR);
    size_t len;
    char *file = read_all(path, &len);
    assert_int_equal(len, task_table_shakespeare_len);
    assert_memory_equal(file, task_table_shakespeare, len);
    /* the embedded table equals what --corpus derives from the text, where it is present */
    if (access(SHAKESPEARE_TEXT, R_OK) == 0) {
        TaskConfig cc = c;
        snprintf(cc.corpus, sizeof cc.corpus, "%s", SHAKESPEARE_TEXT);
        Task u;
        build_ok(&u, &cc);
        assert_int_equal(u.vbase, t.vbase);
        assert_memory_equal(u.pi, t.pi, (size_t)t.vbase * sizeof(double));
        assert_memory_equal(u.P, t.P, (size_t)t.vbase * t.vbase * sizeof(double));
        assert_memory_equal(u.labels, t.labels, (size_t)t.V * sizeof *t.labels);
        task_free(&u);
        /* and --write-table writes the shipped table lines (the file adds two comments) */
        char *dir = make_tempdir(), *out = NULL;
        assert_int_equal(run_bbsim(&out, "task --corpus %s --write-table %s/s.tsv", SHAKESPEARE_TEXT, dir), 0);
        free(out);
        char written[600];
        snprintf(written, sizeof written, "%s/s.tsv", dir);
        size_t wlen;
        char *w = read_all(written, &wlen);
        const char *body = strstr(w, "# checksum fnv1a64");
        assert_non_null(body);
        assert_non_null(strstr(file, body));
        free(w);
        remove_tempdir(dir);
    } else {
        print_message("test_shakespeare_table: %s is absent (it is not in the repository): skipping the "
                      "comparison with --corpus\n", SHAKESPEARE_TEXT);
    }
    /* the checksum: a changed count, a changed label or a missing checksum line is refused;
     * a changed comment is not */
    TaskCounts tc;
    assert_int_equal(read_table_text(file, &tc, &err), 0);
    assert_int_equal(tc.vbase, 65);
    counts_free(&tc);
    char *mod = strdup(file);
    char *row = strstr(mod, "\ne\t"); /* the row of 'e': bump the first digit of its count */
    assert_non_null(row);
    row[3] = row[3] == '9' ? '1' : (char)(row[3] + 1);
    assert_int_equal(read_table_text(mod, &tc, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    free(mod);
    mod = strdup(file);
    char *sum = strstr(mod, "# checksum");
    sum[2] = 'C'; /* "# Checksum": an ordinary comment now */
    assert_int_equal(read_table_text(mod, &tc, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "no '# checksum fnv1a64 HEX' line"));
    free(mod);
    mod = strdup(file);
    mod[2] = 'S'; /* the first comment */
    assert_int_equal(read_table_text(mod, &tc, &err), 0);
    counts_free(&tc);
    free(mod);
    free(file);
    task_free(&t);
}

/* --write-table then the reader give --corpus's table (any text), and bad table files get
 * their own message. */
static void test_table_files(void **state) {
    (void)state;
    char *dir = make_tempdir(), text[512], table[512], *out = NULL;
    snprintf(text, sizeof text, "%s/text.txt", dir);
    snprintf(table, sizeof table, "%s/t.tsv", dir);
    write_text(text, "the cat sat on the mat, then the #\"hat\"\tfell\n\\z");
    assert_int_equal(run_bbsim(&out, "task --corpus %s --write-table %s", text, table), 0);
    free(out);
    TaskCounts tc;
    BbError err = {{0}};
    FILE *f = fopen(table, "r");
    assert_int_equal(counts_read_table(&tc, f, table, NULL, 0, &err), 0);
    fclose(f);
    TaskTable from_file = {0}, from_text = {0};
    table_from_counts(&from_file, &tc);
    assert_int_equal(table_corpus(&from_text, text, &err), 0);
    assert_int_equal(from_file.vbase, from_text.vbase);
    const int n = from_text.vbase;
    assert_memory_equal(from_file.P, from_text.P, (size_t)n * n * sizeof(double));
    assert_memory_equal(from_file.pi, from_text.pi, (size_t)n * sizeof(double));
    assert_memory_equal(from_file.labels, from_text.labels, (size_t)n * TASK_LABEL_LEN);
    table_free(&from_file);
    table_free(&from_text);
    counts_free(&tc);
    /* --write-table needs --corpus; --vocab and --table-seed need --table synthetic */
    assert_int_equal(run_bbsim(&out, "task --write-table %s/x.tsv", dir), 2);
    assert_non_null(strstr(out, "--write-table needs --corpus"));
    free(out);
    assert_int_equal(run_bbsim(&out, "task --vocab 12"), 2);
    assert_non_null(strstr(out, "bbsim task: --vocab applies to --table synthetic only"));
    assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
    free(out);
    assert_int_equal(run_bbsim(&out, "task --table-seed 3 --table shakespeare"), 2);
    assert_non_null(strstr(out, "--table-seed applies to --table synthetic only"));
    free(out);
    assert_int_equal(run_bbsim(&out, "task --table synthetic --corpus %s --vocab 12", text), 2);
    assert_non_null(strstr(out, "--vocab applies to --table synthetic only, not to the table of --corpus"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --vocab 12 --steps 1 --out %s/r", dir), 2);
    assert_non_null(strstr(out, "--vocab applies to --table synthetic only"));
    free(out);
    /* malformed table files */
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t1\t0\t1\n", "1 token rows but the header has 2"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t1\t0\t1\nb\t1\t0\n", "row 2 has fewer"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t1\t0\t1\nb\t1\t0\t0\t0\n", "row 2 has more"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t1\t0\t1\nc\t1\t0\t0\n", "row 2 is labelled 'c'"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t1\t0\t-1\nb\t1\t0\t0\n", "'-1' is not a count"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t0\t0\t1\nb\t1\t0\t0\n", "has count 0"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\ta\n", "label 'a' appears twice"},
        {"# checksum fnv1a64 0000000000000000\nid\tcount\ta\tb\n", "the first line must be the header"},
        {"# checksum fnv1a64 00000000\nlabel\tcount\ta\tb\n", "not 16 hex digits"},
        {"# checksum fnv1a64 0000000000000000\nlabel\tcount\ta\tb\na\t1\t0\t1\nb\t1\t0\t0\n", "checksum mismatch"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = read_table_text(bad[i].text, &tc, &err);
        if (rc != BB_EINPUT || !strstr(err.msg, bad[i].msg))
            fail_msg("table %zu: expected '%s', got %d (%s)", i, bad[i].msg, rc, err.msg);
    }
    remove_tempdir(dir);
}

/* ----------------------------------------------------------------- the CLI */

static void test_cli(void **state) {
    (void)state;
    char *out = NULL;
    int rc = run_bbsim(&out, "task --table synthetic --seq 64 --sample 2");
    if (rc != 0) fail_msg("bbsim task exited %d: %s", rc, out);
    assert_non_null(strstr(out, "V = 66"));
    assert_non_null(strstr(out, "triggers    3: 1=\\s, 42=e, 57=t")); /* the labels of the TSVs */
    assert_non_null(strstr(out, "labels      escaped as in every TSV"));
    assert_non_null(strstr(out, "Bayes floor (exact)"));
    assert_non_null(strstr(out, "non-trigger"));
    assert_non_null(strstr(out, "trigger positions"));
    assert_non_null(strstr(out, "\n0: <s>"));
    assert_non_null(strstr(out, "\n1: <s>"));
    assert_null(strstr(out, "\n2: "));
    free(out);
    rc = run_bbsim(&out, "task --task induction --seq 16");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Monte-Carlo estimate"));
    free(out);
    rc = run_bbsim(&out, "task --help");
    assert_int_equal(rc, 0);
    TaskConfig c;
    task_config_default(&c);
    Opt o[TASK_NOPTS];
    int n = task_opts(&c, o);
    for (int i = 0; i < n; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s ", o[i].name);
        if (!strstr(out, flag)) fail_msg("--help lacks %s", flag);
    }
    assert_non_null(strstr(out, "--sample"));
    assert_non_null(strstr(out, "[default: 256]"));
    free(out);
    rc = run_bbsim(&out, "task --no-such-flag");
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "bbsim task: unknown flag '--no-such-flag'"));
    free(out);
    rc = run_bbsim(&out, "task --bos 7");
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "bbsim task: --bos"));
    free(out);
    /* bad tables through the CLI: one line, exit 2 */
    char *dir = make_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/bad.txt", dir);
    write_text(path, "1 2 3\n4 5\n");
    rc = run_bbsim(&out, "task --transitions %s", path);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "bbsim task: "));
    assert_non_null(strstr(out, "bad.txt:2: row 2 has 2 columns but row 1 has 3"));
    assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
    free(out);
    write_text(path, "1 2\nNaN 1\n");
    rc = run_bbsim(&out, "task --transitions %s", path);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "bad.txt:2: column 1: 'NaN' is not a finite number"));
    free(out);
    rc = run_bbsim(&out, "task --corpus %s/none.txt", dir);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "cannot open corpus"));
    free(out);
    remove_tempdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_opts),  cmocka_unit_test(test_builtin_table),
        cmocka_unit_test(test_corpus_table),     cmocka_unit_test(test_transitions_table),
        cmocka_unit_test(test_bad_tables),       cmocka_unit_test(test_input_files),
        cmocka_unit_test(test_bb_rules),
        cmocka_unit_test(test_variant_rules),    cmocka_unit_test(test_packing),
        cmocka_unit_test(test_induction_law),    cmocka_unit_test(test_bigram_chisq),     cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_floor_brute_force), cmocka_unit_test(test_floor_monte_carlo),
        cmocka_unit_test(test_shakespeare_table), cmocka_unit_test(test_table_files),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
