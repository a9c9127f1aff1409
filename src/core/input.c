/* Input files checked before they are read: a regular file (not a device, FIFO or
 * directory: /dev/zero never ends, a FIFO blocks) no larger than the limit of its kind
 * (docs/method.md#input-files), and text lines without NUL bytes, read by one line reader. */
#include "bbsim/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_kind(mode_t m) {
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO (named pipe)" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int bb_open_input(FILE **out, const char *path, const char *what, long long max_bytes, BbError *err) {
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return bb_fail(err, BB_EINPUT, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return bb_fail(err, BB_EINPUT, "cannot open %s %s: %s", what, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return bb_fail(err, BB_EINPUT, "%s %s is %s, not a regular file", what, path, file_kind(st.st_mode));
    }
    if ((long long)st.st_size > max_bytes) {
        close(fd);
        return bb_fail(err, BB_EINPUT, "%s %s has %lld bytes, more than the %lld MiB limit (docs/method.md#input-files)",
                       what, path, (long long)st.st_size, max_bytes >> 20);
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return bb_fail(err, BB_EINPUT, "cannot open %s %s: %s", what, path, strerror(e));
    }
    *out = f;
    return BB_OK;
}

int bb_check_text_line(const char *line, size_t len, const char *path, int lineno, BbError *err) {
    if (memchr(line, '\0', len)) return bb_fail(err, BB_EINPUT, "%s:%d: NUL byte", path, lineno);
    return BB_OK;
}

int lines_open(LineReader *r, const char *path, const char *what, long long max_bytes, BbError *err) {
    FILE *f;
    int rc = bb_open_input(&f, path, what, max_bytes, err);
    if (rc) return rc;
    lines_of(r, f, path);
    r->own = 1;
    return BB_OK;
}

void lines_of(LineReader *r, FILE *f, const char *where) { *r = (LineReader){.f = f, .where = where}; }

int lines_next(LineReader *r, int *rc, BbError *err) {
    const ssize_t len = getline(&r->line, &r->cap, r->f);
    if (len < 0) return 0;
    r->len = (size_t)len;
    r->lineno++;
    const int bad = bb_check_text_line(r->line, r->len, r->where, r->lineno, err);
    if (bad) *rc = bad;
    return !bad;
}

void lines_close(LineReader *r) {
    free(r->line);
    if (r->own) fclose(r->f);
    *r = (LineReader){0};
}
