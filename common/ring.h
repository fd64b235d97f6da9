/*
 * ring — a growable FIFO of fixed-size elements (a circular buffer that
 * doubles when full). Used for every queue in the tree: messages waiting for
 * a peer, frames waiting for a socket, requests waiting for a worker, replies
 * waiting for their turn. Bounds are the caller's business: check
 * ring_len() against your limit before pushing.
 */
#ifndef GATECAST_COMMON_RING_H
#define GATECAST_COMMON_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	unsigned char *v;
	uint32_t head, len, cap; /* in elements */
	uint32_t esize;          /* bytes per element */
};

#define RING_INIT(type) {NULL, 0, 0, 0, sizeof(type)}

static inline void
ring_init(struct ring *r, size_t esize)
{
	r->v = NULL;
	r->head = r->len = r->cap = 0;
	r->esize = (uint32_t)esize;
}

/* Frees the storage (not what elements point to). */
void ring_fini(struct ring *r);
/* Appends an element and returns it (zeroed) for the caller to fill. */
void *ring_push(struct ring *r);
/* The i-th element from the front (i < len). */
static inline void *
ring_at(const struct ring *r, size_t i)
{
	return r->v + (size_t)((r->head + i) % r->cap) * r->esize;
}
/* The front element, or NULL when empty. */
static inline void *
ring_front(const struct ring *r)
{
	return r->len ? ring_at(r, 0) : NULL;
}
/* Drops the front element (len > 0). */
void ring_pop(struct ring *r);
/* Drops the last element (len > 0). */
void ring_pop_back(struct ring *r);
static inline size_t
ring_len(const struct ring *r)
{
	return r->len;
}

#endif
