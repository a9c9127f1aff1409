/* How much memory this process may still take: the address-space limit (ulimit -v) less
 * what is mapped, and the cgroup's limit less its use (else MemAvailable), so that a run
 * too large for the machine is refused before it writes anything (docs/method.md#memory). */
#include "bbsim/common.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The first number of a file (0 when absent or "max"). */
static unsigned long long file_number(const char *path) {
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1) v = 0;
        fclose(f);
    }
    return v;
}

/* limit - used of one cgroup's files, or 0 when there is no limit there. */
static unsigned long long cgroup_room(const char *limit_file, const char *usage_file, unsigned long long *limit) {
    *limit = file_number(limit_file);
    if (*limit == 0 || *limit >= (1ULL << 60)) return 0; /* "max", or v1's "no limit" (2^63 - page) */
    const unsigned long long used = file_number(usage_file);
    return used < *limit ? *limit - used : 1;
}

int bb_memory_room(unsigned long long *room, char *what, size_t len) {
    int found = 0;
    *room = 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        /* /proc/self/statm: the mapped size in pages first */
        const unsigned long long mapped = file_number("/proc/self/statm") * (unsigned long long)sysconf(_SC_PAGESIZE);
        const unsigned long long lim = (unsigned long long)rl.rlim_cur;
        *room = mapped < lim ? lim - mapped : 1;
        snprintf(what, len, "left by the address-space limit (ulimit -v %llu KiB)", lim >> 10);
        found = 1;
    }
    unsigned long long limit, r = cgroup_room("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", &limit);
    const char *src = "memory.max";
    if (!r) {
        r = cgroup_room("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
                        &limit);
        src = "memory.limit_in_bytes";
    }
    char buf[128];
    if (r) {
        snprintf(buf, sizeof buf, "left by the cgroup's %s (%llu MiB)", src, limit >> 20);
    } else { /* no cgroup limit: what the kernel says is available */
        FILE *f = fopen("/proc/meminfo", "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &r) == 1) {
                r <<= 10;
                snprintf(buf, sizeof buf, "available (MemAvailable in /proc/meminfo)");
                break;
            }
        if (f) fclose(f);
    }
    if (r && (!found || r < *room)) {
        *room = r;
        snprintf(what, len, "%s", buf);
        found = 1;
    }
    return found;
}
