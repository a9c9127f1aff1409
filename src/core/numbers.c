/* Numbers in text files: the shortest decimal that reads back exactly. */
#include "bbsim/common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* The fewest significant digits, 1..max_digits, whose %g text reads back to x (as a
 * double, or as a float when as_float); max_digits always does. Starting at 6 digits
 * loses nothing for a normal number: if fewer digits read back, x is within half an ulp
 * (< 1e-7 relative) of that shorter decimal, so %.6g rounds to it too and drops the
 * zeros, and it keeps whole numbers below 1e6 in plain digits ("20000", not "2e+04").
 * Subnormals have fewer digits of precision, so their search starts at 1 ("5e-324"). */
static int shortest(char *buf, size_t len, double x, int max_digits, int as_float) {
    const int first = fabs(x) < (as_float ? FLT_MIN : DBL_MIN) ? 1 : 6;
    int n = 0;
    for (int digits = first; digits <= max_digits; digits++) {
        n = snprintf(buf, len, "%.*g", digits, x);
        if (digits == max_digits || (as_float ? strtof(buf, NULL) == (float)x : strtod(buf, NULL) == x)) break;
    }
    return n;
}

int bb_format_num(char *buf, size_t len, double x) {
    if (isnan(x)) return snprintf(buf, len, "NaN");
    if (isinf(x)) return snprintf(buf, len, x > 0 ? "Inf" : "-Inf");
    return shortest(buf, len, x, 17, 0); // %.17g always reads back exactly
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
    return shortest(buf, len, x, 9, 1); // %.9g always reads back to the same float
}

void bb_put_float(FILE *f, float x) {
    char buf[40];
    bb_format_float(buf, sizeof buf, x);
    fputs(buf, f);
}
