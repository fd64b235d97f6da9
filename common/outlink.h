/*
 * outlink — one push0 link to a peer's inbox, with a bounded queue.
 *
 * nng's own send buffer absorbs short bursts; when it is full the message
 * waits in the outlink's FIFO (at most max_queue messages) and is sent from
 * the loop when NNG_OPT_SENDFD says there is room again. Beyond that bound the
 * send fails and the caller reports an error: nothing is dropped silently.
 *
 * The dial is non-blocking: nng connects and reconnects in the background.
 */
#ifndef GATECAST_COMMON_OUTLINK_H
#define GATECAST_COMMON_OUTLINK_H

#include <nng/nng.h>
#include <stddef.h>

struct event_base;
struct outlink;

/* Dials url. Returns the link or NULL with *err a negative nng error. */
struct outlink *outlink_new(struct event_base *base, const char *url, size_t max_queue, int *err);
/* Closes the link; queued messages are discarded (their requests time out
 * at their senders). NULL is fine. */
void outlink_free(struct outlink *ol);

/* Sends msg; takes ownership of msg, even on failure. Returns 0 or -ENOBUFS
 * when the queue is full. */
int outlink_send(struct outlink *ol, nng_msg *msg);
/* Builds a message from bytes and sends it: same contract. */
int outlink_send_bytes(struct outlink *ol, const void *p, size_t n);
/* Messages waiting in the outlink's own FIFO (not counting nng's buffer). */
size_t outlink_queued(const struct outlink *ol);
/* The dialed URL (borrowed). */
const char *outlink_url(const struct outlink *ol);

#endif
