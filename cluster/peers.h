/*
 * peers — outlinks to every live member of one role, following the member
 * view. A gateway keeps peers of its workers; a worker keeps peers of its
 * gateways.
 *
 * Peers are kept sorted by member id, so "the i-th worker" is the same on
 * every gateway with the same view.
 */
#ifndef GATECAST_CLUSTER_PEERS_H
#define GATECAST_CLUSTER_PEERS_H

#include "common/attr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/member.h"

struct cluster;
struct event_base;
struct outlink;
struct peers;

struct peer {
	uint64_t id;
	struct outlink *link;
	bool up; /* false while its link has lost its connection */
};

enum peers_change {
	PEER_JOINED, /* in the view now */
	PEER_LEFT,   /* gone from the view; its link stays PEERS_LINGER_MS
	              * more for what was given to it and for answers to it
	              * (peers_send still finds it by id), then is freed */
	PEER_DOWN,   /* still in the view, but its connection broke: the peer
	              * died, or the network between us did */
	PEER_UP,     /* connected again */
	PEER_UNKNOWN, /* a message waits for this id to join the view (p->link
	               * is NULL): ask the registers now (member_poke) */
};

typedef void peers_change_fn(void *arg, const struct peer *p, enum peers_change what);

/* Links are made through cl (borrowed; it must outlive the peers), so each
 * is sealed and, for tls+tcp:// inboxes, encrypted (cluster.h). */
struct peers *peers_new(struct event_base *base, struct cluster *cl, uint8_t role,
	size_t max_queue, peers_change_fn *fn, void *arg);
void peers_free(struct peers *ps);

/* Applies a new member view: dials new members of our role, closes links to
 * members that are gone. */
void peers_update(struct peers *ps, const struct member_view *view);

/* Sends the n bytes at msg (one encoded message; copied, borrowed for the
 * call) to peer id. When id is not in the view yet — a member that just
 * joined is known to some processes one renew period before others — the
 * message waits up to PEERS_WAIT_MS for it (PEER_UNKNOWN is reported),
 * then is dropped and logged. Returns 0 or -ENOBUFS when the link's queue
 * or the wait list is full (nothing was taken). */
MUST_CHECK int peers_send(struct peers *ps, uint64_t id, const void *msg, size_t n);

#define PEERS_WAIT_MS 3000
#define PEERS_LINGER_MS 2000
#define PEERS_WAIT_MAX 4096

size_t peers_count(const struct peers *ps);
/* The i-th peer in id order; borrowed until the next update. */
const struct peer *peers_at(const struct peers *ps, size_t i);
/* The peer with this id, or NULL. */
const struct peer *peers_find(const struct peers *ps, uint64_t id);
/* Peers that are up. */
size_t peers_live(const struct peers *ps);
/* Messages queued in the links' own FIFOs, all peers together (nng's
 * buffers not counted: they cannot be read). */
size_t peers_queued(const struct peers *ps);
/* The same, for the peers that are up: what can still be written. */
size_t peers_queued_up(const struct peers *ps);
/* Messages waiting for a peer that is not in the view yet (peers_send). */
size_t peers_waiting(const struct peers *ps);
/* Rendezvous hashing over the peers that are up: the peer that owns key
 * (stable while it lives; when a peer leaves or goes down only its keys
 * move). NULL when no peer is up. */
const struct peer *peers_pick(const struct peers *ps, uint64_t key);

#endif
