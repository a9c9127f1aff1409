/* bbsim sensitivity RUN_DIR: over-mixing measurements (claim C17). Not built yet. */
#include <stdio.h>
#include "bbsim/cli.h"

int cmd_sensitivity(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "bbsim sensitivity: not built yet\n");
    return 2;
}
