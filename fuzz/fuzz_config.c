/* Fuzz target: a config.txt ("name value" lines, opts_read through train_config_read). */
#include "fuzz_file.h"
#include "bbsim/train_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    TrainConfig cfg;
    BbError err;
    train_config_default(&cfg);
    FILE *f = fopen(fuzz_file(0, data, size), "r");
    if (!f) abort();
    train_config_read(f, &cfg, "config.txt", &err);
    fclose(f);
    return 0;
}
