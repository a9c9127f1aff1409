/* Fuzz target: a checkpoint file (ckpt_read, src/train/checkpoint.c), with the optimizer
 * state requested (what --resume reads). Each input is read twice: as it is, and with its
 * last 8 bytes replaced by the FNV-1a checksum of the rest (docs/format.md), so that
 * mutations of the header and sizes get past the checksum to the checks behind it. */
#include <string.h>
#include "fuzz_file.h"
#include "bbsim/checkpoint.h"

static void read_one(const uint8_t *data, size_t size) {
    TrainConfig cfg;
    Task task;
    Model m;
    Optim o;
    long step;
    BbError err;
    if (ckpt_read(fuzz_file(0, data, size), &cfg, &task, &m, &o, &step, &err) == BB_OK) {
        optim_free(&o);
        model_free(&m);
        task_free(&task);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_one(data, size);
    if (size < 8 + 8) return 0;
    uint8_t *fixed = malloc(size);
    memcpy(fixed, data, size);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < size - 8; i++) {
        h ^= fixed[i];
        h *= 0x100000001b3ULL;
    }
    memcpy(fixed + size - 8, &h, sizeof h); /* little-endian, as ckpt_write's fwrite here */
    read_one(fixed, size);
    free(fixed);
    return 0;
}
