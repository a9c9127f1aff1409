/* bbsim intervene: placeholder until its issue lands (exits 2 with a message). */
#include <stdio.h>
#include "bbsim/cli.h"

int cmd_intervene(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "bbsim intervene: not implemented yet\n");
    return 2;
}
