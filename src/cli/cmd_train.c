/* bbsim train: resolve the configuration (library defaults -> --preset -> --config FILE
 * -> the flags -> --seed for the seeds not given), run train_run, report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bbsim/checkpoint.h"
#include "bbsim/cli.h"
#include "bbsim/run.h"
#include "bbsim/train.h"

/* The flags that say where the configuration starts from, and --seed; they are not part
 * of the configuration itself (config.txt records what they resolved to). */
typedef struct {
    int preset;
    char config[BB_STRLEN];
    uint64_t seed;
    OptEach seed_each;
    int plan;
} TrainStart;

enum { NSTART = 4 };

/* --seed N (an OPT_EACH, so --help shows no default of its own): checked as a seed. */
static int take_seed(void *ctx, const Opt *o, const char *value, BbError *err) {
    (void)o;
    const Opt seed = {"seed", OPT_U64, ctx, 0, 0, NULL, ""};
    return opts_set(&seed, 1, "seed", value, err);
}

/* train_opts(c) followed by the NSTART flags of s: one table, so an unknown flag is
 * compared with all of them. */
static int train_cli_opts(TrainConfig *c, TrainStart *s, Opt *o) {
    int k = train_opts(c, o);
    o[k++] = (Opt){"preset", OPT_CHOICE, &s->preset, 0, 0, train_preset_names,
                   "the defaults to start from (see presets above)"};
    o[k++] = (Opt){"config", OPT_PATH, s->config, 0, 0, NULL,
                   "read the settings of a config.txt (a run's, or 'name value' lines); the flags win over it; "
                   "its out, resume, threads and quiet are not taken"};
    s->seed_each = (OptEach){take_seed, &s->seed, "N"};
    o[k++] = (Opt){"seed", OPT_EACH, &s->seed_each, 0, 0, NULL,
                   "sets --data-seed, --init-seed, --table-seed and --eval-seed to N; each of them given "
                   "itself wins, wherever it stands (without --seed: 42, 42, 1, 4242)"};
    o[k++] = (Opt){"plan", OPT_FLAG, &s->plan, 0, 1, NULL,
                   "print what the run would cost (steps, checkpoints, GFLOP per step, TFLOP, memory; a TSV "
                   "row) and exit: nothing is written"};
    return k;
}

static void usage(FILE *f, const Opt *o, int n) {
    fprintf(f, "usage: bbsim train [flags]\n       bbsim train --resume DIR [--steps N] [--threads N] [--quiet]\n\n"
               "Trains a model on the task and writes the run directory --out: config.txt (every setting),\n"
               "metrics.tsv (one row per step), ckpt/step_*.bbck (the weights, dense early, then geometric) and\n"
               "ckpt/resume.bbck (the latest step's full state with the optimizer; docs/format.md).\n"
               "Ctrl-C saves a checkpoint and stops; --resume continues bit-for-bit.\n\n"
               "presets (--preset NAME; the defaults shown below are the chosen preset's):\n"
               "  small  the default: 1 layer, d 64, N 64, batch 32, AdamW lr 3e-3, 2000 steps, evaluation\n"
               "         every 100 steps, checkpoints every 20 steps to 200, then x1.1 (31 in all); about\n"
               "         15 s on 2 cores, up to 85 s when other jobs share them. bbsim analyze RUN then shows\n"
               "         the attention sink: head l0h0 dormant on non-trigger positions, Attn<s> 0.999\n"
               "  paper  the paper's size (= the library defaults): d 256, N 256, batch 512, lr 3e-4,\n"
               "         10000 steps, no evaluation; about 4 s per step on 2 cores (README.md#speed): 11 hours\n"
               "Settings apply in this order: the preset, then --config FILE, then every other flag,\n"
               "wherever it stands on the command line.\n\n");
    fprintf(f, "where to start from:\n");
    opts_help(f, o + n - NSTART, NSTART);
    fprintf(f, "\nflags:\n");
    opts_help(f, o, n - NSTART);
    fprintf(f, "  --ckpt EVERY,DENSE,GROWTH  the checkpoint schedule in one flag, e.g. 20,1000,1.05\n"
               "                           (= --ckpt-every 20 --ckpt-dense 1000 --ckpt-growth 1.05)\n");
}

/* Rewrite "--ckpt E,D,G" (or --ckpt=E,D,G) into the three flags it stands for, so their
 * range checks and messages apply. out has room for argc + 4 strings; parts holds the
 * pieces. Returns the new argc, or -1 with a message when the schedule is malformed. */
static int expand_ckpt(int argc, char **argv, char **out, char parts[][3][64], int *nparts, BbError *err) {
    static const char *const names[3] = {"--ckpt-every", "--ckpt-dense", "--ckpt-growth"};
    int m = 0;
    *nparts = 0;
    for (int i = 0; i < argc; i++) {
        const char *spec = NULL;
        if (!strcmp(argv[i], "--ckpt")) {
            if (i + 1 >= argc) {
                bb_fail(err, BB_EINPUT, "--ckpt needs a value EVERY,DENSE,GROWTH (e.g. 20,1000,1.05)");
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
            bb_fail(err, BB_EINPUT, "--ckpt given twice");
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
            bb_fail(err, BB_EINPUT,
                    "--ckpt '%s': expected three comma-separated values EVERY,DENSE,GROWTH (e.g. 20,1000,1.05)", spec);
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

/* --config FILE onto c. Where and how that run ran (out, resume, threads, quiet) is not
 * part of the experiment and is not taken. A run's config.txt names the tables it recorded
 * ("# input NAME HASH inputs/NAME.txt"): those copies, next to FILE and checked against
 * their hashes, are what the new run reads, not the original paths (which may be relative
 * to another directory, or edited since). A flag such as --corpus still wins. */
static int read_config_file(const char *path, TrainConfig *c, BbError *err) {
    FILE *f;
    int rc = bb_open_input(&f, path, "--config file", BB_MAX_CONFIG_BYTES, err);
    if (rc) return rc;
    const TrainConfig before = *c;
    rc = train_config_read(f, c, path, err);
    fclose(f);
    char dir[BB_STRLEN], copies[CKPT_NINPUTS][BB_STRLEN];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
    RunMeta meta;
    const char *inputs[CKPT_NINPUTS];
    if (!rc && !(rc = run_meta_read_file(path, dir, &meta, err)) && !(rc = run_inputs_paths(dir, &meta, copies, inputs, err)))
        for (int i = 0; i < CKPT_NINPUTS; i++)
            if (inputs[i]) snprintf(ckpt_input_path(&c->task, i), BB_STRLEN, "%s", inputs[i]);
    memcpy(c->out, before.out, sizeof c->out);
    memcpy(c->resume, before.resume, sizeof c->resume);
    c->threads = before.threads;
    c->quiet = before.quiet;
    return rc;
}

/* With --resume only these flags may be given (the run's own configuration is used). */
static int check_resume_flags(int argc, char **argv, BbError *err) {
    static const char *const allowed[] = {"--resume", "--steps", "--threads", "--quiet", "--eval-every"};
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2)) continue;
        int ok = 0;
        for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++) {
            size_t len = strlen(allowed[k]);
            if (!strncmp(argv[i], allowed[k], len) && (argv[i][len] == '\0' || argv[i][len] == '=')) ok = 1;
        }
        if (!ok)
            return bb_fail(err, BB_EINPUT, "%s cannot be combined with --resume (the run's own configuration is used)",
                           argv[i]);
    }
    return BB_OK;
}

/* The resolution itself, on the --ckpt-expanded arguments. */
static int resolve(int argc, char **argv, char **args, int nargs, TrainConfig *cfg, int *plan, BbError *err) {
    TrainStart start = {.preset = TRAIN_PRESET_SMALL};
    Opt o[TRAIN_NOPTS + NSTART];
    int npos, rc;
    /* first pass: every flag checked, and where to start from learned */
    train_config_default(cfg);
    int n = train_cli_opts(cfg, &start, o);
    if ((rc = opts_parse(o, n, nargs, args, NULL, 0, &npos, err))) return rc;
    if (plan) *plan = start.plan;
    if (cfg->resume[0]) {
        if (start.plan) return bb_fail(err, BB_EINPUT, "--plan cannot be combined with --resume");
        if ((rc = check_resume_flags(argc, argv, err))) return rc;
        /* -1 = not given: the resumed run keeps its own --steps / --eval-every */
        if (!opts_given(o, n, nargs, args, "steps")) cfg->steps = -1;
        if (!opts_given(o, n, nargs, args, "eval-every")) cfg->eval_every = -1;
        return BB_OK;
    }
    /* second pass: defaults -> preset -> config file -> the flags */
    train_config_default(cfg);
    BB_CHECK(train_config_preset(cfg, start.preset) == BB_OK);
    if (start.config[0] && (rc = read_config_file(start.config, cfg, err))) return rc;
    n = train_cli_opts(cfg, &start, o);
    if ((rc = opts_parse(o, n, nargs, args, NULL, 0, &npos, err))) return rc;
    if (opts_given(o, n, nargs, args, "seed")) {
        static const char *const seeds[] = {"data-seed", "init-seed", "table-seed", "eval-seed"};
        char value[32];
        snprintf(value, sizeof value, "%llu", (unsigned long long)start.seed);
        for (int k = 0; k < 4; k++)
            if (!opts_given(o, n, nargs, args, seeds[k])) BB_CHECK(opts_set(o, n, seeds[k], value, err) == BB_OK);
    }
    return task_check_flags(&cfg->task, o, n, nargs, args, err);
}

static int train_config_plan(int argc, char **argv, TrainConfig *cfg, int *plan, BbError *err) {
    char **args = bb_malloc(sizeof(char *) * (size_t)(argc + 5)), parts[1][3][64];
    int nparts, nargs = expand_ckpt(argc, argv, args, parts, &nparts, err);
    int rc = nargs < 0 ? BB_EINPUT : resolve(argc, argv, args, nargs, cfg, plan, err);
    free(args);
    return rc;
}

int cmd_train_config(int argc, char **argv, TrainConfig *cfg, BbError *err) {
    return train_config_plan(argc, argv, cfg, NULL, err);
}

/* --plan: the run's cost as one TSV row (make repro's plan reads it). */
static int print_plan(const TrainConfig *cfg, BbError *err) {
    TrainPlan p;
    int rc = train_plan(cfg, &p, err);
    if (rc) return rc;
    printf("# bbsim train --plan: the run's cost from its configuration; nothing was written. FLOPs: a\n"
           "# forward as model_forward_flops counts it, a backward as two (README.md#speed)\n");
    printf("steps\tcheckpoints\tgflop_per_step\ttrain_tflop\teval_tflop\tparams\tmem_mb\n");
    printf("%ld\t%ld\t%.6g\t%.6g\t%.6g\t%zu\t%.1f\n", p.steps, p.ckpts, p.step_flop / 1e9, p.train_flop / 1e12,
           p.eval_flop / 1e12, p.nparams, p.bytes / 1048576.0);
    return BB_OK;
}

int cmd_train(int argc, char **argv) {
    TrainConfig cfg;
    BbError err;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            /* the defaults shown are those of the preset given (if it parses) */
            TrainStart start = {.preset = TRAIN_PRESET_SMALL};
            Opt o[TRAIN_NOPTS + NSTART];
            int npos;
            train_config_default(&cfg);
            int n = train_cli_opts(&cfg, &start, o);
            opts_parse(o, n, argc, argv, NULL, 0, &npos, &err);
            train_config_default(&cfg);
            train_config_preset(&cfg, start.preset);
            start.config[0] = '\0';
            n = train_cli_opts(&cfg, &start, o);
            usage(stdout, o, n);
            return 0;
        }
    int plan = 0, rc = train_config_plan(argc, argv, &cfg, &plan, &err);
    if (!rc && plan) {
        rc = print_plan(&cfg, &err);
        return rc ? bb_report("train", rc, &err) : 0;
    }
    if (!rc) rc = train_run(&cfg, &err); /* BB_EINTR: Ctrl-C or SIGTERM, checkpoint saved (exit 130) */
    if (rc) return bb_report("train", rc, &err);
    if (!cfg.quiet) bb_say(stderr, "bbsim train: done, %ld steps; run directory %s\n", cfg.steps, cfg.out);
    return 0;
}
