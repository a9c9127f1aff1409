/* Child processes (src/core/process.c): a program run to its end (bbsim bench's fresh
 * `bbsim train`) and a figure drawn by gnuplot into a PDF (bbsim figures). */
#ifndef BBSIM_PROCESS_H
#define BBSIM_PROCESS_H

#include "bbsim/common.h"

/* Start the program path (looked up in PATH when it has no '/') with argv (argv[0] its
 * name as the program sees it) and this process's environment, and wait for it. Returns 0
 * with *status its wait status (waitpid), or the errno of the failure to start it or to
 * wait for it. */
int process_run(const char *path, char *const *argv, int *status);

/* gnuplot -c SCRIPT PDF.tmp ARGS... (args[0..nargs), nargs <= 11; no shell in between),
 * then PDF.tmp renamed to PDF: a failing script leaves no (empty) PDF. BB_EIO with a
 * message when gnuplot cannot start, fails, or the rename fails. */
int plot_render(const char *script, const char *pdf, int nargs, char *const *args, BbError *err);

#endif
