/*
 * registry — see registry.h. A flat array: clusters have tens of members,
 * and a linear scan of them is cheaper than any index.
 */
#include "register/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct registry {
	struct registry_member *v;
	size_t n, max;
	uint64_t version;
};

struct registry *
registry_new(size_t max_members)
{
	struct registry *r = xcalloc(1, sizeof *r);
	r->max = max_members;
	r->v = xcalloc(max_members, sizeof *r->v);
	r->version = 1;
	return r;
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].inbox);
	free(r->v);
	free(r);
}

static void
registry_drop(struct registry *r, size_t i)
{
	free(r->v[i].inbox);
	r->v[i] = r->v[--r->n];
	r->version++;
}

int
registry_announce(struct registry *r, uint8_t role, uint64_t id, const char *inbox, size_t len,
	uint32_t lease_ms, uint64_t now_ms)
{
	for (size_t i = 0; i < r->n; i++) {
		struct registry_member *m = &r->v[i];
		if (m->id != id)
			continue;
		m->expires_ms = now_ms + lease_ms;
		if (m->left) /* a late renewal after its leave: it stays gone */
			return 0;
		if (m->role == role && strlen(m->inbox) == len && memcmp(m->inbox, inbox, len) == 0)
			return 0;
		free(m->inbox);
		m->inbox = xstrndup(inbox, len);
		m->role = role;
		r->version++;
		return 1;
	}
	if (r->n == r->max)
		return -ENOSPC;
	struct registry_member *m = &r->v[r->n++];
	memset(m, 0, sizeof *m);
	m->role = role;
	m->id = id;
	m->inbox = xstrndup(inbox, len);
	m->expires_ms = now_ms + lease_ms;
	r->version++;
	return 1;
}

int
registry_remove(struct registry *r, uint64_t id, uint32_t lease_ms, uint64_t now_ms)
{
	for (size_t i = 0; i < r->n; i++) {
		struct registry_member *m = &r->v[i];
		if (m->id == id && !m->left) {
			m->left = true;
			m->expires_ms = now_ms + lease_ms;
			r->version++;
			return 1;
		}
	}
	return 0;
}

void
registry_set_stats(struct registry *r, uint64_t id, const struct proto_stats *st)
{
	for (size_t i = 0; i < r->n; i++) {
		struct registry_member *m = &r->v[i];
		if (m->id != id)
			continue;
		size_t hl = st->host.n < sizeof m->host - 1 ? st->host.n : sizeof m->host - 1;
		m->stats = *st;
		if (hl > 0)
			memcpy(m->host, st->host.p, hl);
		m->host[hl] = '\0';
		m->stats.host.p = m->host;
		m->stats.host.n = (uint32_t)hl;
		m->has_stats = true;
		return;
	}
}

size_t
registry_expire(struct registry *r, uint64_t now_ms)
{
	size_t dropped = 0;
	for (size_t i = 0; i < r->n;) {
		if (r->v[i].expires_ms < now_ms) {
			dropped += !r->v[i].left;
			registry_drop(r, i);
		} else {
			i++;
		}
	}
	return dropped;
}

size_t
registry_count(const struct registry *r)
{
	return r->n;
}

size_t
registry_live(const struct registry *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += !r->v[i].left;
	return n;
}

const struct registry_member *
registry_at(const struct registry *r, size_t i)
{
	return i < r->n ? &r->v[i] : NULL;
}

uint64_t
registry_version(const struct registry *r)
{
	return r->version;
}
