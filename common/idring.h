/*
 * idring — a fixed-size table of entries indexed by a 64-bit id, for
 * requests that all wait the same time: ids grow by one from 1, and every
 * entry gets its deadline (now + the one timeout) when it is added, so the
 * oldest entry is always the next to expire and expiry is a walk from the
 * oldest id that stops at the first entry still in time. (When the timeout
 * shrinks, say on a config reload, a younger entry may be due before an
 * older one: it then waits for the older one's deadline.) An id's slot is
 * id % cap; the ring is full when cap ids separate the oldest entry still in
 * use from the next id, so it never hands out a slot that is taken.
 *
 * Used by the push request table (push/push_table.c) and the worker's
 * gathers (worker/gather.c). Not here: what an entry holds beyond its id and
 * deadline (callers put struct idring_entry first in their own struct), and
 * clocks: every time is passed in, so the ring is pure.
 */
#ifndef GATECAST_COMMON_IDRING_H
#define GATECAST_COMMON_IDRING_H

#include <stddef.h>
#include <stdint.h>

/* The first member of every entry. id 0 means the slot is free. */
struct idring_entry {
	uint64_t id;
	uint64_t deadline; /* the caller's clock, in its unit */
};

struct idring {
	unsigned char *v; /* cap slots of esize bytes */
	size_t cap, esize, used;
	uint64_t low, next; /* ids in [low, next) may be in use; low is in use or == next */
};

/* Sets r up for cap (> 0) entries of esize bytes (>= sizeof(struct
 * idring_entry), the entry first). Aborts when out of memory. */
void idring_init(struct idring *r, size_t cap, size_t esize);
/* Frees the storage, not what entries point to (free those first, e.g.
 * with idring_oldest and idring_del). */
void idring_fini(struct idring *r);
/* Adds an entry with the next id and deadline (not before the deadlines
 * already given, but for a shrunk timeout; see above). Returns it
 * zeroed but for its idring_entry, or NULL when the ring is full (cap ids
 * between the oldest entry in use and the next). The pointer is valid until
 * the entry is deleted. */
void *idring_add(struct idring *r, uint64_t deadline);
/* The entry with this id, or NULL when it is not in use (never was, was
 * deleted, or id is 0). */
void *idring_get(const struct idring *r, uint64_t id);
/* Frees entry e (from this ring; its contents are the caller's to release
 * first) and moves the oldest id past the free slots. */
void idring_del(struct idring *r, void *e);
/* The entry in use with the smallest id, or NULL when none is. */
void *idring_oldest(const struct idring *r);
/* Entries in use. */
static inline size_t
idring_used(const struct idring *r)
{
	return r->used;
}
/* Is the ring full (idring_add would return NULL)? */
static inline int
idring_full(const struct idring *r)
{
	return r->next - r->low >= r->cap;
}

/* Called for an entry whose deadline passed; may delete it or any other
 * entry, and may add entries. */
typedef void idring_expire_fn(void *arg, void *entry);
/* Calls fn for every entry in use whose deadline is <= now, oldest first,
 * and stops at the first one still in time (deadlines grow with ids).
 * Entries fn leaves in place are passed over, not seen again in this call.
 * Returns how many entries fn was called for. */
size_t idring_expire(struct idring *r, uint64_t now, idring_expire_fn *fn, void *arg);

#endif
