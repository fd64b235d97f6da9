/*
 * route — see route.h.
 */
#include "gateway/route.h"

#include <errno.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/hash.h"
#include "common/ring.h"
#include "common/xmalloc.h"

/* A message waiting for a worker. */
struct route_wait {
	struct buf msg; /* a copy */
	uint64_t key;
	uint64_t deadline;
	uint64_t ref; /* request id or client seq */
	uint8_t kind;
};

struct route {
	const struct config *cfg;
	const struct route_ops *ops;
	void *arg;
	struct ring waitq; /* struct route_wait, oldest first */
};

uint64_t
route_key_client(uint64_t seq)
{
	return hash_mix64(seq);
}

uint64_t
route_key_push(uint64_t key)
{
	return hash_mix64(key) | (1ULL << 63);
}

struct route *
route_new(const struct config *cfg, const struct route_ops *ops, void *arg)
{
	struct route *rt = xcalloc(1, sizeof *rt);
	rt->cfg = cfg;
	rt->ops = ops;
	rt->arg = arg;
	ring_init(&rt->waitq, sizeof(struct route_wait));
	return rt;
}

void
route_free(struct route *rt)
{
	if (rt == NULL)
		return;
	for (size_t i = 0; i < ring_len(&rt->waitq); i++)
		buf_fini(&((struct route_wait *)ring_at(&rt->waitq, i))->msg);
	ring_fini(&rt->waitq);
	free(rt);
}

int
route_send(struct route *rt, uint64_t key, const void *p, size_t n, enum route_kind kind,
	uint64_t ref)
{
	void *worker;
	if (ring_len(&rt->waitq) == 0 && (worker = rt->ops->pick(rt->arg, key)) != NULL)
		return rt->ops->send(rt->arg, worker, p, n);
	if (ring_len(&rt->waitq) >= rt->cfg->gateway_max_pending)
		return -ENOBUFS;
	struct route_wait *w = ring_push(&rt->waitq);
	buf_init(&w->msg);
	buf_append(&w->msg, p, n);
	w->key = key;
	w->kind = (uint8_t)kind;
	w->ref = ref;
	w->deadline = clock_ms() + rt->cfg->gateway_worker_wait_ms;
	return 0;
}

void
route_flush(struct route *rt)
{
	struct route_wait *front;
	void *worker;
	while ((front = ring_front(&rt->waitq)) != NULL &&
		(worker = rt->ops->pick(rt->arg, front->key)) != NULL) {
		struct route_wait w = *front;
		ring_pop(&rt->waitq);
		int rc = rt->ops->send(rt->arg, worker, w.msg.p, w.msg.len);
		buf_fini(&w.msg);
		if (rc != 0)
			rt->ops->fail(rt->arg, (enum route_kind)w.kind, w.ref, -ENOBUFS);
	}
}

void
route_expire(struct route *rt, uint64_t now)
{
	struct route_wait *front;
	while ((front = ring_front(&rt->waitq)) != NULL && front->deadline <= now) {
		struct route_wait w = *front;
		ring_pop(&rt->waitq);
		buf_fini(&w.msg);
		rt->ops->fail(rt->arg, (enum route_kind)w.kind, w.ref, -ETIMEDOUT);
	}
}

size_t
route_pending(const struct route *rt)
{
	return ring_len(&rt->waitq);
}
