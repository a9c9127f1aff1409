/* Fuzz target: a marginal file (--marginal FILE) beside a fixed valid 4 x 4 table. */
#include <string.h>
#include "fuzz_file.h"
#include "../src/tasks/task_internal.h"

static const char table4[] = "0.1 0.2 0.3 0.4\n0.25 0.25 0.25 0.25\n1 0 0 0\n0 0.5 0 0.5\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    TaskTable tb = {0};
    BbError err;
    const char *table = fuzz_file(1, (const uint8_t *)table4, strlen(table4));
    if (table_transitions(&tb, table, fuzz_file(0, data, size), "", &err) == BB_OK) table_free(&tb);
    return 0;
}
