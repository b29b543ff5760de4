/* cmocka needs these before it, in this order. */
#ifndef MR_TEST_CMOCKA_ALL_H
#define MR_TEST_CMOCKA_ALL_H

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#endif
