/* Common includes for cmocka unit tests, and the case filter every test's
 * main() applies before it runs its group. */
#ifndef VJ_TEST_UNIT_H
#define VJ_TEST_UNIT_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

/* `make unit T=test_x CASE=PATTERN` (tests/README.md) passes PATTERN in
 * VJ_TEST_CASE: cmocka then runs only the cases whose name it matches
 * (`*` and `?` as in a shell), so that one case can be run and debugged
 * alone. Unset or empty: every case. */
static inline void vj_unit_filter(void)
{
	const char *pattern = getenv("VJ_TEST_CASE");

	if (pattern != NULL && pattern[0] != '\0')
		cmocka_set_test_filter(pattern);
}

#endif
