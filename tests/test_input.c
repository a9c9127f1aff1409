/* Bad input gets a clear error (issue 14, part A), through the bbsim executable: empty and
 * flag-like paths, devices, FIFOs and oversize files, control and NUL bytes in files, the
 * exit statuses of docs/method.md#exit-statuses and checkpoints of a diverged run. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bbsim/checkpoint.h"
#include "bbsim/run.h"

#define TINY "--table synthetic --vocab 12 --seq 16 --dim 16 --batch 8 --eval-batch 16 --quiet"

/* Entries of dir other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* run_bbsim, expecting exit status want and one line "bbsim ...: ...needle..." on stderr;
 * the output has no control byte but its final newline. */
static void expect_fail(int want, const char *needle, const char *fmt, const char *a1, const char *a2) {
    char *out = NULL, args[4096];
    snprintf(args, sizeof args, fmt, a1, a2);
    int rc = run_bbsim(&out, "%s", args);
    if (rc != want || !out || !strstr(out, needle))
        fail_msg("bbsim %s: exit %d (expected %d), output '%s', expected '%s'", args, rc, want, out ? out : "", needle);
    const size_t n = strlen(out);
    assert_true(n > 0 && out[n - 1] == '\n');
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            fail_msg("bbsim %s: raw control byte 0x%02x in '%s'", args, (unsigned char)out[i], out);
    free(out);
}

/* A tiny trained run in d/run (with extra train flags), then the working directory moved
 * into a fresh empty folder `here`, so that a test can check that refused commands wrote
 * nothing there; empty_cwd_leave goes back, empty_cwd_free removes both folders. */
typedef struct {
    char *d, *here, run[1200], cwd[4096];
} EmptyCwd;

static void empty_cwd_enter(EmptyCwd *e, const char *train_flags) {
    char *out = NULL;
    e->d = make_tempdir();
    assert_non_null(getcwd(e->cwd, sizeof e->cwd));
    snprintf(e->run, sizeof e->run, "%s/run", e->d);
    assert_int_equal(run_bbsim(&out, "train " TINY " %s --out %s", train_flags, e->run), 0);
    free(out);
    e->here = make_tempdir();
    assert_int_equal(chdir(e->here), 0);
}

static void empty_cwd_leave(const EmptyCwd *e) { assert_int_equal(chdir(e->cwd), 0); }

static void empty_cwd_free(EmptyCwd *e) {
    remove_tempdir(e->here);
    remove_tempdir(e->d);
}

/* 1. Empty and flag-like paths are refused and nothing is written: each command runs in
 * an empty working directory (--out "" once put a run into /). */
static void test_empty_and_flaglike_paths(void **state) {
    (void)state;
    EmptyCwd e;
    empty_cwd_enter(&e, "--steps 2");
    char *d = e.d, *run = e.run, *here = e.here, *out = NULL;
    expect_fail(2, "bbsim train: --out: empty path", "train " TINY " --steps 2 --out ''%s%s", "", "");
    expect_fail(2, "bbsim train: --out: empty path", "train " TINY " --steps 2 --out=%s%s", "", "");
    expect_fail(2, "bbsim train: --out '--quiet': looks like a flag; write ./--quiet if you mean it",
                "train --steps 2 --out --quiet%s%s", "", "");
    expect_fail(2, "bbsim train: --resume: empty path", "train --resume ''%s%s", "", "");
    expect_fail(2, "bbsim train: --resume '-x': looks like a flag", "train --resume -x%s%s", "", "");
    expect_fail(2, "bbsim train: --config: empty path", "train --config '' --out r%s%s", "", "");
    expect_fail(2, "bbsim train: --corpus: empty path", "train --corpus '' --out r%s%s", "", "");
    expect_fail(2, "bbsim task: --transitions: empty path", "task --transitions ''%s%s", "", "");
    expect_fail(2, "bbsim task: --marginal '-': looks like a flag", "task --marginal -%s%s", "", "");
    expect_fail(2, "bbsim task: --labels: empty path", "task --labels=%s%s", "", "");
    expect_fail(2, "bbsim theory: --out: empty path", "theory mtoy --out ''%s%s", "", "");
    expect_fail(2, "bbsim analyze: --out: empty path", "analyze %s --out ''%s", run, "");
    expect_fail(2, "bbsim analyze: empty argument ''", "analyze ''%s%s", "", "");
    expect_fail(2, "bbsim intervene: --out: empty path", "intervene %s --no-attn 0 --out ''%s", run, "");
    expect_fail(2, "bbsim sensitivity: --out: empty path", "sensitivity %s --out ''%s", run, "");
    expect_fail(2, "bbsim export: --out: empty path", "export %s --out ''%s", run, "");
    expect_fail(2, "bbsim collect: --out: empty path", "collect %s --out ''%s", run, "");
    expect_fail(2, "bbsim figures: --plots: empty path", "figures %s --plots ''%s", run, "");
    expect_fail(2, "bbsim claims: --out: empty path", "claims %s --out ''%s", d, "");
    expect_fail(2, "bbsim bench: --out: empty path", "bench --out ''%s%s", "", "");
    /* nothing in the working directory, nothing new in the run */
    assert_int_equal(count_entries(here), 0);
    struct stat st;
    const char *outputs[] = {"analysis", "intervene", "sensitivity", "export", "figures", "claims.tsv"};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", run, outputs[i]);
        if (stat(p, &st) == 0) fail_msg("%s was written", p);
    }
    /* what the message suggests works */
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 1 --out ./--quiet"), 0);
    free(out);
    assert_int_equal(stat("--quiet/config.txt", &st), 0);
    empty_cwd_leave(&e);
    empty_cwd_free(&e);
}

/* 1b. A newline or other control byte in a path is refused (it was written raw into the
 * '# command' line of every TSV, which then no longer loaded); a number beyond the range of
 * its type is a range error, not LONG_MAX; a FIFO named like a checkpoint or config.txt is
 * refused instead of blocking the reader. */
static void test_control_paths_ranges_fifos(void **state) {
    (void)state;
    EmptyCwd e;
    empty_cwd_enter(&e, "--steps 2 --ckpt 1,10,1");
    char *d = e.d, *run = e.run, *here = e.here, *out = NULL;
    expect_fail(2, "bbsim train: --out 'a\\x0ab': holds a control character", "train " TINY " --out \"$(printf 'a\\nb')\"%s%s", "", "");
    expect_fail(2, "bbsim train: --corpus 'c\\x09x': holds a control character", "train " TINY " --corpus \"$(printf 'c\\tx')\" --out r%s%s", "", "");
    expect_fail(2, "holds a control character", "analyze \"$(printf '%%s\\nx' %s)\"%s", run, "");
    expect_fail(2, "bbsim export: --out 'e\\x0ax.npz': holds a control character", "export %s --out \"$(printf 'e\\nx.npz')\"%s", run, "");
    assert_int_equal(count_entries(here), 0);
    expect_fail(2, "bbsim analyze: --ckpt 9999999999999999999999: out of range", "analyze %s --ckpt 9999999999999999999999%s", run, "");
    expect_fail(2, "bbsim train: --steps: 99999999999999999999 is out of range", "train " TINY " --steps 99999999999999999999 --out r%s%s", "", "");
    expect_fail(2, "bbsim train: --ckpt-every: 9999999999999999999999 is out of range", "train " TINY " --ckpt 9999999999999999999999,50,1 --out r%s%s", "", "");
    expect_fail(2, "bbsim train: --seed: 99999999999999999999999 is out of range", "train " TINY " --seed 99999999999999999999999 --out r%s%s", "", "");
    assert_int_equal(count_entries(here), 0);
    empty_cwd_leave(&e);
    /* FIFOs where a checkpoint and config.txt belong: refused within the timeout, not hung */
    char fifo[1300], cmd[4096];
    snprintf(fifo, sizeof fifo, "%s/ckpt/step_000000005.bbck", run);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "timeout 20 %s analyze %s --ckpt all --out %s/an --quiet 2>&1", BBSIM_EXE, run, d);
    assert_int_equal(run_capture(&out, cmd), 2);
    assert_non_null(strstr(out, "step_000000005.bbck is a FIFO (named pipe), not a regular file"));
    free(out);
    unlink(fifo);
    snprintf(fifo, sizeof fifo, "%s/config.txt", run);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "timeout 20 %s analyze %s --out %s/an --quiet 2>&1", BBSIM_EXE, run, d);
    assert_int_equal(run_capture(&out, cmd), 2);
    assert_non_null(strstr(out, "config.txt is a FIFO (named pipe), not a regular file"));
    free(out);
    empty_cwd_free(&e);
}

/* 2. Devices, FIFOs and directories are refused before a byte is read; so are files over
 * the limits (sparse files made with ftruncate). */
static void test_nonregular_and_oversize(void **state) {
    (void)state;
    char *d = make_tempdir(), fifo[1200], big[1200];
    snprintf(fifo, sizeof fifo, "%s/fifo", d);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_fail(2, "bbsim task: transitions file /dev/zero is a character device, not a regular file",
                "task --transitions /dev/zero%s%s", "", "");
    expect_fail(2, "bbsim task: corpus /dev/zero is a character device, not a regular file",
                "task --corpus /dev/zero%s%s", "", "");
    expect_fail(2, "is a FIFO (named pipe), not a regular file", "task --corpus %s%s", fifo, "");
    expect_fail(2, "is a FIFO (named pipe), not a regular file", "task --transitions %s%s", fifo, "");
    expect_fail(2, "bbsim train: --config file", "train --config %s --out %s/r", fifo, d);
    expect_fail(2, "is a directory, not a regular file", "train --config %s --out %s/r", d, d);
    expect_fail(2, "is a directory, not a regular file", "task --corpus %s%s", d, "");
    snprintf(big, sizeof big, "%s/big.txt", d);
    int fd = open(big, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)BB_MAX_CORPUS_BYTES + 1), 0);
    close(fd);
    expect_fail(2, "corpus", "task --corpus %s%s", big, "");
    expect_fail(2, "has 268435457 bytes, more than the 256 MiB limit", "task --corpus %s%s", big, "");
    expect_fail(2, "more than the 64 MiB limit", "task --transitions %s%s", big, "");
    expect_fail(2, "more than the 1 MiB limit", "train --config %s --out %s/r", big, d);
    unlink(big);
    unlink(fifo);
    struct stat st;
    char r[1200];
    snprintf(r, sizeof r, "%s/r", d);
    assert_int_not_equal(stat(r, &st), 0);
    remove_tempdir(d);
}

/* 3. ESC and BEL of a file come out escaped; a NUL byte is an error at its line. */
static void test_control_and_nul_bytes(void **state) {
    (void)state;
    char *d = make_tempdir(), path[1200];
    snprintf(path, sizeof path, "%s/esc.txt", d);
    write_text(path, "1 2\n\x1b]0;pwned\x07 4\n");
    expect_fail(2, "esc.txt:2: column 1: '\\x1b]0;pwned\\x07' is not a number", "task --transitions %s%s", path, "");
    snprintf(path, sizeof path, "%s/nul.txt", d);
    FILE *f = fopen(path, "wb");
    fwrite("1 2\n\0 9 9\n3 4\n", 1, 14, f);
    fclose(f);
    expect_fail(2, "nul.txt:2: NUL byte", "task --transitions %s%s", path, "");
    snprintf(path, sizeof path, "%s/config.txt", d);
    f = fopen(path, "wb");
    fwrite("lr 0.01\n\0steps 5\n", 1, 17, f);
    fclose(f);
    expect_fail(2, "config.txt:2: NUL byte", "train --config %s --out %s/r", path, d);
    /* flag values and unknown commands are escaped too */
    expect_fail(2, "unknown command 'x\\x1b[31m'", "\"$(printf 'x\\033[31m')\"%s%s", "", "");
    expect_fail(2, "--out '-\\x07': looks like a flag", "train --out \"$(printf -- '-\\007')\"%s%s", "", "");
    remove_tempdir(d);
}

/* 4. One exit status per kind of failure, in every command: an output that cannot be
 * written is 1 (it was 1 in train, 3 in analyze, intervene and theory). */
static void test_exit_statuses(void **state) {
    (void)state;
    char *d = make_tempdir(), run[1200], bad[1300], *out = NULL;
    snprintf(run, sizeof run, "%s/run", d);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 2 --out %s", run), 0);
    free(out);
    /* a directory under a regular file cannot be created */
    snprintf(bad, sizeof bad, "%s/config.txt/sub", run);
    expect_fail(1, "bbsim train: ", "train " TINY " --steps 1 --out %s%s", bad, "");
    expect_fail(1, "bbsim analyze: ", "analyze %s --out %s", run, bad);
    expect_fail(1, "bbsim analyze: ", "analyze %s --ckpt all --out %s", run, bad);
    expect_fail(1, "bbsim intervene: ", "intervene %s --no-attn 0 --out %s", run, bad);
    expect_fail(1, "bbsim sensitivity: ", "sensitivity %s --out %s", run, bad);
    expect_fail(1, "bbsim theory: ", "theory mtoy --out %s%s", bad, "");
    expect_fail(1, "bbsim collect: ", "collect %s --out %s/x.tsv", run, bad);
    /* bad input is 2 everywhere */
    expect_fail(2, "bbsim analyze: ", "analyze %s/missing%s", d, "");
    expect_fail(2, "bbsim intervene: ", "intervene %s/missing --no-attn 0%s", d, "");
    expect_fail(2, "bbsim export: ", "export %s/missing%s", d, "");
    expect_fail(2, "bbsim theory: ", "theory nope%s%s", "", "");
    expect_fail(2, "bbsim: unknown command", "trian%s%s", "", "");
    remove_tempdir(d);
}

/* 5. A diverged run: every command that reads a checkpoint refuses one with non-finite
 * weights, or whose finite weights overflow the forward pass, with exit status 1. */
static void test_diverged_checkpoints(void **state) {
    (void)state;
    char *d = make_tempdir(), run[1200], *out = NULL;
    /* SGD at lr 100: the weights are 1e28 at step 11, the loss NaN at step 12 */
    snprintf(run, sizeof run, "%s/over", d);
    assert_int_equal(run_bbsim(&out, "train " TINY " --optim sgd --lr 100 --wd 0 --steps 11 --out %s", run), 0);
    free(out);
    const char *risk = "checkpoint step 11 gives a non-finite risk (NaN) on the evaluation batch";
    expect_fail(1, risk, "analyze %s%s", run, "");
    expect_fail(1, risk, "analyze %s --ckpt all%s", run, "");
    expect_fail(1, risk, "intervene %s --no-attn 0%s", run, "");
    expect_fail(1, risk, "collect %s%s", run, "");
    expect_fail(1, risk, "sensitivity %s%s", run, "");
    expect_fail(1, risk, "export %s --out %s/m.safetensors", run, d);
    struct stat st;
    char path[1400];
    /* no table, and no output folder (made early, to fail early, then removed) */
    const char *tables[] = {"analysis", "intervene", "sensitivity", "export"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run, tables[i]);
        if (stat(path, &st) == 0) fail_msg("%s was left", path);
    }
    /* non-finite weights: a checkpoint rewritten with one weight Inf */
    snprintf(run, sizeof run, "%s/inf", d);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 2 --out %s", run), 0);
    free(out);
    TrainConfig cfg;
    Task task;
    Model m;
    Optim opt;
    long step;
    BbError err;
    snprintf(path, sizeof path, "%s/ckpt/step_000000002.bbck", run);
    assert_int_equal(ckpt_read(path, &cfg, &task, &m, NULL, &step, &err), 0);
    optim_alloc(&opt, &cfg.optim, m.nparams);
    m.params[m.tensors[0].offset + 5] = INFINITY;
    assert_int_equal(ckpt_write(path, &cfg, &m, &opt, step, CKPT_WEIGHTS, &err), 0);
    char want[256];
    snprintf(want, sizeof want, "checkpoint step 2 has non-finite weights (%s[5] = Inf; the run diverged)",
             m.tensors[0].name);
    optim_free(&opt);
    model_free(&m);
    task_free(&task);
    Run r;
    assert_int_equal(run_load(&r, run, 2, &err), BB_ENUM);
    assert_non_null(strstr(err.msg, want));
    expect_fail(1, want, "analyze %s%s", run, "");
    expect_fail(1, want, "intervene %s --no-attn 0%s", run, "");
    expect_fail(1, want, "sensitivity %s%s", run, "");
    expect_fail(1, want, "export %s --out %s/m.npz", run, d);
    expect_fail(1, want, "collect %s%s", run, "");
    /* the other checkpoints still load */
    assert_int_equal(run_load(&r, run, 0, &err), 0);
    run_free(&r);
    remove_tempdir(d);
}

/* 6. A run that stopped after its first checkpoint (diverged at step 12, before step 20):
 * `figures` draws the figures of that checkpoint and says why there are no dynamics,
 * instead of failing inside gnuplot on a one-point axis. */
static void test_figures_one_checkpoint(void **state) {
    (void)state;
    char *d = make_tempdir(), run[1200], pdf[1400], *out = NULL;
    snprintf(run, sizeof run, "%s/one", d);
    assert_int_not_equal(run_bbsim(&out, "train " TINY " --optim sgd --lr 100 --wd 0 --steps 2000 --out %s", run), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "figures %s", run), 0);
    assert_non_null(strstr(out, "has one checkpoint (step 0): no dynamics figures"));
    free(out);
    struct stat st;
    snprintf(pdf, sizeof pdf, "%s/figures/attention.pdf", run);
    assert_int_equal(stat(pdf, &st), 0);
    snprintf(pdf, sizeof pdf, "%s/figures/dynamics_l0h0.pdf", run);
    assert_int_not_equal(stat(pdf, &st), 0);
    remove_tempdir(d);
}

/* Runs without a backcopy position (--task markov, --k 0, --seq 2): the dynamics figure
 * (its first curve is the backcopy risk, NaN throughout) is skipped with a message naming
 * the reason, instead of a gnuplot error; every other figure is drawn. */
static void test_figures_without_triggers(void **state) {
    (void)state;
    char *d = make_tempdir(), run[1200], pdf[1400], *out = NULL;
    const char *flags[] = {"--task markov", "--k 0", "--seq 2"};
    for (int k = 0; k < 3; k++) {
        snprintf(run, sizeof run, "%s/r%d", d, k);
        assert_int_equal(run_bbsim(&out, "train " TINY " %s --steps 4 --ckpt 2,10,1 --out %s", flags[k], run), 0);
        free(out);
        const int rc = run_bbsim(&out, "figures %s --quiet", run);
        if (rc != 0 || !strstr(out, "no backcopy (trigger) positions") || !strstr(out, "no dynamics figures"))
            fail_msg("figures of a run with %s: exit %d, output '%s'", flags[k], rc, out);
        free(out);
        struct stat st;
        const char *drawn[] = {"attention", "values", "layers", "resid"};
        for (int i = 0; i < 4; i++) {
            snprintf(pdf, sizeof pdf, "%s/figures/%s.pdf", run, drawn[i]);
            if (stat(pdf, &st) != 0) fail_msg("%s: no %s.pdf", flags[k], drawn[i]);
        }
        snprintf(pdf, sizeof pdf, "%s/figures/dynamics_l0h0.pdf", run);
        assert_int_not_equal(stat(pdf, &st), 0);
    }
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_flaglike_paths), cmocka_unit_test(test_nonregular_and_oversize),
        cmocka_unit_test(test_control_and_nul_bytes),    cmocka_unit_test(test_exit_statuses),
        cmocka_unit_test(test_control_paths_ranges_fifos),
        cmocka_unit_test(test_diverged_checkpoints),     cmocka_unit_test(test_figures_one_checkpoint),
        cmocka_unit_test(test_figures_without_triggers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
