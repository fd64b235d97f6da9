/*
 * route — which worker gets a gateway's message, and the bounded queue where
 * messages wait while there is none.
 *
 * The worker is chosen by rendezvous hash of a key (the ops' pick, which is
 * peers_pick on the gateway): a client's key comes from its sequence number,
 * a push connection's from its own key with the top bit set (route_key_*),
 * a watched group's from its name (presence_watch_key). So when a worker
 * leaves, only its keys move.
 *
 * While no worker is up, messages wait in one FIFO of at most
 * gateway.max_pending entries, gateway.worker_wait each; an entry that
 * cannot be delivered is answered through the ops' fail. Once anything
 * waits, new messages queue behind it, so one client's events keep their
 * order.
 *
 * Deliberately not here: encoding the messages, the links (the ops' send)
 * and what a failure means to a client or a push (the ops' fail).
 */
#ifndef GATECAST_GATEWAY_ROUTE_H
#define GATECAST_GATEWAY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct route;

/* What a queued message is, for the ops' fail: who learns of the failure. */
enum route_kind {
	ROUTE_REQUEST,  /* a push request: ref is its push_port request id */
	ROUTE_MESSAGE,  /* a client's connect or message: ref is the client's seq */
	ROUTE_OTHER,    /* anything else (a close): only logged */
	ROUTE_PRESENCE, /* a watched group's change: only counted */
};

struct route_ops {
	/* The up worker that owns key, or NULL when no worker is up. Borrowed
	 * until the next call into the ops' owner. */
	void *(*pick)(void *arg, uint64_t key);
	/* Hands the n bytes at p (an encoded message, borrowed for the call)
	 * to worker (from pick). Returns 0, or a negative errno when the
	 * worker's link refused them. */
	int (*send)(void *arg, void *worker, const void *p, size_t n);
	/* A queued message was not delivered: err is -ETIMEDOUT (no worker
	 * within gateway.worker_wait) or -ENOBUFS (the worker's link refused
	 * it). The message is already gone; kind and ref say whose it was. */
	void (*fail)(void *arg, enum route_kind kind, uint64_t ref, int err);
};

/* A route reading gateway.max_pending and gateway.worker_wait from cfg at
 * each use (they are reloadable). cfg, ops and arg are borrowed for the
 * route's life. Never fails. */
struct route *route_new(const struct config *cfg, const struct route_ops *ops, void *arg);
/* Drops the queued messages (without calling fail) and frees rt; NULL is
 * fine. */
void route_free(struct route *rt);

/* Routes the encoded message (n bytes at p, borrowed for the call) to the
 * worker owning key, or queues a copy (deadline now + gateway.worker_wait,
 * clock_ms) while none is up or others wait: waiting is the rare path.
 * kind and ref are kept for fail. Returns 0 when sent or queued; the send's
 * error when the worker's link refused it; -ENOBUFS when the queue holds
 * gateway.max_pending entries already. */
int route_send(struct route *rt, uint64_t key, const void *p, size_t n, enum route_kind kind,
	uint64_t ref);
/* Sends what waits, oldest first, while a worker is up (call when workers
 * come up); one the link refuses is failed with -ENOBUFS. */
void route_flush(struct route *rt);
/* Fails (-ETIMEDOUT) every queued message whose deadline is at or before
 * now (clock_ms). */
void route_expire(struct route *rt, uint64_t now);
/* Messages waiting for a worker. */
size_t route_pending(const struct route *rt);

/* The key of a client (by its seq) and of a push connection (by its key):
 * a mix of the number, with the top bit set for push connections (so a push
 * key never equals the key of a client whose mix has the bit clear). */
uint64_t route_key_client(uint64_t seq);
uint64_t route_key_push(uint64_t key);

#endif
