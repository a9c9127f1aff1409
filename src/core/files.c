/* Atomic output files (temporary name, fsync, rename) and directory creation. */
#include "bbsim/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The target must be a regular file or absent: a device, FIFO, directory or symbolic link
 * there is refused, not replaced (as root, `--out /dev/full` once turned the device into a
 * file). The temporary file PATH.tmp is created exclusively and never through a link, so
 * a link planted there cannot redirect the write; a regular PATH.tmp is a write that died
 * (ours, by its name) and is replaced. */
int afile_open(AtomicFile *af, const char *path, BbError *err) {
    memset(af, 0, sizeof *af);
    if (strlen(path) + 4 >= sizeof af->path) return bb_fail(err, BB_EINPUT, "path too long: %s", path);
    strcpy(af->path, path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp", path);
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return bb_fail(err, BB_EINPUT, "%s exists and is not a regular file (%s): refusing to replace it", path,
                       S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISDIR(st.st_mode) ? "a directory"
                       : S_ISFIFO(st.st_mode)                     ? "a FIFO"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                    : "not a file");
    int fd = -1;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST || attempt) break;
        if (lstat(af->tmp, &st) != 0 || !S_ISREG(st.st_mode))
            return bb_fail(err, BB_EINPUT, "%s exists and is not a regular file: refusing to write through it", af->tmp);
        unlink(af->tmp); /* a write that died before its rename */
    }
    if (fd < 0) return bb_fail(err, BB_EIO, "cannot create %s: %s", af->tmp, strerror(errno));
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int saved = errno;
        close(fd);
        unlink(af->tmp);
        return bb_fail(err, BB_EIO, "cannot create %s: %s", af->tmp, strerror(saved));
    }
    return BB_OK;
}

int afile_commit(AtomicFile *af, BbError *err) {
    if (!af->f) return bb_fail(err, BB_EIO, "%s: not open", af->path);
    int bad = fflush(af->f) != 0 || ferror(af->f);
    int saved = errno;
    if (!bad && fsync(fileno(af->f)) != 0 && errno != EINVAL && errno != EROFS) {
        bad = 1;
        saved = errno;
    }
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    af->f = NULL;
    if (bad) {
        unlink(af->tmp);
        return bb_fail(err, BB_EIO, "cannot write %s: %s (nothing was replaced)", af->path,
                       strerror(saved ? saved : EIO));
    }
    if (rename(af->tmp, af->path) != 0) {
        saved = errno;
        unlink(af->tmp);
        return bb_fail(err, BB_EIO, "cannot rename %s to %s: %s", af->tmp, af->path, strerror(saved));
    }
    return BB_OK;
}

void afile_abort(AtomicFile *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        unlink(af->tmp);
    }
}

int bb_mkdirs(const char *path, BbError *err) { return bb_mkdirs_made(path, NULL, err); }

void bb_rmdir_made(const char *path, int made) {
    if (made) rmdir(path); /* fails, leaving it, unless it is empty */
}

int bb_mkdirs_made(const char *path, int *made, BbError *err) {
    char buf[BB_STRLEN];
    if (made) *made = 0;
    if (strlen(path) >= sizeof buf) return bb_fail(err, BB_EINPUT, "path too long: %s", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return bb_fail(err, BB_EIO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) == 0) {
        if (made) *made = 1;
    } else if (errno != EEXIST) {
        return bb_fail(err, BB_EIO, "cannot create directory %s: %s", buf, strerror(errno));
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return bb_fail(err, BB_EIO, "%s exists and is not a directory", buf);
    return BB_OK;
}
