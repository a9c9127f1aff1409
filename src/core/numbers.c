/* Numbers in text files: the shortest decimal that reads back exactly. */
#include "bbsim/common.h"

#include <math.h>
#include <stdlib.h>

int bb_format_num(char *buf, size_t len, double x) {
    if (isnan(x)) return snprintf(buf, len, "NaN");
    if (isinf(x)) return snprintf(buf, len, x > 0 ? "Inf" : "-Inf");
    int n = 0;
    for (int digits = 6; digits <= 17; digits++) { // %.17g always reads back exactly
        n = snprintf(buf, len, "%.*g", digits, x);
        if (digits == 17 || strtod(buf, NULL) == x) break;
    }
    return n;
}

void bb_put_num(FILE *f, double x) {
    char buf[40];
    bb_format_num(buf, sizeof buf, x);
    fputs(buf, f);
}

void bb_put_fields(FILE *f, int n, const double *x) {
    for (int i = 0; i < n; i++) {
        fputc('\t', f);
        bb_put_num(f, x[i]);
    }
}

int bb_format_float(char *buf, size_t len, float x) {
    if (isnan(x) || isinf(x)) return bb_format_num(buf, len, x);
    int n = 0;
    for (int digits = 6; digits <= 9; digits++) { // %.9g always reads back to the same float
        n = snprintf(buf, len, "%.*g", digits, (double)x);
        if (digits == 9 || strtof(buf, NULL) == x) break;
    }
    return n;
}

void bb_put_float(FILE *f, float x) {
    char buf[40];
    bb_format_float(buf, sizeof buf, x);
    fputs(buf, f);
}
