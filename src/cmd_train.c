/* bbsim train: parse the flags, run train_run, report. */
#include <stdio.h>
#include <string.h>
#include "bbsim/cli.h"
#include "bbsim/train.h"

static void usage(FILE *f, const Opt *o, int n) {
    fprintf(f, "usage: bbsim train [flags]\n       bbsim train --resume DIR [--steps N] [--threads N] [--quiet]\n\n"
               "Trains a model on the task and writes the run directory --out: config.txt (every setting),\n"
               "metrics.tsv (one row per step) and ckpt/step_*.bbck (dense early, then geometric).\n"
               "Ctrl-C saves a checkpoint and stops; --resume continues bit-for-bit.\n\nflags:\n");
    opts_help(f, o, n);
}

int cmd_train(int argc, char **argv) {
    TrainConfig cfg;
    train_config_default(&cfg);
    Opt o[TRAIN_NOPTS];
    int n = train_opts(&cfg, o), npos;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, o, n);
            return 0;
        }
    BbError err;
    if (opts_parse(o, n, argc, argv, NULL, 0, &npos, &err)) {
        fprintf(stderr, "bbsim train: %s\n", err.msg);
        return 2;
    }
    if (cfg.resume[0]) {
        static const char *const allowed[] = {"--resume", "--steps", "--threads", "--quiet", "--eval-every"};
        for (int i = 0; i < argc; i++) {
            if (strncmp(argv[i], "--", 2)) continue;
            int ok = 0;
            for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++) {
                size_t len = strlen(allowed[k]);
                if (!strncmp(argv[i], allowed[k], len) && (argv[i][len] == '\0' || argv[i][len] == '=')) ok = 1;
            }
            if (!ok) {
                fprintf(stderr, "bbsim train: %s cannot be combined with --resume (the run's own configuration is used)\n",
                        argv[i]);
                return 2;
            }
        }
    }
    int rc = train_run(&cfg, &err);
    if (rc == BB_EINTR) {
        fprintf(stderr, "bbsim train: %s\n", err.msg);
        return 130;
    }
    if (rc) {
        fprintf(stderr, "bbsim train: %s\n", err.msg);
        return rc == BB_EINPUT ? 2 : 1;
    }
    if (!cfg.quiet) fprintf(stderr, "bbsim train: done, %ld steps; run directory %s\n", cfg.steps, cfg.out);
    return 0;
}
