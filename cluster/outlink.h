/*
 * outlink — one link to a peer's inbox, with a bounded queue.
 *
 * An ipc:// inbox (a process on this host) is dialed with gatecast's own
 * framing on a unix socket, written from the loop (ipc.h); any other URL
 * with an nng push0 socket. Everything below holds for both.
 *
 * The transport's own buffer (nng's send buffer, the ipc output buffer)
 * absorbs short bursts; when it is full the message waits in the outlink's
 * FIFO (at most max_queue messages) and is sent from the loop when the
 * transport has room again (NNG_OPT_SENDFD, or the ipc room callback).
 * Beyond that bound the send fails and the caller reports an error: nothing
 * is dropped silently.
 *
 * The dial is non-blocking: the transport connects and reconnects in the
 * background, and the link turns connections coming and going (told on
 * nng's threads, or by the ipc dialer) into a state change delivered on the
 * loop, so a dead peer is noticed at once instead of after its register
 * lease.
 *
 * Messages sent in one loop turn travel together: they are copied, one
 * after the other (each is a self-delimiting msgpack value,
 * proto_decode_next splits them), into the turn's batch of at most
 * OUTLINK_BATCH_MAX bytes, handed to the transport later in the same turn.
 * Under load this divides the per-message cost (a write, a seal; nng's
 * thread hand-offs) by the batch size; an idle link adds no delay. A
 * message costs one copy into the batch and no allocation (the batch's
 * storage is kept from turn to turn); the ipc transport writes the batch
 * straight from there.
 *
 * On nng, each batch is sealed for the peer's inbox URL (cluster.h) just
 * before nng takes it, so the time it carries is when it left, not when it
 * was queued: a message that waited in the FIFO is not refused as stale.
 * An ipc connection is sealed once, by its hello (ipc.h).
 */
#ifndef GATECAST_CLUSTER_OUTLINK_H
#define GATECAST_CLUSTER_OUTLINK_H

#include "common/attr.h"

#include <stdbool.h>
#include <stddef.h>

struct cluster;
struct event_base;
struct outlink;

#define OUTLINK_BATCH_MAX (64 * 1024)

/* Called on the loop thread when the link goes down (its last connection to
 * the peer closed after it had been connected: the peer died or the network
 * broke) or comes back up. */
typedef void outlink_state_fn(void *arg, struct outlink *ol, bool up);

/* Dials url through cl (tls+tcp:// URLs get TLS; ipc:// ones our framing).
 * fn (may be NULL) hears of state changes. Returns the link or NULL with
 * *err a negative errno. url is copied; cl (which must outlive the link)
 * and arg are borrowed. */
struct outlink *outlink_new(struct event_base *base, struct cluster *cl, const char *url,
	size_t max_queue, outlink_state_fn *fn, void *arg, int *err);
/* Closes the link; queued messages are discarded (their requests time out
 * at their senders). NULL is fine. */
void outlink_free(struct outlink *ol);

/* Sends the n bytes at p (one encoded message, the bare body: a seal, when
 * the transport needs one, is added here) with the others of this loop
 * turn. The bytes are copied: borrowed for the call. Returns 0, or
 * -ENOBUFS when the FIFO is full (it counts batches; nothing was taken). */
MUST_CHECK int outlink_send(struct outlink *ol, const void *p, size_t n);
/* Batches waiting in the outlink's own FIFO (not counting the transport's
 * buffer). */
size_t outlink_queued(const struct outlink *ol);
/* The dialed URL (borrowed). */
const char *outlink_url(const struct outlink *ol);

#endif
