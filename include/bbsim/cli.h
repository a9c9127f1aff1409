/* The bbsim subcommands: each is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * first argument after the command name; returns the process exit status
 * (0 ok, 2 bad input, other non-zero: failure). */
#ifndef BBSIM_CLI_H
#define BBSIM_CLI_H

#include "bbsim/train_config.h"

int cmd_task(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_intervene(int argc, char **argv);
int cmd_theory(int argc, char **argv);
int cmd_claims(int argc, char **argv);
int cmd_sensitivity(int argc, char **argv);
int cmd_figures(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_explore(int argc, char **argv);

/* The configuration `bbsim train argv` would run, without running it: train_config_default,
 * then --preset (small unless given), then --config FILE, then the flags wherever they
 * stand, then --seed N for each seed not given itself. With --resume: the flags only,
 * steps / eval_every -1 when not given. BB_EINPUT with a message on bad flags or files. */
int cmd_train_config(int argc, char **argv, TrainConfig *cfg, BbError *err);

#endif
