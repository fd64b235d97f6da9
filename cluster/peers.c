/*
 * peers — see peers.h.
 */
#include "cluster/peers.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/ring.h"
#include "cluster/outlink.h"
#include "common/xmalloc.h"

/* A message for a peer that is not in the view yet. */
struct peers_wait {
	uint64_t id;
	struct buf msg; /* a copy: waiting is rare, so it may cost one */
	uint64_t deadline;
};

/* The link of a peer that left the view, kept a moment so that what was
 * already handed to it still gets written (nng drops a closed socket's
 * queue). The peer, when it left gracefully, is still draining. */
struct peers_retired {
	uint64_t id;
	struct outlink *link;
	uint64_t deadline;
};

struct peers {
	struct event_base *base;
	struct ring retired; /* struct peers_retired, oldest first */
	struct cluster *cl;
	struct ring waiting; /* struct peers_wait, oldest first */
	struct event *expire_ev;
	uint64_t dropped;
	uint8_t role;
	size_t max_queue;
	peers_change_fn *fn;
	void *arg;
	struct peer *v; /* sorted by id */
	size_t n;
};

static void
peers_retire(struct peers *ps, uint64_t id, struct outlink *link)
{
	struct peers_retired *r = ring_push(&ps->retired);
	r->id = id;
	r->link = link;
	r->deadline = clock_ms() + PEERS_LINGER_MS;
}

/* Drops waiting messages whose peer never showed up, and frees the links
 * of departed peers once they had their moment. */
static void
peers_on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct peers *ps = arg;
	uint64_t now = clock_ms();
	struct peers_wait *w;
	struct peers_retired *r;
	size_t dropped = 0;
	while ((r = ring_front(&ps->retired)) != NULL && r->deadline <= now) {
		outlink_free(r->link);
		ring_pop(&ps->retired);
	}
	while ((w = ring_front(&ps->waiting)) != NULL && w->deadline <= now) {
		buf_fini(&w->msg);
		ring_pop(&ps->waiting);
		dropped++;
	}
	if (dropped) {
		ps->dropped += dropped;
		log_warn("peer_never_joined", "messages_dropped=%zu", dropped);
	}
}

/* Sends what waited for peer p, in order. */
static void
peers_release(struct peers *ps, const struct peer *p)
{
	size_t n = ring_len(&ps->waiting);
	for (size_t i = 0; i < n; i++) {
		struct peers_wait w = *(struct peers_wait *)ring_front(&ps->waiting);
		ring_pop(&ps->waiting);
		if (w.id == p->id) {
			/* A full link refuses it: the request it carried times
			 * out at its sender, as one refused directly would. */
			if (outlink_send(p->link, w.msg.p, w.msg.len) != 0)
				ps->dropped++;
			buf_fini(&w.msg);
		} else {
			*(struct peers_wait *)ring_push(&ps->waiting) = w;
		}
	}
}

int
peers_send(struct peers *ps, uint64_t id, const void *msg, size_t n)
{
	const struct peer *p = peers_find(ps, id);
	if (p != NULL)
		return outlink_send(p->link, msg, n);
	/* A peer that just left (it is draining) still gets answers to what
	 * it asked before it left: a worker's OP, answered after our view
	 * dropped it, must reach it, or its request ends "partial". */
	for (size_t i = ring_len(&ps->retired); i-- > 0;) {
		struct peers_retired *r = ring_at(&ps->retired, i);
		if (r->id == id)
			return outlink_send(r->link, msg, n);
	}
	if (ring_len(&ps->waiting) >= PEERS_WAIT_MAX)
		return -ENOBUFS;
	struct peers_wait *w = ring_push(&ps->waiting);
	w->id = id;
	buf_init(&w->msg);
	buf_append(&w->msg, msg, n);
	w->deadline = clock_ms() + PEERS_WAIT_MS;
	struct peer unknown = {id, NULL, false};
	ps->fn(ps->arg, &unknown, PEER_UNKNOWN);
	return 0;
}

struct peers *
peers_new(struct event_base *base, struct cluster *cl, uint8_t role, size_t max_queue,
	peers_change_fn *fn, void *arg)
{
	struct peers *ps = xcalloc(1, sizeof *ps);
	ps->base = base;
	ps->cl = cl;
	ring_init(&ps->waiting, sizeof(struct peers_wait));
	ring_init(&ps->retired, sizeof(struct peers_retired));
	ps->expire_ev = event_new(base, -1, EV_PERSIST, peers_on_expire, ps);
	struct timeval tv = {0, 250000};
	event_add(ps->expire_ev, &tv);
	ps->role = role;
	ps->max_queue = max_queue;
	ps->fn = fn;
	ps->arg = arg;
	return ps;
}

void
peers_free(struct peers *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++)
		outlink_free(ps->v[i].link);
	for (size_t i = 0; i < ring_len(&ps->waiting); i++)
		buf_fini(&((struct peers_wait *)ring_at(&ps->waiting, i))->msg);
	ring_fini(&ps->waiting);
	for (size_t i = 0; i < ring_len(&ps->retired); i++)
		outlink_free(((struct peers_retired *)ring_at(&ps->retired, i))->link);
	ring_fini(&ps->retired);
	event_free(ps->expire_ev);
	free(ps->v);
	free(ps);
}

static void
peers_on_link(void *arg, struct outlink *ol, bool up)
{
	struct peers *ps = arg;
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].link != ol)
			continue;
		ps->v[i].up = up;
		log_info(up ? "peer_up" : "peer_down", "peer=%016llx", (unsigned long long)ps->v[i].id);
		ps->fn(ps->arg, &ps->v[i], up ? PEER_UP : PEER_DOWN);
		return;
	}
}

void
peers_update(struct peers *ps, const struct member_view *view)
{
	struct peer *nv = xcalloc(view->n + 1, sizeof *nv);
	unsigned char *fresh = xcalloc(view->n + 1, 1);
	size_t nn = 0, i = 0;

	/* Both lists are sorted by id: merge them. */
	for (size_t j = 0; j < view->n; j++) {
		const struct member_peer *mp = &view->v[j];
		if (mp->role != ps->role)
			continue;
		while (i < ps->n && ps->v[i].id < mp->id) {
			ps->fn(ps->arg, &ps->v[i], PEER_LEFT);
			peers_retire(ps, ps->v[i].id, ps->v[i].link);
			i++;
		}
		if (i < ps->n && ps->v[i].id == mp->id &&
			strcmp(outlink_url(ps->v[i].link), mp->inbox) == 0) {
			nv[nn++] = ps->v[i++];
			continue;
		}
		if (i < ps->n && ps->v[i].id == mp->id) {
			/* Same member, new address: treat as leave + join. */
			ps->fn(ps->arg, &ps->v[i], PEER_LEFT);
			peers_retire(ps, ps->v[i].id, ps->v[i].link);
			i++;
		}
		int err = 0;
		struct outlink *ol = outlink_new(ps->base, ps->cl, mp->inbox, ps->max_queue,
			peers_on_link, ps, &err);
		if (ol == NULL) {
			log_error("peer_dial_failed", "peer=%016llx inbox=%s err=%d",
				(unsigned long long)mp->id, mp->inbox, err);
			continue;
		}
		nv[nn].id = mp->id;
		nv[nn].link = ol;
		nv[nn].up = true;
		fresh[nn++] = 1;
	}
	for (; i < ps->n; i++) {
		ps->fn(ps->arg, &ps->v[i], PEER_LEFT);
		peers_retire(ps, ps->v[i].id, ps->v[i].link);
	}
	free(ps->v);
	ps->v = nv;
	ps->n = nn;
	/* Announce joins after the list is complete, so callbacks see it. */
	for (size_t k = 0; k < nn; k++) {
		if (!fresh[k])
			continue;
		ps->fn(ps->arg, &ps->v[k], PEER_JOINED);
		if (ring_len(&ps->waiting) > 0)
			peers_release(ps, &ps->v[k]);
	}
	free(fresh);
}

size_t
peers_count(const struct peers *ps)
{
	return ps->n;
}

const struct peer *
peers_at(const struct peers *ps, size_t i)
{
	return i < ps->n ? &ps->v[i] : NULL;
}

const struct peer *
peers_find(const struct peers *ps, uint64_t id)
{
	size_t lo = 0, hi = ps->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ps->v[mid].id == id)
			return &ps->v[mid];
		if (ps->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
peers_live(const struct peers *ps)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		n += ps->v[i].up;
	return n;
}

size_t
peers_queued(const struct peers *ps)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		n += outlink_queued(ps->v[i].link);
	return n;
}

size_t
peers_queued_up(const struct peers *ps)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].up)
			n += outlink_queued(ps->v[i].link);
	return n;
}

size_t
peers_waiting(const struct peers *ps)
{
	return ring_len(&ps->waiting);
}

const struct peer *
peers_pick(const struct peers *ps, uint64_t key)
{
	const struct peer *best = NULL;
	uint64_t best_w = 0;
	for (size_t i = 0; i < ps->n; i++) {
		if (!ps->v[i].up)
			continue;
		uint64_t w = hash_mix64(key ^ hash_mix64(ps->v[i].id));
		if (best == NULL || w > best_w) {
			best = &ps->v[i];
			best_w = w;
		}
	}
	return best;
}
