/* Fuzz target: the TSV reader (tsv_read, src/core/tsv.c: what bbsim claims reads), plus
 * the field accessors on what it returns. */
#include "fuzz_file.h"
#include "bbsim/tsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Tsv t;
    BbError err;
    if (tsv_read(fuzz_file(0, data, size), &t, &err) == BB_OK) {
        double sink = 0;
        for (int r = 0; r < t.nrows; r++)
            for (int c = 0; c < t.ncols; c++) sink += tsv_num(&t, r, c) + (double)tsv_str(&t, r, c)[0];
        tsv_metric(&t, 0, 0, "x", &sink, &err);
        (void)sink;
    }
    tsv_free(&t);
    return 0;
}
