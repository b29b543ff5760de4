/* The entry point every fuzz target defines (libFuzzer's), also called by
 * replay.c to run a corpus as an ordinary test. */
#ifndef MR_TESTS_FUZZ_H
#define MR_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
