/* Child processes: process_run (spawn and wait) and plot_render (one gnuplot figure,
 * renamed into place on success); include/bbsim/process.h. */
#include "bbsim/process.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int process_run(const char *path, char *const *argv, int *status) {
    pid_t pid;
    int rc = posix_spawnp(&pid, path, NULL, NULL, argv, environ);
    if (rc) return rc;
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR) return errno;
    return 0;
}

int plot_render(const char *script, const char *pdf, int nargs, char *const *args, BbError *err) {
    char tmp[BB_STRLEN + 80];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", pdf) >= sizeof tmp)
        return bb_fail(err, BB_EINPUT, "path too long: %s", pdf);
    char *argv[16] = {"gnuplot", "-c", (char *)script, tmp};
    BB_CHECK(nargs <= 11);
    for (int i = 0; i < nargs; i++) argv[4 + i] = args[i];
    argv[4 + nargs] = NULL;
    int status, e = process_run(argv[0], argv, &status);
    if (e)
        return bb_fail(err, BB_EIO, "cannot run gnuplot (%s): install it with apt-get install gnuplot-nox",
                       strerror(e));
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code != 0) {
        unlink(tmp);
        return bb_fail(err, BB_EIO, "gnuplot %s failed (exit %d) drawing %s", script, code, pdf);
    }
    if (rename(tmp, pdf) != 0) {
        unlink(tmp);
        return bb_fail(err, BB_EIO, "cannot rename %s: %s", tmp, strerror(errno));
    }
    return BB_OK;
}
