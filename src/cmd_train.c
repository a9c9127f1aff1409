/* bbsim train: placeholder until its issue lands (exits 2 with a message). */
#include <stdio.h>
#include "bbsim/cli.h"

int cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "bbsim train: not implemented yet\n");
    return 2;
}
