/* Fuzz target: a checkpoint file (ckpt_read, src/train/checkpoint.c), with the optimizer
 * state requested (what --resume reads). */
#include "fuzz_file.h"
#include "bbsim/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
    return 0;
}
