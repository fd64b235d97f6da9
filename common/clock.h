/*
 * clock — monotonic time for local deadlines, leases and measuring
 * (clock_ms, clock_ns: wall time jumps), and wall time (clock_wall_ms,
 * clock_wall_us) only for stamps and expiries that cross processes or
 * hosts, where a monotonic clock means nothing.
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

/* Monotonic nanoseconds, for measuring (the load generator's stamps). */
static inline uint64_t
clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock milliseconds since the epoch: only for stamps that cross
 * process (and host) boundaries, where a monotonic clock means nothing. */
static inline uint64_t
clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wall-clock microseconds since the epoch, for the same kind of stamp where
 * milliseconds are too coarse (PROTO_REQUEST's pushed_us, from which the
 * gateways measure push-to-write latency, possibly on another host). */
static inline uint64_t
clock_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
