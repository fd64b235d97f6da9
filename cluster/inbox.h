/*
 * inbox — a process's one inbox, read from the libevent loop.
 *
 * Every gateway and worker listens on one inbox address; peers dial it
 * through outlink.h. An ipc:// inbox (peers on this host) is a unix socket
 * with gatecast's own framing (ipc.h), read on the loop. Any other (tcp://,
 * tls+tcp://) is an nng pull0 socket: the loop watches NNG_OPT_RECVFD and
 * drains messages with non-blocking receives, so all nng traffic is handled
 * on the loop thread too: no nng callbacks, no locks.
 *
 * Every nng message must open with the process's seal for this inbox's URL
 * (cluster.h): one that does not is dropped, counted and logged (rate-
 * limited) by cluster_open, and never reaches the callback. On an ipc
 * inbox the seal is checked once per connection, on its hello (ipc.h).
 */
#ifndef GATECAST_CLUSTER_INBOX_H
#define GATECAST_CLUSTER_INBOX_H

#include <stddef.h>

struct cluster;
struct event_base;
struct inbox;

/* Called for each batch that opened: the n bytes at p, without the seal's
 * trailer, borrowed for the call (they point into the transport's receive
 * buffer: no copy). */
typedef void inbox_fn(void *arg, const void *p, size_t n);

/* Listens on url ("ipc:///tmp/x.ipc", "tcp://127.0.0.1:7300",
 * "tls+tcp://10.0.0.1:7300") through cl. Returns the inbox or NULL with *err
 * set to a negative errno (strerror(-*err) tells what). The url is copied;
 * cl (which must outlive the inbox) and arg are borrowed. */
struct inbox *inbox_new(struct event_base *base, struct cluster *cl, const char *url, inbox_fn *fn,
	void *arg, int *err);
/* Stops listening, frees. NULL is fine. An ipc socket file is removed. */
void inbox_free(struct inbox *ib);

#endif
