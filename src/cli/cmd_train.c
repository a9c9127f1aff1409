/* bbsim train: parse the flags, run train_run, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/cli.h"
#include "bbsim/train.h"

static void usage(FILE *f, const Opt *o, int n) {
    fprintf(f, "usage: bbsim train [flags]\n       bbsim train --resume DIR [--steps N] [--threads N] [--quiet]\n\n"
               "Trains a model on the task and writes the run directory --out: config.txt (every setting),\n"
               "metrics.tsv (one row per step) and ckpt/step_*.bbck (dense early, then geometric).\n"
               "Ctrl-C saves a checkpoint and stops; --resume continues bit-for-bit.\n\nflags:\n");
    opts_help(f, o, n);
    fprintf(f, "  --ckpt EVERY,DENSE,GROWTH  the checkpoint schedule in one flag, e.g. 20,1000,1.05\n"
               "                           (= --ckpt-every 20 --ckpt-dense 1000 --ckpt-growth 1.05)\n");
}

/* Rewrite "--ckpt E,D,G" (or --ckpt=E,D,G) into the three flags it stands for, so their
 * range checks and messages apply. out has room for argc + 4 strings; parts holds the
 * pieces. Returns the new argc, or -1 with a message when the schedule is malformed. */
static int expand_ckpt(int argc, char **argv, char **out, char parts[][3][64], int *nparts) {
    static const char *const names[3] = {"--ckpt-every", "--ckpt-dense", "--ckpt-growth"};
    int m = 0;
    *nparts = 0;
    for (int i = 0; i < argc; i++) {
        const char *spec = NULL;
        if (!strcmp(argv[i], "--ckpt")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bbsim train: --ckpt needs a value EVERY,DENSE,GROWTH (e.g. 20,1000,1.05)\n");
                return -1;
            }
            spec = argv[++i];
        } else if (!strncmp(argv[i], "--ckpt=", 7))
            spec = argv[i] + 7;
        if (!spec) {
            out[m++] = argv[i];
            continue;
        }
        if (*nparts) {
            fprintf(stderr, "bbsim train: --ckpt given twice\n");
            return -1;
        }
        /* exactly three non-empty parts */
        int k = 0, len = 0, ok = 1;
        for (const char *c = spec;; c++) {
            if (*c == ',' || *c == '\0') {
                if (len == 0 || k == 3) ok = 0;
                if (k < 3) parts[0][k][len < 63 ? len : 63] = '\0';
                k++;
                len = 0;
                if (*c == '\0') break;
            } else if (k < 3 && len < 63)
                parts[0][k][len++] = *c;
            else
                len++;
        }
        if (!ok || k != 3) {
            fprintf(stderr, "bbsim train: --ckpt '%s': expected three comma-separated values EVERY,DENSE,GROWTH "
                            "(e.g. 20,1000,1.05)\n", spec);
            return -1;
        }
        for (int j = 0; j < 3; j++) {
            out[m++] = (char *)names[j];
            out[m++] = parts[0][j];
        }
        *nparts = 1;
    }
    return m;
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
    char **args = malloc(sizeof(char *) * (size_t)(argc + 5)), parts[1][3][64];
    int nparts;
    if (!args) {
        fprintf(stderr, "bbsim train: out of memory\n");
        return 1;
    }
    int nargs = expand_ckpt(argc, argv, args, parts, &nparts);
    if (nargs < 0) {
        free(args);
        return 2;
    }
    /* -1 = not given: a resumed run then keeps its own --steps / --eval-every */
    long default_steps = cfg.steps, default_eval = cfg.eval_every;
    cfg.steps = cfg.eval_every = -1;
    BbError err;
    int prc = opts_parse(o, n, nargs, args, NULL, 0, &npos, &err);
    free(args);
    if (prc) {
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
    if (!cfg.resume[0]) {
        if (cfg.steps < 0) cfg.steps = default_steps;
        if (cfg.eval_every < 0) cfg.eval_every = default_eval;
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
