/*
 * clock — monotonic milliseconds, for deadlines and leases (never wall time,
 * which jumps).
 */
#ifndef GATECAST_COMMON_CLOCK_H
#define GATECAST_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
