/*
 * wallclock.c — time(NULL) plus an optional test-only shift (wallclock.h).
 *
 * Invariant: the shift is read once per process and never changes after;
 * a malformed or out-of-range value counts as 0.  No failure mode.
 */
#include "common/wallclock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

static int64_t offset;
static bool loaded;

int64_t wallclock_offset(void)
{
	if (!loaded) {
		const char *s = getenv(WALLCLOCK_ENV);
		char *end = NULL;
		errno = 0;
		long long v = s ? strtoll(s, &end, 10) : 0;
		if (s && !errno && end != s && *end == '\0' && v <= WALLCLOCK_OFFSET_MAX &&
		    v >= -WALLCLOCK_OFFSET_MAX)
			offset = (int64_t)v;
		loaded = true;
	}
	return offset;
}

int64_t wallclock_now(void)
{
	return (int64_t)time(NULL) + wallclock_offset();
}
