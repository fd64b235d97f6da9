/*
 * presence — see presence.h.
 *
 * Groups live in a dense array (presence_due walks it every sweep: the
 * array holds only the groups of the last second or so) and a chained hash
 * of indexes into it for presence_touch. Removing swaps the last entry into
 * the hole and fixes the one chain link that named it.
 */
#include "worker/presence.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xmalloc.h"

#define PRESENCE_BUCKETS_MIN 64

struct presence_entry {
	char *name;
	size_t len;
	uint64_t hash;
	uint32_t next;    /* the next entry in its bucket, index + 1; 0 ends */
	uint64_t started; /* when its last count started (ms) */
	bool dirty;       /* changed since that start */
	bool running;     /* a count is under way */
};

struct presence {
	struct presence_entry *v;
	size_t n, cap, max;
	uint32_t *bucket; /* index + 1 of the first entry; 0 = empty */
	size_t nbucket;   /* a power of two, >= n */
};

static uint64_t
presence_hash(const char *p, size_t len)
{
	return hash_bytes(p, len);
}

struct presence *
presence_new(size_t max_groups)
{
	struct presence *p = xcalloc(1, sizeof *p);
	p->max = max_groups;
	p->nbucket = PRESENCE_BUCKETS_MIN;
	p->bucket = xcalloc(p->nbucket, sizeof *p->bucket);
	return p;
}

void
presence_free(struct presence *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].name);
	free(p->v);
	free(p->bucket);
	free(p);
}

static uint32_t *
presence_slot(struct presence *p, uint64_t hash)
{
	return &p->bucket[hash & (p->nbucket - 1)];
}

static void
presence_rehash(struct presence *p, size_t nbucket)
{
	free(p->bucket);
	p->nbucket = nbucket;
	p->bucket = xcalloc(nbucket, sizeof *p->bucket);
	for (size_t i = 0; i < p->n; i++) {
		uint32_t *slot = presence_slot(p, p->v[i].hash);
		p->v[i].next = *slot;
		*slot = (uint32_t)(i + 1);
	}
}

static struct presence_entry *
presence_find(struct presence *p, const char *group, size_t len, uint64_t hash)
{
	for (uint32_t i = *presence_slot(p, hash); i != 0; i = p->v[i - 1].next) {
		struct presence_entry *e = &p->v[i - 1];
		if (e->hash == hash && e->len == len && memcmp(e->name, group, len) == 0)
			return e;
	}
	return NULL;
}

/* The link that names entry index i (in its bucket or its predecessor). */
static uint32_t *
presence_link_to(struct presence *p, size_t i)
{
	uint32_t *link = presence_slot(p, p->v[i].hash);
	while (*link != i + 1)
		link = &p->v[*link - 1].next;
	return link;
}

static void
presence_remove(struct presence *p, size_t i)
{
	*presence_link_to(p, i) = p->v[i].next;
	free(p->v[i].name);
	size_t last = p->n - 1;
	if (i != last) {
		*presence_link_to(p, last) = (uint32_t)(i + 1);
		p->v[i] = p->v[last];
	}
	p->n--;
	if (p->nbucket > PRESENCE_BUCKETS_MIN && p->n < p->nbucket / 8)
		presence_rehash(p, p->nbucket / 2);
}

static void
presence_start(struct presence_entry *e, uint64_t now)
{
	e->running = true;
	e->dirty = false;
	e->started = now;
}

int
presence_touch(struct presence *p, const char *group, size_t len, uint64_t now)
{
	uint64_t hash = presence_hash(group, len);
	struct presence_entry *e = presence_find(p, group, len, hash);
	if (e == NULL) {
		if (p->n >= p->max)
			return -ENOSPC;
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 16;
			p->v = xrealloc(p->v, p->cap * sizeof *p->v);
		}
		e = &p->v[p->n++];
		memset(e, 0, sizeof *e);
		e->name = xmemdup(group, len);
		e->len = len;
		e->hash = hash;
		if (p->n > p->nbucket) {
			presence_rehash(p, p->nbucket * 2);
		} else {
			uint32_t *slot = presence_slot(p, hash);
			e->next = *slot;
			*slot = (uint32_t)p->n;
		}
		presence_start(e, now); /* new: nothing was counted within the interval */
		return 1;
	}
	e->dirty = true;
	if (e->running || now - e->started < PRESENCE_INTERVAL_MS)
		return 0;
	presence_start(e, now);
	return 1;
}

size_t
presence_due(struct presence *p, uint64_t now, presence_count_fn *fn, void *arg)
{
	size_t started = 0;
	for (size_t i = 0; i < p->n;) {
		struct presence_entry *e = &p->v[i];
		if (e->running || now - e->started < PRESENCE_INTERVAL_MS) {
			i++;
		} else if (e->dirty) {
			presence_start(e, now);
			started++;
			fn(arg, e->name, e->len);
			i++;
		} else {
			presence_remove(p, i); /* the last entry moved into i: look again */
		}
	}
	return started;
}

void
presence_done(struct presence *p, const char *group, size_t len)
{
	struct presence_entry *e = presence_find(p, group, len, presence_hash(group, len));
	if (e != NULL)
		e->running = false;
}

size_t
presence_tracked(const struct presence *p)
{
	return p->n;
}
