/* Input files checked before they are read: a regular file (not a device, FIFO or
 * directory: /dev/zero never ends, a FIFO blocks) no larger than the limit of its kind
 * (docs/method.md#input-files), and text lines without NUL bytes. */
#include "bbsim/common.h"

#include <errno.h>
#include <fcntl.h>
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
