/* Fuzz target: command-line values (opts_parse over the `bbsim train` table); the input
 * is split into argv words at NUL and newline bytes. */
#include <string.h>
#include "fuzz_file.h"
#include "bbsim/train_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    char *argv[256];
    int argc = 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0, start = 0; i <= size && argc < 256; i++) {
        if (i == size || text[i] == '\0' || text[i] == '\n') {
            text[i] = '\0';
            argv[argc++] = text + start;
            start = i + 1;
        }
    }
    TrainConfig cfg;
    Opt opts[TRAIN_NOPTS];
    char *pos[4];
    int npos;
    BbError err;
    train_config_default(&cfg);
    int n = train_opts(&cfg, opts);
    opts_parse(opts, n, argc, argv, pos, 4, &npos, &err);
    free(text);
    return 0;
}
