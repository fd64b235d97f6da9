/*
 * presence_test — the coalescing of online counts, on a clock the test
 * moves: at once for the first change, at most one count per group per
 * interval, one more for changes that came meanwhile, forgetting idle
 * groups, and the cap.
 */
#include "worker/presence.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/tap.h"

#define S(lit) lit, sizeof(lit) - 1
#define IV PRESENCE_INTERVAL_MS

struct counts {
	size_t n;
	char last[64];
	struct presence *p;
	bool finish; /* end each count at once, from inside the callback */
};

static void
count(void *arg, const char *group, size_t len)
{
	struct counts *c = arg;
	c->n++;
	snprintf(c->last, sizeof c->last, "%.*s", (int)len, group);
	if (c->finish)
		presence_done(c->p, group, len);
}

static void
test_first_change_counts_at_once(void)
{
	struct presence *p = presence_new(16);
	struct counts c = {0, "", p, false};
	tap_eq_int(presence_touch(p, S("company:7"), 5000), 1, "a group's first change counts at once");
	tap_eq_int(presence_touch(p, S("company:7"), 5001), 0, "a change during the count waits");
	tap_eq_int(presence_due(p, 5000 + IV, count, &c), 0, "nothing starts while a count runs");
	presence_done(p, S("company:7"));
	tap_eq_int(presence_due(p, 5000 + IV - 1, count, &c), 0,
		"the waiting change does not count before the interval");
	tap_eq_int(presence_due(p, 5000 + IV, count, &c), 1, "it counts once the interval passed");
	tap_eq_str(c.last, "company:7", "the due count names its group");
	presence_done(p, S("company:7"));
	tap_eq_int(presence_due(p, 5000 + 2 * IV, count, &c), 0, "no change, no count");
	tap_eq_int(presence_tracked(p), 0, "a group idle for an interval is forgotten");
	tap_eq_int(presence_touch(p, S("company:7"), 5000 + 2 * IV), 1,
		"a forgotten group counts at once again");
	presence_free(p);
}

static void
test_burst_makes_two_counts(void)
{
	struct presence *p = presence_new(16);
	struct counts c = {0, "", p, true};
	size_t counts = 0;
	for (uint64_t t = 0; t < 20; t++) {
		int rc = presence_touch(p, S("g"), 100000 + t * 45);
		if (rc == 1) {
			counts++;
			presence_done(p, S("g"));
		}
		counts += presence_due(p, 100000 + t * 45, count, &c);
	}
	for (uint64_t t = 100000 + 900; t <= 100000 + 3 * IV; t += 100)
		counts += presence_due(p, t, count, &c);
	tap_eq_int(counts, 2, "20 changes within a second make two counts: the first and the last");
	tap_eq_int(presence_tracked(p), 0, "and then the group is forgotten");
	presence_free(p);
}

static void
test_a_count_that_never_ends_blocks_only_its_group(void)
{
	struct presence *p = presence_new(16);
	struct counts c = {0, "", p, false};
	presence_touch(p, S("stuck"), 0);
	presence_touch(p, S("stuck"), 1);
	tap_eq_int(presence_due(p, 10 * IV, count, &c), 0, "a running count is never doubled");
	tap_eq_int(presence_tracked(p), 1, "nor forgotten while it runs");
	tap_eq_int(presence_touch(p, S("other"), 10 * IV), 1, "other groups are not held up");
	presence_done(p, S("stuck"));
	presence_done(p, S("never seen"));
	tap_eq_int(presence_due(p, 10 * IV, count, &c), 1,
		"the change made during the long count is counted when it ends");
	presence_free(p);
}

static void
test_cap(void)
{
	struct presence *p = presence_new(2);
	struct counts c = {0, "", p, true};
	tap_eq_int(presence_touch(p, S("a"), 0), 1, "the first group fits");
	tap_eq_int(presence_touch(p, S("b"), 0), 1, "the second group fits");
	tap_eq_int(presence_touch(p, S("c"), 0), -ENOSPC, "a third group is refused at max_groups 2");
	tap_eq_int(presence_touch(p, S("a"), 1), 0, "tracked groups still take changes");
	presence_done(p, S("a"));
	presence_done(p, S("b"));
	presence_due(p, IV, count, &c);  /* a counts again, b is forgotten */
	tap_eq_int(presence_touch(p, S("c"), IV), 1, "a forgotten group makes room");
	presence_free(p);
	presence_free(NULL);
}

/* Many groups: the hash and the swap-on-remove stay consistent. */
static void
test_many_groups(void)
{
	struct presence *p = presence_new(100000);
	struct counts c = {0, "", p, true};
	char name[32];
	bool ok = true;
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(name, sizeof name, "company:%d", i);
		ok = ok && presence_touch(p, name, (size_t)n, 0) == 1;
		presence_done(p, name, (size_t)n);
	}
	tap_ok(ok, "5000 new groups all count at once");
	tap_eq_int(presence_tracked(p), 5000, "5000 groups are tracked");
	for (int i = 0; i < 5000; i += 2) {
		int n = snprintf(name, sizeof name, "company:%d", i);
		ok = ok && presence_touch(p, name, (size_t)n, 10) == 0;
	}
	tap_ok(ok, "changes within the interval wait, for every group");
	tap_eq_int(presence_due(p, IV, count, &c), 2500, "the 2500 changed groups count once each");
	tap_eq_int(presence_tracked(p), 2500, "the 2500 unchanged ones are forgotten");
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(name, sizeof name, "company:%d", i);
		ok = ok && presence_touch(p, name, (size_t)n, IV + 1) == (i % 2 ? 1 : 0);
		if (i % 2)
			presence_done(p, name, (size_t)n);
	}
	tap_ok(ok, "after the removals every group is still found, or new again");
	tap_eq_int(presence_due(p, 3 * IV, count, &c), 2500, "the waiting ones count");
	tap_eq_int(presence_due(p, 5 * IV, count, &c), 0, "and then nothing is due");
	tap_eq_int(presence_tracked(p), 0, "and everything is forgotten");
	presence_free(p);
}

int
main(void)
{
	test_first_change_counts_at_once();
	test_burst_makes_two_counts();
	test_a_count_that_never_ends_blocks_only_its_group();
	test_cap();
	test_many_groups();
	return tap_done();
}
