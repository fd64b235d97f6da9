/*
 * idring_test — ids, lookups, the full ring, the oldest id moving past
 * freed slots, and expiry in id order with callbacks that delete and add.
 */
#include "common/idring.h"
#include "tests/tap.h"

struct item {
	struct idring_entry ie;
	int value;
};

struct seen {
	struct idring *r;
	uint64_t ids[16];
	size_t n;
	int mode; /* 0: delete, 1: keep, 2: delete and add one */
};

static void
on_expire(void *arg, void *entry)
{
	struct seen *s = arg;
	struct item *it = entry;
	s->ids[s->n++] = it->ie.id;
	if (s->mode == 0 || s->mode == 2)
		idring_del(s->r, it);
	if (s->mode == 2)
		idring_add(s->r, 1010);
}

int
main(void)
{
	struct idring r;
	idring_init(&r, 4, sizeof(struct item));

	tap_ok(idring_oldest(&r) == NULL, "an empty ring has no oldest entry");
	struct item *a = idring_add(&r, 110);
	struct item *b = idring_add(&r, 111);
	tap_eq_int(a->ie.id, 1, "the first id is 1");
	tap_eq_int(b->ie.id, 2, "ids grow by one");
	tap_eq_int(a->ie.deadline, 110, "an entry keeps the deadline it was given");
	tap_eq_int(b->value, 0, "a new entry is zeroed");
	a->value = 7;
	tap_ok(idring_get(&r, 1) == a, "an id finds its entry");
	tap_ok(idring_get(&r, 0) == NULL, "id 0 is never in use");
	tap_ok(idring_get(&r, 3) == NULL, "an id not handed out yet is not found");
	tap_ok(idring_get(&r, 5) == NULL, "an id sharing a used slot is not found");
	tap_eq_int(idring_used(&r), 2, "used counts the entries added");

	idring_add(&r, 112);
	idring_add(&r, 113);
	tap_ok(idring_full(&r), "cap entries fill the ring");
	tap_ok(idring_add(&r, 114) == NULL, "adding to a full ring fails");

	idring_del(&r, idring_get(&r, 2));
	tap_ok(idring_full(&r), "freeing a younger entry does not free a slot to reuse");
	tap_eq_int(r.low, 1, "the oldest id stays while it is in use");
	idring_del(&r, a);
	tap_eq_int(r.low, 3, "freeing the oldest moves past every free slot");
	tap_ok(idring_get(&r, 1) == NULL, "a deleted id is not found");
	tap_eq_int(((struct item *)idring_oldest(&r))->ie.id, 3,
		"the oldest is the smallest id in use");
	struct item *e = idring_add(&r, 114);
	tap_ok(e != NULL && e->ie.id == 5, "a freed slot takes the next id");
	tap_ok(idring_get(&r, 1) == NULL && idring_get(&r, 5) == e,
		"the reused slot answers only to its new id");

	/* In use: 3 (deadline 112), 4 (113), 5 (114), 6 (115). */
	idring_add(&r, 115);
	struct seen s = {&r, {0}, 0, 1};
	tap_eq_int(idring_expire(&r, 111, on_expire, &s), 0,
		"nothing expires before the first deadline");
	tap_eq_int(idring_expire(&r, 113, on_expire, &s), 2,
		"entries expire up to now, oldest first");
	tap_ok(s.n == 2 && s.ids[0] == 3 && s.ids[1] == 4, "expiry visits the ids in order");
	tap_eq_int(idring_used(&r), 4, "entries the callback keeps stay in the ring");

	s.n = 0;
	s.mode = 2;
	tap_eq_int(idring_expire(&r, 114, on_expire, &s), 3,
		"expiry goes on after the callback deletes and adds");
	tap_ok(s.n == 3 && s.ids[0] == 3 && s.ids[1] == 4 && s.ids[2] == 5,
		"each expired entry is seen once");
	tap_eq_int(r.low, 6, "deleting from the callback moves the oldest id");
	tap_ok(idring_get(&r, 7) != NULL && idring_get(&r, 9) != NULL,
		"entries added from the callback are kept, with later deadlines");

	while ((e = idring_oldest(&r)) != NULL)
		idring_del(&r, e);
	tap_eq_int(idring_used(&r), 0, "deleting the oldest until none is left empties the ring");
	tap_eq_int(r.low, r.next, "an empty ring's oldest id is its next");
	idring_fini(&r);
	return tap_done();
}
