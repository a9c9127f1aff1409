/* Atomic output files (temporary name, fsync, rename), output folders replaced as a
 * whole, the interrupt flag of the commands that write them, and directory creation. */
#define _GNU_SOURCE /* renameat2 (RENAME_EXCHANGE), realpath */
#include "bbsim/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ interrupts */

static volatile sig_atomic_t g_interrupted;
static int g_catch_depth;
static struct sigaction g_old_int, g_old_term;

static void on_interrupt(int sig) {
    (void)sig;
    g_interrupted = 1;
}

void bb_catch_interrupts(void) {
    if (g_catch_depth++) return;
    g_interrupted = 0;
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
}

void bb_release_interrupts(void) {
    if (g_catch_depth <= 0 || --g_catch_depth) return;
    sigaction(SIGINT, &g_old_int, NULL);
    sigaction(SIGTERM, &g_old_term, NULL);
}

int bb_interrupted(void) { return g_interrupted != 0; }

/* ------------------------------------------------------------ files */

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
    if (!bad && g_interrupted) { /* the command stops: nothing half-done is left */
        unlink(af->tmp);
        return bb_fail(err, BB_EINTR, "interrupted: %s was not written", af->path);
    }
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

/* ------------------------------------------------------------ output folders */

/* name is one of the command's files, or the .tmp of one (a write that died) */
static int own_name(const OutFolder *o, const char *name) {
    const size_t n = strlen(name);
    if (o->own(name)) return 1;
    if (n <= 4 || strcmp(name + n - 4, ".tmp") != 0 || n - 4 >= 256) return 0;
    char base[256];
    memcpy(base, name, n - 4);
    base[n - 4] = '\0';
    return o->own(base);
}

/* Every entry of dir must be a regular file of the command's: BB_EINPUT naming the first
 * that is not. */
static int check_only_own(const OutFolder *o, const char *dir, BbError *err) {
    DIR *d = opendir(dir);
    if (!d) return bb_fail(err, BB_EIO, "cannot read folder %s: %s", dir, strerror(errno));
    int rc = BB_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[BB_STRLEN + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (!own_name(o, e->d_name) || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            rc = bb_fail(err, BB_EINPUT,
                         "%s holds %s, which bbsim %s did not write: refusing to replace the folder (it is replaced "
                         "as a whole); move that out, or choose another --out",
                         dir, e->d_name, o->cmd);
    }
    closedir(d);
    return rc;
}

/* Remove the regular files of dir that all(=1) or own_name accepts, then dir itself;
 * 0 when dir is gone. */
static int remove_folder(const OutFolder *o, const char *dir, int all) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[BB_STRLEN + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if ((all || own_name(o, e->d_name)) && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

int outfolder_begin(OutFolder *o, const char *target, BbNameTest own, const char *cmd, BbError *err) {
    memset(o, 0, sizeof *o);
    o->own = own;
    o->cmd = cmd;
    if (strlen(target) >= sizeof o->target) return bb_fail(err, BB_EINPUT, "path too long: %s", target);
    snprintf(o->target, sizeof o->target, "%s", target);
    struct stat st;
    int exists = 0;
    if (lstat(target, &st) == 0) {
        if (S_ISLNK(st.st_mode) && stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
            char real[PATH_MAX]; /* a link to a folder: replace the folder, keep the link */
            if (!realpath(target, real) || strlen(real) >= sizeof o->target)
                return bb_fail(err, BB_EIO, "cannot resolve %s: %s", target, strerror(errno));
            memcpy(o->target, real, strlen(real) + 1); /* fits: checked above */
        } else if (!S_ISDIR(st.st_mode)) {
            return bb_fail(err, BB_EINPUT, "%s exists and is not a folder", target);
        }
        exists = 1;
    } else if (errno != ENOENT) {
        return bb_fail(err, BB_EIO, "cannot use %s: %s", target, strerror(errno));
    }
    size_t n = strlen(o->target);
    while (n > 1 && o->target[n - 1] == '/') o->target[--n] = '\0'; /* "out/" is out */
    int rc;
    if (exists && (rc = check_only_own(o, o->target, err))) return rc;
    char parent[BB_STRLEN];
    snprintf(parent, sizeof parent, "%s", o->target);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if ((rc = bb_mkdirs(parent, err))) return rc;
    }
    mode_t mode;
    if (exists && stat(o->target, &st) == 0) {
        mode = st.st_mode & 07777;
    } else {
        const mode_t mask = umask(0);
        umask(mask);
        mode = 0777 & ~mask;
    }
    snprintf(o->stage, sizeof o->stage, "%s.tmp.XXXXXX", o->target);
    if (!mkdtemp(o->stage)) {
        const int e = errno;
        o->stage[0] = '\0';
        return bb_fail(err, BB_EIO, "cannot create a folder beside %s: %s", o->target, strerror(e));
    }
    if (chmod(o->stage, mode) != 0) { /* mkdtemp makes it 0700 */
    }
    return BB_OK;
}

/* link src to dst, or copy it where the file system has no hard links */
static int link_or_copy(const char *src, const char *dst, BbError *err) {
    if (link(src, dst) == 0) return BB_OK;
    FILE *in = fopen(src, "rb");
    if (!in) return bb_fail(err, BB_EIO, "cannot read %s: %s", src, strerror(errno));
    AtomicFile af;
    int rc = afile_open(&af, dst, err);
    if (!rc) {
        char buf[1 << 16];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, got, af.f);
        if (ferror(in)) {
            afile_abort(&af);
            rc = bb_fail(err, BB_EIO, "cannot read %s", src);
        } else {
            rc = afile_commit(&af, err);
        }
    }
    fclose(in);
    return rc;
}

int outfolder_commit(OutFolder *o, BbNameTest keep, BbError *err) {
    int rc = BB_OK;
    if (g_interrupted) {
        rc = bb_fail(err, BB_EINTR, "interrupted: %s left as it was", o->target);
        outfolder_abort(o);
        return rc;
    }
    struct stat st;
    const int exists = lstat(o->target, &st) == 0;
    if (!exists) { /* nothing to swap with */
        if (rename(o->stage, o->target) != 0) {
            rc = bb_fail(err, BB_EIO, "cannot rename %s to %s: %s", o->stage, o->target, strerror(errno));
            outfolder_abort(o);
            return rc;
        }
        o->stage[0] = '\0';
        return BB_OK;
    }
    /* again: a file may have appeared while the set was computed */
    if ((rc = check_only_own(o, o->target, err))) {
        outfolder_abort(o);
        return rc;
    }
    DIR *d = opendir(o->target);
    struct dirent *e;
    while (!rc && d && (e = readdir(d))) {
        if (!keep || !keep(e->d_name)) continue;
        char src[BB_STRLEN + 300], dst[BB_STRLEN + 348];
        snprintf(src, sizeof src, "%s/%s", o->target, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", o->stage, e->d_name);
        if (access(dst, F_OK) != 0) rc = link_or_copy(src, dst, err);
    }
    if (d) closedir(d);
    if (rc) {
        outfolder_abort(o);
        return rc;
    }
    char old[sizeof o->stage];
    if (renameat2(AT_FDCWD, o->stage, AT_FDCWD, o->target, RENAME_EXCHANGE) == 0) {
        snprintf(old, sizeof old, "%s", o->stage); /* the stage's name now holds the old set */
    } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
        /* no atomic exchange here: move the old set aside (onto an empty folder of its
         * own), the new one in, and back if that fails; TARGET is briefly absent */
        snprintf(old, sizeof old, "%s.old.XXXXXX", o->target);
        const int made = mkdtemp(old) != NULL;
        if (!made || rename(o->target, old) != 0) {
            rc = bb_fail(err, BB_EIO, "cannot move %s aside: %s", o->target, strerror(errno));
            if (made) rmdir(old);
            outfolder_abort(o);
            return rc;
        }
        if (rename(o->stage, o->target) != 0) {
            rc = bb_fail(err, BB_EIO, "cannot rename %s to %s: %s", o->stage, o->target, strerror(errno));
            rename(old, o->target);
            outfolder_abort(o);
            return rc;
        }
    } else {
        rc = bb_fail(err, BB_EIO, "cannot swap %s in for %s: %s", o->stage, o->target, strerror(errno));
        outfolder_abort(o);
        return rc;
    }
    o->stage[0] = '\0';
    if (remove_folder(o, old, 0) != 0) /* only a file that appeared meanwhile keeps it */
        bb_say(stderr, "bbsim %s: the previous contents of %s are left in %s\n", o->cmd, o->target, old);
    return BB_OK;
}

void outfolder_abort(OutFolder *o) {
    if (!o->stage[0]) return;
    remove_folder(o, o->stage, 1); /* it holds only what this process wrote */
    o->stage[0] = '\0';
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
