/* The bbsim subcommands: each is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * first argument after the command name; returns the process exit status
 * (0 ok, 2 bad input, other non-zero: failure). */
#ifndef BBSIM_CLI_H
#define BBSIM_CLI_H

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

#endif
