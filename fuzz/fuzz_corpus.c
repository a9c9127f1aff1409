/* Fuzz target: a text corpus (--corpus FILE, src/tasks/tables.c). */
#include "fuzz_file.h"
#include "../src/tasks/task_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    TaskTable tb = {0};
    BbError err;
    if (table_corpus(&tb, fuzz_file(0, data, size), &err) == BB_OK) table_free(&tb);
    return 0;
}
