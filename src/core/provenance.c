/* Provenance: the command line and the "# key value" header of every output file. */
#include "bbsim/common.h"

#include <string.h>

static char g_cmdline[4096] = "(library)";

void bb_set_cmdline(int argc, char **argv) {
    g_cmdline[0] = '\0';
    for (int i = 0; i < argc; i++) {
        size_t k = strlen(g_cmdline);
        snprintf(g_cmdline + k, sizeof g_cmdline - k, "%s%s", i ? " " : "", argv[i]);
    }
}

const char *bb_cmdline(void) { return g_cmdline; }

void bb_write_provenance(FILE *f) {
    fprintf(f, "# bbsim %s\n", BBSIM_VERSION);
    fprintf(f, "# command %s\n", g_cmdline);
    fprintf(f, "# threads %d\n", bb_threads());
    fprintf(f, "# built against %s\n", BBSIM_BLAS_NAME);
}
