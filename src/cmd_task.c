/* bbsim task: placeholder until its issue lands (exits 2 with a message). */
#include <stdio.h>
#include "bbsim/cli.h"

int cmd_task(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "bbsim task: not implemented yet\n");
    return 2;
}
