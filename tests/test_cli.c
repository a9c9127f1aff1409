/* Unit tests of the command line: how bbsim train resolves its configuration (library
 * defaults -> --preset -> --config FILE -> the flags -> --seed), the --config round trip
 * to identical checkpoints, malformed config files, "did you mean", and --threads on
 * every command. Every run here is tiny (seconds). */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bbsim/checkpoint.h"
#include "bbsim/cli.h"

#define TINY "--table synthetic --vocab 12 --seq 16 --dim 16 --batch 8 --lr 3e-3 --eval-batch 16 --quiet"

/* The configuration bbsim train would run for these flags (asserting it resolves). */
static TrainConfig resolved(int argc, char **argv) {
    TrainConfig c;
    BbError err = {{0}};
    if (cmd_train_config(argc, argv, &c, &err)) fail_msg("flags refused: %s", err.msg);
    return c;
}

/* The experiment's "name value" lines (train_config_write without the runtime ones). */
static char *config_text(const TrainConfig *c) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    train_config_write(f, c, 0);
    fclose(f);
    return text;
}

/* --seed N sets the four seeds; a specific seed flag wins before or after it. */
static void test_seed(void **state) {
    (void)state;
    TrainConfig c = resolved(0, NULL);
    assert_true(c.task.data_seed == 42 && c.model.init_seed == 42 && c.task.table_seed == 1 && c.task.eval_seed == 4242);
    c = resolved(2, (char *[]){"--seed", "7"});
    assert_true(c.task.data_seed == 7 && c.model.init_seed == 7 && c.task.table_seed == 7 && c.task.eval_seed == 7);
    c = resolved(4, (char *[]){"--seed", "7", "--init-seed", "3"});
    assert_true(c.task.data_seed == 7 && c.model.init_seed == 3 && c.task.table_seed == 7 && c.task.eval_seed == 7);
    c = resolved(4, (char *[]){"--init-seed", "3", "--seed", "7"});
    assert_true(c.task.data_seed == 7 && c.model.init_seed == 3 && c.task.table_seed == 7 && c.task.eval_seed == 7);
    c = resolved(6, (char *[]){"--eval-seed=9", "--seed=7", "--table-seed", "1", "--table", "synthetic"});
    assert_true(c.task.data_seed == 7 && c.model.init_seed == 7 && c.task.table_seed == 1 && c.task.eval_seed == 9);
    /* the largest seed, and a bad one */
    c = resolved(2, (char *[]){"--seed", "18446744073709551615"});
    assert_true(c.task.data_seed == UINT64_MAX && c.model.init_seed == UINT64_MAX);
    TrainConfig bad;
    BbError err = {{0}};
    assert_int_equal(cmd_train_config(2, (char *[]){"--seed", "-1"}, &bad, &err), BB_EINPUT);
    assert_non_null(strstr(err.msg, "--seed: '-1' must be a non-negative integer"));
    /* no "seed" line in the configuration (its meaning is the four seeds it resolved to) */
    char *text = config_text(&c);
    assert_null(strstr(text, "\nseed "));
    free(text);
    /* bbsim task --seed: the same rule */
    char *out = NULL;
    assert_int_equal(run_bbsim(&out, "task --seed 5 --table synthetic --vocab 12"), 0);
    assert_non_null(strstr(out, "synthetic (V_base 12, table seed 5)"));
    free(out);
    assert_int_equal(run_bbsim(&out, "task --table-seed 2 --seed 5 --table synthetic --vocab 12 --sample 1 --seq 8"), 0);
    assert_non_null(strstr(out, "synthetic (V_base 12, table seed 2)"));
    assert_non_null(strstr(out, "eval seed 5;"));
    free(out);
}

/* The presets: small by default, paper = the library defaults; flags win wherever they stand. */
static void test_presets(void **state) {
    (void)state;
    TrainConfig c = resolved(0, NULL);
    assert_int_equal(c.model.L, 1);
    assert_int_equal(c.model.C, 64);
    assert_int_equal(c.task.seq, 64);
    assert_int_equal(c.batch, 32);
    assert_int_equal(c.steps, 2000);
    assert_true(c.eval_every > 0);
    assert_string_equal(c.out, "run");
    TrainConfig lib;
    train_config_default(&lib);
    c = resolved(2, (char *[]){"--preset", "paper"});
    char *a = config_text(&c), *b = config_text(&lib);
    assert_string_equal(a, b);
    free(a);
    free(b);
    c = resolved(4, (char *[]){"--steps", "5", "--preset", "paper"});
    assert_int_equal(c.steps, 5);
    assert_int_equal(c.model.C, 256);
    /* --help names the presets and shows the chosen preset's defaults */
    char *out = NULL;
    assert_int_equal(run_bbsim(&out, "train --help"), 0);
    assert_non_null(strstr(out, "--preset NAME"));
    assert_non_null(strstr(out, "(small|paper) [default: small]"));
    assert_non_null(strstr(out, "hours"));
    assert_non_null(strstr(out, "--config"));
    assert_non_null(strstr(out, "--seed N"));
    assert_non_null(strstr(out, "[default: 64]"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --preset paper --help"), 0);
    assert_non_null(strstr(out, "model width d (head size d/heads, MLP width 4d) [default: 256]"));
    free(out);
}

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* A file's lines without '#' lines and without the lines starting with `skip` (or all
 * but the '#' ones when skip is NULL); with column `drop` (0-based, -1 = none) of every
 * tab-separated line removed. */
static char *filtered(const char *path, const char *skip, int drop) {
    char *text = slurp(path), *out = malloc(strlen(text) + 1), *o = out;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || (skip && !strncmp(line, skip, strlen(skip)))) continue;
        int col = 0, first = 1;
        for (char *fsave = NULL, *field = strtok_r(line, "\t", &fsave); field; field = strtok_r(NULL, "\t", &fsave), col++) {
            if (col == drop) continue;
            o += sprintf(o, "%s%s", first ? "" : "\t", field);
            first = 0;
        }
        *o++ = '\n';
    }
    *o = '\0';
    free(text);
    return out;
}

/* bbsim train --config RUN/config.txt --out OTHER trains the same run: every checkpoint
 * byte-identical, config.txt identical but for out (and the '#' provenance), metrics.tsv
 * identical but for the ms/step column. */

/* train_config_read of text onto the library defaults. */
static TrainConfig config_from_text(const char *text) {
    TrainConfig c;
    train_config_default(&c);
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    BbError err = {{0}};
    if (train_config_read(f, &c, "config", &err)) fail_msg("config refused: %s", err.msg);
    fclose(f);
    return c;
}

static void copy_file(const char *from, const char *to) {
    char *out = NULL, cmd[2600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    if (run_capture(&out, cmd)) fail_msg("%s: %s", cmd, out);
    free(out);
}

/* Runs, checkpoints and config files from before tables had names (no `table` line, but
 * `vocab` and `table-seed`, as every config.txt of then) were trained on the synthetic
 * table and still mean it; the table is part of the run identity. */
static void test_legacy_table(void **state) {
    (void)state;
    TrainConfig c = config_from_text("task bb\nvocab 8\ntable-seed 1\nk 3\n");
    assert_int_equal(c.task.table, TASK_TABLE_SYNTHETIC);
    assert_int_equal(c.task.vbase, 8);
    c = config_from_text("table-seed 4\n");
    assert_int_equal(c.task.table, TASK_TABLE_SYNTHETIC);
    c = config_from_text("table shakespeare\nvocab 64\ntable-seed 1\n"); /* what this version writes */
    assert_int_equal(c.task.table, TASK_TABLE_SHAKESPEARE);
    c = config_from_text("vocab 12\ntable synthetic\n");
    assert_int_equal(c.task.table, TASK_TABLE_SYNTHETIC);
    c = config_from_text("layers 2\n"); /* a hand-written subset keeps the default */
    assert_int_equal(c.task.table, TASK_TABLE_SHAKESPEARE);
    assert_int_equal(c.model.L, 2);
    /* the written configuration names the table, and the identity depends on it */
    TrainConfig a, b;
    train_config_default(&a);
    b = a;
    b.task.table = TASK_TABLE_SYNTHETIC;
    char *text = config_text(&a);
    assert_non_null(strstr(text, "\ntable shakespeare\n"));
    free(text);
    assert_true(ckpt_identity(&a, NULL) != ckpt_identity(&b, NULL));
    /* a checkpoint of bbsim 0.2 (fuzz/corpus/checkpoint: --vocab 8, no table line) */
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz/corpus/checkpoint/weights.bbck", BBSIM_SOURCE_DIR);
    TrainConfig cc;
    Task task;
    Model model;
    long step;
    BbError err = {{0}};
    if (ckpt_read(path, &cc, &task, &model, NULL, &step, &err)) fail_msg("%s", err.msg);
    assert_int_equal(cc.task.table, TASK_TABLE_SYNTHETIC);
    assert_int_equal(task.V, 10);
    model_free(&model);
    task_free(&task);
    /* a whole run directory of then: --config, resume and analyze read it as synthetic */
    char *d = make_tempdir(), *out = NULL, p[1200];
    snprintf(p, sizeof p, "%s/old", d);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/old/ckpt", d);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(path, sizeof path, "%s/fuzz/corpus/config/config.txt", BBSIM_SOURCE_DIR);
    snprintf(p, sizeof p, "%s/old/config.txt", d);
    copy_file(path, p);
    snprintf(path, sizeof path, "%s/fuzz/corpus/checkpoint/weights.bbck", BBSIM_SOURCE_DIR);
    snprintf(p, sizeof p, "%s/old/ckpt/step_000000003.bbck", d);
    copy_file(path, p);
    snprintf(path, sizeof path, "%s/fuzz/corpus/checkpoint/resume.bbck", BBSIM_SOURCE_DIR);
    snprintf(p, sizeof p, "%s/old/ckpt/resume.bbck", d);
    copy_file(path, p);
    /* its metrics.tsv: a resume needs a row for each step up to the checkpoint's (3) */
    snprintf(p, sizeof p, "%s/old/metrics.tsv", d);
    write_text(p, "step\tloss\tbackcopy_loss\tbigram_loss\tgrad_norm\tlr\tms_per_step\teval_loss\t"
                  "eval_backcopy_loss\teval_bigram_loss\n1\t2\t2\t2\t1\t0.001\t1\tNaN\tNaN\tNaN\n"
                  "2\t2\t2\t2\t1\t0.001\t1\tNaN\tNaN\tNaN\n3\t2\t2\t2\t1\t0.001\t1\tNaN\tNaN\tNaN\n");
    assert_int_equal(run_bbsim(&out, "train --config %s/old/config.txt --steps 2 --out %s/again --quiet", d, d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train --resume %s/old --steps 5 --quiet", d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "analyze %s/old --quiet", d), 0);
    free(out);
    const char *dirs[] = {"again", "old"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s/config.txt", d, dirs[i]);
        char *cfg = slurp(p);
        if (!strstr(cfg, "\ntable synthetic\nvocab 8\n")) fail_msg("%s does not say table synthetic, vocab 8", p);
        free(cfg);
    }
    remove_tempdir(d);
}

static void test_config_roundtrip(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 30 --ckpt 10,20,1.5 --eval-every 10 --seed 3 "
                                     "--optim adam --cosine --out %s/a --threads 2", d), 0);
    free(out);
    /* the file first and last, then flags around it: the flags still win */
    assert_int_equal(run_bbsim(&out, "train --config %s/a/config.txt --out %s/b --threads 2 --quiet", d, d), 0);
    free(out);
    char pa[1200], pb[1200];
    snprintf(pa, sizeof pa, "%s/a/ckpt", d);
    DIR *dir = opendir(pa);
    assert_non_null(dir);
    int nckpt = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        snprintf(pa, sizeof pa, "%s/a/ckpt/%s", d, e->d_name);
        snprintf(pb, sizeof pb, "%s/b/ckpt/%s", d, e->d_name);
        assert_true(file_size(pa) > 100);
        assert_int_equal(file_size(pa), file_size(pb));
        char *ca = slurp(pa), *cb = slurp(pb);
        if (memcmp(ca, cb, (size_t)file_size(pa))) fail_msg("%s differs from its --config copy", e->d_name);
        free(ca);
        free(cb);
        nckpt++;
    }
    closedir(dir);
    assert_true(nckpt >= 3);
    snprintf(pa, sizeof pa, "%s/a/config.txt", d);
    snprintf(pb, sizeof pb, "%s/b/config.txt", d);
    char *ta = filtered(pa, "out ", -1), *tb = filtered(pb, "out ", -1);
    assert_string_equal(ta, tb);
    assert_non_null(strstr(ta, "optim adam\n"));
    assert_non_null(strstr(ta, "init-seed 3\n"));
    free(ta);
    free(tb);
    snprintf(pa, sizeof pa, "%s/a/metrics.tsv", d);
    snprintf(pb, sizeof pb, "%s/b/metrics.tsv", d);
    char *header = filtered(pa, NULL, -1);
    int ms_col = 0;
    for (const char *p = header; p < strstr(header, "ms_per_step"); p++) ms_col += *p == '\t';
    free(header);
    ta = filtered(pa, NULL, ms_col);
    tb = filtered(pb, NULL, ms_col);
    assert_string_equal(ta, tb);
    /* evaluation was on: numbers in the eval columns of its steps */
    const char *row10 = strstr(ta, "\n10\t");
    assert_non_null(row10);
    char row[1024];
    snprintf(row, sizeof row, "%.*s", (int)strcspn(row10 + 1, "\n"), row10 + 1);
    assert_null(strstr(row, "NaN"));
    free(ta);
    free(tb);
    /* flags override the file wherever they stand; out, threads, quiet are not taken */
    snprintf(pa, sizeof pa, "%s/a/config.txt", d);
    TrainConfig c = resolved(4, (char *[]){"--lr", "0.01", "--config", pa});
    assert_true(c.optim.lr == 0.01);
    assert_int_equal(c.optim.kind, 2); /* adam, from the file */
    assert_int_equal(c.steps, 30);
    assert_int_equal(c.model.C, 16);
    assert_string_equal(c.out, "run");
    assert_int_equal(c.threads, 0);
    assert_int_equal(c.quiet, 0);
    c = resolved(4, (char *[]){"--config", pa, "--seed", "11"}); /* --seed beats the file's seeds */
    assert_true(c.task.data_seed == 11 && c.model.init_seed == 11);
    /* --config is an experiment flag: not with --resume */
    assert_int_equal(run_bbsim(&out, "train --resume %s/a --config %s", d, pa), 2);
    assert_non_null(strstr(out, "--config cannot be combined with --resume"));
    free(out);
    remove_tempdir(d);
}

/* A malformed config file: FILE:LINE: what, exit 2, nothing trained. */
static void test_config_malformed(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, path[1200];
    snprintf(path, sizeof path, "%s/config.txt", d);
    write_text(path, "# a comment\nlr 0.001\nlayers two\n");
    assert_int_equal(run_bbsim(&out, "train --config %s --out %s/r", path, d), 2);
    if (!strstr(out, "config.txt:3: --layers: 'two' is not an integer")) fail_msg("message: %s", out);
    free(out);
    write_text(path, "lr-rate 0.001\n");
    assert_int_equal(run_bbsim(&out, "train --config %s --out %s/r", path, d), 2);
    if (!strstr(out, "config.txt:1: unknown option 'lr-rate' (did you mean lr?)")) fail_msg("message: %s", out);
    free(out);
    write_text(path, "attn softmx\n");
    assert_int_equal(run_bbsim(&out, "train --config %s --out %s/r", path, d), 2);
    if (!strstr(out, "config.txt:1: --attn: unknown value 'softmx' (did you mean softmax?")) fail_msg("message: %s", out);
    free(out);
    assert_int_equal(run_bbsim(&out, "train --config %s/missing.txt --out %s/r", d, d), 2);
    assert_non_null(strstr(out, "missing.txt: No such file"));
    free(out);
    snprintf(path, sizeof path, "%s/r", d);
    assert_int_equal(file_size(path), -1);
    remove_tempdir(d);
}

/* Unknown commands, flags and values name the closest ones. */
static void test_did_you_mean(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(run_bbsim(&out, "trian"), 2);
    assert_non_null(strstr(out, "unknown command 'trian' (did you mean train?)"));
    free(out);
    assert_int_equal(run_bbsim(&out, "frobnicate"), 2);
    assert_non_null(strstr(out, "unknown command 'frobnicate' (see bbsim --help)"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --lr-rate 0.1"), 2);
    assert_non_null(strstr(out, "unknown flag '--lr-rate' (did you mean --lr?)"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --attn softmx"), 2);
    assert_non_null(strstr(out, "--attn: unknown value 'softmx' (did you mean softmax?"));
    free(out);
    assert_int_equal(run_bbsim(&out, "train --preset tiny"), 2);
    assert_non_null(strstr(out, "choose one of: small, paper"));
    free(out);
    assert_int_equal(run_bbsim(&out, "analyze /nonexistent --ckpts 3"), 2);
    assert_non_null(strstr(out, "(did you mean --ckpt?)"));
    free(out);
    assert_int_equal(run_bbsim(&out, "theory reduce"), 2);
    assert_non_null(strstr(out, "did you mean reduced?"));
    free(out);
}

/* --threads N is accepted by every command bbsim --help lists: "CMD --threads 1 --zz"
 * fails on --zz, so --threads 1 was taken. */
static void test_threads_everywhere(void **state) {
    (void)state;
    char *help = NULL, *out = NULL;
    assert_int_equal(run_bbsim(&help, "--help"), 0);
    const char *p = strstr(help, "commands:\n");
    assert_non_null(p);
    int ncommands = 0;
    for (p = strchr(p, '\n') + 1; *p == ' '; p = strchr(p, '\n') + 1) {
        char name[64];
        assert_int_equal(sscanf(p, " %63s", name), 1);
        int rc = run_bbsim(&out, "%s --threads 1 --zz-not-a-flag", name);
        if (rc != 2 || !strstr(out, "unknown flag '--zz-not-a-flag'"))
            fail_msg("bbsim %s --threads 1: exit %d, %s", name, rc, out);
        free(out);
        ncommands++;
    }
    free(help);
    assert_true(ncommands >= 9);
    assert_int_equal(run_bbsim(&out, "task --threads 1 --table synthetic --vocab 12"), 0);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_legacy_table),
        cmocka_unit_test(test_config_malformed),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_threads_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
