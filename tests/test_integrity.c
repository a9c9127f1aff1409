/* Tests that a run can never be silently mixed, misplaced or lost (docs/format.md#run-
 * identity): foreign, renamed and stray checkpoints refused; a damaged latest checkpoint
 * skipped; recorded input tables; the run-directory lock; write errors (ulimit -f). */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bbsim/checkpoint.h"
#include "bbsim/run.h"

#define TINY "--table synthetic --vocab 12 --seq 16 --dim 16 --batch 8 --lr 3e-3 --eval-batch 16 --quiet"

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

/* 0 = equal bytes */
static int cmp_files(const char *a, const char *b) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    return system(cmd);
}

/* A shell command line (bash -c), its output (stdout and stderr) in *out; its exit status. */
static int shell(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int shell(char **out, const char *fmt, ...) {
    char line[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "bash -c '%s' 2>&1", line);
    return run_capture(out, cmd);
}

static void expect(char *out, const char *a, const char *b) {
    if (!strstr(out, a) || (b && !strstr(out, b))) fail_msg("expected '%s' and '%s' in: %s", a, b ? b : "", out);
    free(out);
}

/* Reproducer 1: a checkpoint of another run (--dim, --init-seed, --lr) copied into ckpt/
 * is refused by --resume and analyze, naming it; config.txt stays the run's; a renamed
 * checkpoint and a stray file are refused too; *.tmp (a write under way) is ignored. */
static void test_foreign_renamed_stray(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    char a40[1200], keep[1200], path[1200], conf[1200], conf0[1200];
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 40 --out %s/a", d), 0);
    free(out);
    snprintf(a40, sizeof a40, "%s/a/ckpt/step_000000040.bbck", d);
    snprintf(keep, sizeof keep, "%s/a40.bbck", d);
    snprintf(conf, sizeof conf, "%s/a/config.txt", d);
    snprintf(conf0, sizeof conf0, "%s/config0.txt", d);
    assert_int_equal(shell(NULL, "cp %s %s && cp %s %s", a40, keep, conf, conf0), 0);
    const char *other[] = {"--dim 32", "--init-seed 7", "--lr 1e-2"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run_bbsim(&out, "train " TINY " --steps 40 %s --out %s/b%d", other[i], d, i), 0);
        free(out);
        assert_int_equal(shell(NULL, "cp %s/b%d/ckpt/step_000000040.bbck %s", d, i, a40), 0);
        assert_int_equal(run_bbsim(&out, "train --resume %s/a --steps 60", d), 2);
        expect(out, a40, "checkpoint of another run");
        assert_int_equal(run_bbsim(&out, "analyze %s/a", d), 2);
        expect(out, a40, "checkpoint of another run");
        Run r;
        BbError err;
        snprintf(path, sizeof path, "%s/a", d);
        assert_int_equal(run_load(&r, path, 40, &err), BB_EINPUT);
        assert_non_null(strstr(err.msg, "checkpoint of another run"));
        assert_int_equal(cmp_files(conf, conf0), 0); /* not rewritten */
    }
    assert_int_equal(shell(NULL, "cp %s %s", keep, a40), 0);
    /* renamed: step 20 as step 60 */
    snprintf(path, sizeof path, "%s/a/ckpt/step_000000060.bbck", d);
    assert_int_equal(shell(NULL, "cp %s/a/ckpt/step_000000020.bbck %s", d, path), 0);
    assert_int_equal(run_bbsim(&out, "train --resume %s/a --steps 80", d), 2);
    expect(out, path, "holds step 20");
    assert_int_equal(run_bbsim(&out, "analyze %s/a", d), 2);
    expect(out, path, "holds step 20");
    assert_int_equal(unlink(path), 0);
    /* a stray file */
    snprintf(path, sizeof path, "%s/a/ckpt/notes.txt", d);
    write_text(path, "mine\n");
    assert_int_equal(run_bbsim(&out, "analyze %s/a", d), 2);
    expect(out, path, "not a checkpoint of this run");
    assert_int_equal(run_bbsim(&out, "train --resume %s/a --steps 60", d), 2);
    expect(out, path, "not a checkpoint of this run");
    assert_int_equal(unlink(path), 0);
    /* a write under way */
    snprintf(path, sizeof path, "%s/a/ckpt/step_000000060.bbck.tmp", d);
    write_text(path, "partial");
    assert_int_equal(run_bbsim(&out, "analyze %s/a", d), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train --resume %s/a --steps 60", d), 0);
    free(out);
    remove_tempdir(d);
}

/* A damaged latest checkpoint: --resume says it skips it and continues from the previous
 * one that verifies, with the bytes of the run that never stopped. */
static void test_damaged_latest_falls_back(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    char last[1200], keep[1200];
    assert_int_equal(run_bbsim(&out, "train " TINY " --ckpt-optim all --steps 80 --out %s/o", d), 0);
    free(out);
    snprintf(last, sizeof last, "%s/o/ckpt/step_000000080.bbck", d);
    snprintf(keep, sizeof keep, "%s/keep.bbck", d);
    long size = file_size(last);
    assert_int_equal(shell(NULL, "cp %s %s && printf \"\\x55\" | dd of=%s bs=1 seek=%ld conv=notrunc 2>/dev/null",
                           last, keep, last, size / 2),
                     0);
    assert_int_not_equal(cmp_files(last, keep), 0);
    assert_int_equal(run_bbsim(&out, "train --resume %s/o --steps 80", d), 0);
    expect(out, "skipping", last);
    assert_int_equal(cmp_files(last, keep), 0); /* redone from step 60, bit-exact */
    remove_tempdir(d);
}

/* Reproducer 2: the tables are recorded in DIR/inputs/ with their hashes; analyze works
 * from another directory; editing the original changes nothing; editing the recorded copy
 * is refused. */
static void test_recorded_inputs(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL;
    char corpus[1200], copy[1200];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", d);
    FILE *f = fopen(corpus, "w");
    const char *w[] = {"the", "cat", "sat", "on", "a", "mat", "and", "ran", "far", "away"};
    unsigned x = 1;
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        fprintf(f, "%s ", w[(x >> 16) % 10]);
    }
    fclose(f);
#define CORPUS_RUN "--corpus corpus.txt --seq 16 --dim 16 --batch 8 --quiet"
    assert_int_equal(shell(&out, "cd %s && %s train " CORPUS_RUN " --steps 20 --out c", d, BBSIM_EXE), 0);
    free(out);
    assert_int_equal(shell(&out, "cd %s && %s train " CORPUS_RUN " --steps 40 --out u", d, BBSIM_EXE), 0);
    free(out);
    snprintf(copy, sizeof copy, "%s/c/" RUN_INPUTS_DIR "/corpus.txt", d);
    assert_int_equal(cmp_files(copy, corpus), 0);
    /* from another directory */
    assert_int_equal(shell(&out, "cd / && %s analyze %s/c", BBSIM_EXE, d), 0);
    free(out);
    /* the original edited: the resumed run trains on the recorded copy */
    f = fopen(corpus, "a");
    fputs("zebra yak quokka\n", f);
    fclose(f);
    assert_int_equal(shell(&out, "cd %s && %s train --resume c --steps 40", d, BBSIM_EXE), 0);
    free(out);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/c/ckpt/step_000000040.bbck", d);
    snprintf(b, sizeof b, "%s/u/ckpt/step_000000040.bbck", d);
    assert_int_equal(cmp_files(a, b), 0);
    assert_int_equal(shell(&out, "cd %s && %s analyze c", d, BBSIM_EXE), 0);
    free(out);
    /* --config c/config.txt trains on the recorded copy, not on the edited corpus.txt of the
     * current directory (the relative path the config names), nor fails elsewhere */
    assert_int_equal(shell(&out, "cd %s && %s train --config c/config.txt --steps 40 --out g", d, BBSIM_EXE), 0);
    free(out);
    assert_int_equal(shell(&out, "cd / && %s train --config %s/c/config.txt --steps 40 --out %s/h", BBSIM_EXE, d, d), 0);
    free(out);
    assert_int_equal(shell(&out, "cd %s && cmp -s c/inputs/corpus.txt g/inputs/corpus.txt && "
                                 "cmp -s c/inputs/corpus.txt h/inputs/corpus.txt && "
                                 "diff <(grep -v ^# c/metrics.tsv | cut -f1-6) <(grep -v ^# g/metrics.tsv | cut -f1-6)",
                           d), 0);
    free(out);
    /* config.txt removed: the recorded copies are not bypassed for the edited original */
    assert_int_equal(shell(&out, "cd %s && cp -r c nc && rm nc/config.txt", d), 0);
    free(out);
    assert_int_equal(shell(&out, "cd %s && %s analyze nc", d, BBSIM_EXE), 2);
    expect(out, "nc/config.txt is missing", "recorded its inputs");
    assert_int_equal(shell(&out, "cd %s && %s train --resume nc --steps 60", d, BBSIM_EXE), 2);
    expect(out, "nc/config.txt is missing", "recorded its inputs");
    /* the copy edited: refused */
    f = fopen(copy, "a");
    fputs("zebra\n", f);
    fclose(f);
    assert_int_equal(run_bbsim(&out, "analyze %s/c", d), 2);
    expect(out, copy, "changed since the run started");
    assert_int_equal(run_bbsim(&out, "train --resume %s/c --steps 60", d), 2);
    expect(out, copy, "changed since the run started");
    remove_tempdir(d);
}

/* Reproducer 4: a second trainer on a locked run directory is refused, naming the pid. */
static void test_lock(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, dir[1200], pid[64];
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 20 --out %s/r", d), 0);
    free(out);
    snprintf(dir, sizeof dir, "%s/r", d);
    int fd;
    BbError err;
    assert_int_equal(run_lock(dir, &fd, &err), 0); /* this process plays the first trainer */
    snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 40", dir), 2);
    expect(out, "is in use by another bbsim train", pid);
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 20 --out %s", dir), 2);
    expect(out, "is in use by another bbsim train", pid);
    assert_int_equal(run_bbsim(&out, "analyze %s", dir), 0); /* readers need no lock */
    free(out);
    run_unlock(fd);
    assert_int_equal(run_bbsim(&out, "train --resume %s --steps 40", dir), 0);
    free(out);
    remove_tempdir(d);
}

/* Reproducer 3: a file size limit (SIGXFSZ) stops the run with a message, no *.tmp, and
 * --resume finishes it bit-exact; a run whose first checkpoint could not be written runs
 * again with the same --out. */
static void test_file_size_limit(void **state) {
    (void)state;
    char *d = make_tempdir(), *out = NULL, a[1200], b[1200];
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 700 --out %s/full", d), 0);
    free(out);
    snprintf(a, sizeof a, "%s/full/ckpt/" CKPT_RESUME_FILE, d);
    snprintf(b, sizeof b, "%s/full/metrics.tsv", d);
    long blocks = file_size(a) / 1024 + 1; /* every checkpoint fits, metrics.tsv outgrows it */
    assert_true(file_size(b) > blocks * 1024 + 4096);
    int rc = shell(&out, "ulimit -f %ld; exec %s train " TINY " --steps 700 --out %s/r", blocks, BBSIM_EXE, d);
    assert_int_not_equal(rc, 0);
    snprintf(a, sizeof a, "%s/r/metrics.tsv", d);
    expect(out, a, "continue with: bbsim train --resume");
    assert_int_equal(shell(&out, "find %s -name \"*.tmp\" | wc -l", d), 0);
    assert_int_equal(atoi(out), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train --resume %s/r", d), 0);
    free(out);
    const char *files[] = {"step_000000700.bbck", CKPT_RESUME_FILE};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/r/ckpt/%s", d, files[i]);
        snprintf(b, sizeof b, "%s/full/ckpt/%s", d, files[i]);
        assert_int_equal(cmp_files(a, b), 0);
    }
    /* no room even for the first checkpoint: nothing to resume, the same command runs */
    snprintf(a, sizeof a, "%s/full/config.txt", d);
    snprintf(b, sizeof b, "%s/full/ckpt/step_000000000.bbck", d);
    blocks = file_size(a) / 1024 + 1; /* config.txt fits, the step-0 checkpoint does not */
    assert_true(file_size(b) > blocks * 1024);
    rc = shell(&out, "ulimit -f %ld; exec %s train " TINY " --steps 20 --out %s/z", blocks, BBSIM_EXE, d);
    assert_int_not_equal(rc, 0);
    expect(out, "No checkpoint was saved: run the same command again", NULL);
    assert_int_equal(shell(&out, "find %s -name \"*.tmp\" | wc -l", d), 0);
    assert_int_equal(atoi(out), 0);
    free(out);
    assert_int_equal(run_bbsim(&out, "train --resume %s/z", d), 2);
    expect(out, "never saved a checkpoint", "--out");
    assert_int_equal(run_bbsim(&out, "train " TINY " --steps 20 --out %s/z", d), 0);
    free(out);
    remove_tempdir(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_renamed_stray),
        cmocka_unit_test(test_damaged_latest_falls_back),
        cmocka_unit_test(test_recorded_inputs),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_file_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
