/*
 * wallclock.h — the daemons' wall clock (Unix seconds for data: message
 * times, quota months, receipt times), with a TEST-ONLY shift.
 *
 * LIFELINE_TEST_CLOCK_OFFSET=<signed seconds> in the environment shifts
 * what wallclock_now() answers, so an end-to-end test can put vesseld and
 * shored just before a month boundary in the quota zone and cross it in
 * seconds.  It exists for tests only: production units never set it, and
 * both daemons log a warning at start when it is set.  Timers never use
 * this clock (they use the loop's monotonic clock).
 */
#ifndef LIFELINE_COMMON_WALLCLOCK_H
#define LIFELINE_COMMON_WALLCLOCK_H

#include <stdint.h>

#define WALLCLOCK_ENV "LIFELINE_TEST_CLOCK_OFFSET"
/* Largest shift accepted (about 100 years); anything else is ignored. */
#define WALLCLOCK_OFFSET_MAX INT64_C(3155760000)

/* time(NULL) plus the test shift (0 unless WALLCLOCK_ENV is set). */
int64_t wallclock_now(void);
/* The test shift in effect (read from the environment once). */
int64_t wallclock_offset(void);

#endif
