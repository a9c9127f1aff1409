/* bbsim: command-line entry point. Dispatches to the subcommands of cli.h. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include "bbsim/cli.h"
#include "bbsim/common.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} Command;

static const Command commands[] = {
    {"task", cmd_task, "describe the task: vocabulary, triggers, exact Bayes floor, samples"},
    {"train", cmd_train, "train a model; writes a run directory (config, metrics.tsv, checkpoints)"},
    {"bench", cmd_bench, "time training steps; report ms/step, GFLOP/s and the BLAS ceiling"},
    {"analyze", cmd_analyze, "extreme-token metrics, head table, figure data from a run"},
    {"intervene", cmd_intervene, "risks before/after interventions on a trained model"},
    {"theory", cmd_theory, "check the mutual-reinforcement theory (reduced model, toy, simplified model)"},
    {"figures", cmd_figures, "the figures of make repro (attention maps, values, dynamics) for one run"},
    {"sensitivity", cmd_sensitivity, "over-mixing: perturbation spread, Jacobian vs attention path-sum bound"},
    {"collect", cmd_collect, "one tidy table of a sweep: differing config fields and final metrics per run"},
    {"claims", cmd_claims, "decide the claims of the paper's figures from a make repro output directory"},
    {"export", cmd_export, "a trained model as named tensors (safetensors or .npz) for NumPy / PyTorch"},
    {"explore", cmd_explore, "one self-contained HTML page of a run: attention maps over training, dynamics"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
    fprintf(f, "bbsim %s: simulator and theory checker for the Bigram-Backcopy task\n\n", BBSIM_VERSION);
    fprintf(f, "usage: bbsim COMMAND [flags]    (bbsim COMMAND --help lists a command's flags)\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
}

/* OpenMP threads that finish their share of a step sleep at the region's end (passive
 * waiting) instead of spinning: with other processes on the cores, libgomp's default
 * spinning took the core a partner thread needed (two threads at 38-43 ms/step where
 * passive gave 23-32; on a more loaded machine 52-92 against 11-28); on a quiet machine
 * passive costs up to a quarter at the d 128 quick shapes (README.md#speed has the
 * table). libgomp reads OMP_WAIT_POLICY once, when it is loaded, before main: so bbsim
 * sets it and starts itself again, once. A policy the user set is kept. */
static void wait_policy_passive(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0) execv("/proc/self/exe", argv);
    /* no /proc (or exec refused): go on with the default policy */
}

int main(int argc, char **argv) {
    wait_policy_passive(argv);
    bb_set_cmdline(argc, argv);
    bb_install_gsl_handler();
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, reported like any write
     * error (the file named, its .tmp removed), instead of killing the process */
    signal(SIGXFSZ, SIG_IGN);
    bb_threads_apply(0); /* the default of every --threads 0: OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, all cores */
    if (argc < 2) {
        usage(stderr);
        return BB_EXIT_INPUT;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bbsim %s (%s; %s)\n", BBSIM_VERSION, BBSIM_BLAS_NAME, BBSIM_BUILD);
        return 0;
    }
    const char *names[NCOMMANDS];
    for (int i = 0; i < NCOMMANDS; i++) {
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 2, argv + 2);
        names[i] = commands[i].name;
    }
    char near[256];
    BbError err;
    if (bb_suggest(near, sizeof near, argv[1], names, NCOMMANDS, ""))
        bb_fail(&err, BB_EINPUT, "unknown command '%s' (did you mean %s?)", argv[1], near);
    else
        bb_fail(&err, BB_EINPUT, "unknown command '%s' (see bbsim --help)", argv[1]);
    fprintf(stderr, "bbsim: %s\n", err.msg);
    return BB_EXIT_INPUT;
}
