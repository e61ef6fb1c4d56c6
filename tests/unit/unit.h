/* Common includes for cmocka unit tests. */
#ifndef VJ_TEST_UNIT_H
#define VJ_TEST_UNIT_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#endif
