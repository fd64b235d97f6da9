/*
 * idring — see idring.h.
 */
#include "common/idring.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

static struct idring_entry *
idring_slot(const struct idring *r, uint64_t id)
{
	return (struct idring_entry *)(void *)(r->v + (size_t)(id % r->cap) * r->esize);
}

void
idring_init(struct idring *r, size_t cap, size_t esize)
{
	r->v = xcalloc(cap, esize);
	r->cap = cap;
	r->esize = esize;
	r->used = 0;
	r->low = r->next = 1;
}

void
idring_fini(struct idring *r)
{
	free(r->v);
	memset(r, 0, sizeof *r);
}

void *
idring_add(struct idring *r, uint64_t deadline)
{
	if (idring_full(r))
		return NULL;
	uint64_t id = r->next++;
	struct idring_entry *e = idring_slot(r, id);
	memset(e, 0, r->esize);
	e->id = id;
	e->deadline = deadline;
	r->used++;
	return e;
}

void *
idring_get(const struct idring *r, uint64_t id)
{
	if (id == 0 || id < r->low || id >= r->next)
		return NULL;
	struct idring_entry *e = idring_slot(r, id);
	return e->id == id ? e : NULL;
}

void
idring_del(struct idring *r, void *entry)
{
	struct idring_entry *e = entry;
	if (e->id == 0)
		return;
	memset(e, 0, r->esize);
	r->used--;
	while (r->low < r->next && idring_slot(r, r->low)->id == 0)
		r->low++;
}

void *
idring_oldest(const struct idring *r)
{
	return r->low < r->next ? idring_slot(r, r->low) : NULL;
}

size_t
idring_expire(struct idring *r, uint64_t now, idring_expire_fn *fn, void *arg)
{
	size_t n = 0;
	/* Re-read low and next each time: fn may delete and add. */
	for (uint64_t id = r->low; id < r->next; id++) {
		struct idring_entry *e = idring_get(r, id);
		if (e == NULL)
			continue;
		if (e->deadline > now)
			break;
		n++;
		fn(arg, e);
		if (id < r->low)
			id = r->low - 1;
	}
	return n;
}
