/* Tests of the over-mixing analysis (sensitivity.h): placeholder until it is built. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void test_not_built(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(run_bbsim(&out, "sensitivity"), 2);
    assert_non_null(strstr(out, "not built yet"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_not_built)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
