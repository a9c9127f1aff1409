/* Helpers shared by the cmocka unit tests: allclose with the worst index reported,
 * running the bbsim CLI, temporary directories. */
#ifndef BBSIM_TESTUTIL_H
#define BBSIM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "bbsim/train.h"

/* Fails the test (naming the worst index) unless |a-e| <= atol + rtol*|e| everywhere. */
#define assert_allclose(actual, expected, n, atol, rtol) \
    allclose_impl((actual), (expected), (n), (atol), (rtol), #actual, __FILE__, __LINE__)
void allclose_impl(const double *actual, const double *expected, size_t n, double atol, double rtol,
                   const char *what, const char *file, int line);
/* Same for one pair of scalars. */
#define assert_close(actual, expected, atol, rtol)                                            \
    do {                                                                                      \
        double a_ = (actual), e_ = (expected);                                                \
        allclose_impl(&a_, &e_, 1, (atol), (rtol), #actual, __FILE__, __LINE__);              \
    } while (0)

/* Run "BBSIM_EXE args" through the shell; stdout+stderr into *out (malloc'd, may be NULL).
 * Returns the exit status. */
int run_bbsim(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* popen(cmd), its whole output in *out (malloc'd; NULL out: discarded); its exit status. */
int run_capture(char **out, const char *cmd);
/* A fresh temporary directory (static buffer per call site is fine: returns malloc'd). */
char *make_tempdir(void);
/* rm -rf dir and free the string. */
void remove_tempdir(char *dir);
/* Write text to path (for malformed-file tests). */
void write_text(const char *path, const char *text);

/* The tiny run the tests train in-process: 1 layer x 1 head, d 16, N 16, batch 8, 30
 * steps, checkpoints at 0, 10, 20, 30, one thread, quiet, into dir. Change fields, then
 * train_tiny (fails the test on an error). */
TrainConfig tiny_run_config(const char *dir);
void train_tiny(const TrainConfig *c);

#endif
