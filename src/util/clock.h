/* Monotonic time in milliseconds, for timeouts and deadlines. */
#ifndef MR_UTIL_CLOCK_H
#define MR_UTIL_CLOCK_H

#include <stdint.h>

int64_t mr_now_ms(void);
/* Wall-clock time (the Unix epoch) in milliseconds, for stored times. */
int64_t mr_now_wall_ms(void);

#endif
