/*
 * clock_test — the wall clocks agree with each other and with time(2), and
 * the monotonic ones do not go back.
 */
#include "common/clock.h"
#include "tests/tap.h"

int
main(void)
{
	uint64_t ms = clock_wall_ms();
	uint64_t us = clock_wall_us();
	uint64_t ms2 = clock_wall_ms();
	tap_ok(us / 1000 >= ms && us / 1000 <= ms2, "wall µs falls between two wall ms read around it");
	uint64_t t = (uint64_t)time(NULL);
	tap_ok(us / 1000000 + 1 >= t && us / 1000000 <= t + 1, "wall µs counts from the epoch, as time() does");

	uint64_t m1 = clock_ms(), n1 = clock_ns();
	uint64_t m2 = clock_ms(), n2 = clock_ns();
	tap_ok(m2 >= m1 && n2 >= n1, "the monotonic clocks do not go back");
	return tap_done();
}
