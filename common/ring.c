/*
 * ring — see ring.h.
 */
#include "common/ring.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void
ring_fini(struct ring *r)
{
	free(r->v);
	ring_init(r, r->esize);
}

void *
ring_push(struct ring *r)
{
	if (r->len == r->cap) {
		uint32_t ncap = r->cap ? r->cap * 2 : 4;
		unsigned char *nv = xmalloc((size_t)ncap * r->esize);
		for (uint32_t i = 0; i < r->len; i++)
			memcpy(nv + (size_t)i * r->esize, ring_at(r, i), r->esize);
		free(r->v);
		r->v = nv;
		r->cap = ncap;
		r->head = 0;
	}
	r->len++;
	void *e = ring_at(r, r->len - 1);
	memset(e, 0, r->esize);
	return e;
}

void
ring_pop(struct ring *r)
{
	r->head = (r->head + 1) % r->cap;
	r->len--;
}

void
ring_pop_back(struct ring *r)
{
	r->len--;
}
