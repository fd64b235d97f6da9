/*
 * ring_test — order, growth across the wrap point, pops at both ends.
 */
#include "common/ring.h"
#include "tests/tap.h"

int
main(void)
{
	struct ring r = RING_INIT(int);
	tap_ok(ring_front(&r) == NULL, "an empty ring has no front");
	for (int i = 0; i < 3; i++)
		*(int *)ring_push(&r) = i;
	ring_pop(&r);
	ring_pop(&r);
	/* head is now in the middle: growing must keep the order. */
	for (int i = 3; i < 20; i++)
		*(int *)ring_push(&r) = i;
	tap_eq_int(ring_len(&r), 18, "the length counts pushes minus pops");
	int ok = 1;
	for (size_t i = 0; i < ring_len(&r); i++)
		ok &= *(int *)ring_at(&r, i) == (int)i + 2;
	tap_ok(ok, "elements keep their order across growth and wrap-around");
	ring_pop_back(&r);
	tap_eq_int(*(int *)ring_at(&r, ring_len(&r) - 1), 18, "pop_back drops the newest");
	tap_eq_int(*(int *)ring_front(&r), 2, "the front is the oldest");
	ring_fini(&r);
	tap_eq_int(ring_len(&r), 0, "fini empties the ring");
	return tap_done();
}
