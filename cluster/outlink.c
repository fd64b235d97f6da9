/*
 * outlink — see outlink.h.
 *
 * The link itself (the turn's batch, the bounded FIFO of batches, the
 * up/down state) is transport-blind; the two transports sit behind one ops
 * table, so no call branches on which one it is: gatecast's own framing
 * for ipc:// (ipc.h), an nng push0 socket for anything else.
 */
#include "cluster/outlink.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/ipc.h"
#include "cluster/seal.h"
#include "common/buf.h"
#include "common/ring.h"
#include "common/xmalloc.h"

struct outlink;

/* A transport: hands a batch over without blocking, tells whether it is
 * connected now, and closes. */
struct outlink_ops {
	/* 0 when the transport took (a copy of) the n bytes at p; -EAGAIN
	 * when it has no room now (it calls outlink_drain when it has). */
	int (*send)(struct outlink *ol, const void *p, size_t n);
	bool (*connected)(const struct outlink *ol);
	void (*close)(struct outlink *ol);
};

struct outlink {
	const struct outlink_ops *ops;
	struct cluster *cl;
	struct ipc_dialer *ipc; /* ipc:// peers */
	nng_socket sock;        /* other peers: nng push0 */
	int wake[2];            /* nng threads write a byte; the loop reads it */
	struct event *wake_ev;  /* on wake[0] (nng), or made active (ipc) */
	_Atomic int pipes;      /* nng: connections to the peer right now */
	_Atomic bool ever_connected;
	bool up;                /* as last reported on the loop */
	outlink_state_fn *state_fn;
	void *state_arg;
	struct event *room_ev;  /* nng: SENDFD watcher, armed only while the FIFO
	                         * is non-empty (ipc calls back instead) */
	struct ring q;          /* struct buf: batches waiting for room */
	struct buf batch;       /* messages of this loop turn, concatenated;
	                         * its storage is kept from turn to turn */
	struct event *flush_ev; /* made active when a batch opens: runs later in
	                         * the same loop turn */
	size_t max_queue;
	char *url;
};

/* ---- the link ------------------------------------------------------------- */

static void
outlink_wait_room(struct outlink *ol, bool wait)
{
	if (ol->room_ev == NULL)
		return;
	if (wait)
		event_add(ol->room_ev, NULL);
	else
		event_del(ol->room_ev);
}

static void
outlink_drain(struct outlink *ol)
{
	struct buf *b;
	while ((b = ring_front(&ol->q)) != NULL) {
		if (ol->ops->send(ol, b->p, b->len) != 0)
			break;
		buf_fini(b);
		ring_pop(&ol->q);
	}
	outlink_wait_room(ol, ring_len(&ol->q) != 0);
}

/* Hands the open batch to the transport, or moves it (no copy) behind the
 * FIFO, whose bound outlink_send checked when the batch was opened. */
static void
outlink_flush(struct outlink *ol)
{
	if (ol->batch.len == 0)
		return;
	if (ring_len(&ol->q) == 0 && ol->ops->send(ol, ol->batch.p, ol->batch.len) == 0) {
		/* A burst's big batch is not kept for an idle link. */
		if (ol->batch.cap > 2 * OUTLINK_BATCH_MAX) {
			buf_fini(&ol->batch);
			buf_init(&ol->batch);
		}
		buf_reset(&ol->batch);
		return;
	}
	*(struct buf *)ring_push(&ol->q) = ol->batch;
	buf_init(&ol->batch);
	outlink_wait_room(ol, true);
}

static void
outlink_on_flush(evutil_socket_t fd, short what, void *arg)
{
	outlink_flush(arg);
}

/* False once the link had a connection and has none now. A link that has
 * not connected yet counts as up (it is still dialing). The state callback
 * reports changes of it. */
static bool
outlink_up(const struct outlink *ol)
{
	if (!atomic_load(&ol->ever_connected))
		return true;
	return ol->ops->connected(ol);
}

static void
outlink_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct outlink *ol = arg;
	char sink[64];
	while (fd >= 0 && read(fd, sink, sizeof sink) > 0)
		;
	bool up = outlink_up(ol);
	if (up != ol->up) {
		ol->up = up;
		if (ol->state_fn != NULL)
			ol->state_fn(ol->state_arg, ol, up);
	}
}

/* ---- ipc:// : gatecast's own framing (ipc.h) ------------------------------ */

static int
outlink_ipc_send(struct outlink *ol, const void *p, size_t n)
{
	/* The connection was authenticated by its hello: no seal. */
	return ipc_dialer_send(ol->ipc, p, n);
}

static bool
outlink_ipc_connected(const struct outlink *ol)
{
	return ipc_dialer_connected(ol->ipc);
}

static void
outlink_ipc_close(struct outlink *ol)
{
	ipc_dialer_free(ol->ipc);
}

static const struct outlink_ops outlink_ipc_ops = {
	outlink_ipc_send, outlink_ipc_connected, outlink_ipc_close,
};

/* The connection came up or went down. Reported from the loop a moment
 * later, as nng's are, so the state callback never runs inside a send. */
static void
outlink_on_ipc_state(void *arg, bool up)
{
	struct outlink *ol = arg;
	if (up)
		atomic_store(&ol->ever_connected, true);
	event_active(ol->wake_ev, EV_READ, 1);
}

/* The hello that opens each connection, sealed for the peer's inbox. */
static void
outlink_on_ipc_hello(void *arg, struct buf *out)
{
	struct outlink *ol = arg;
	buf_append_str(out, IPC_HELLO_BODY);
	cluster_seal_buf(ol->cl, out, ol->url);
}

static void
outlink_on_ipc_room(void *arg)
{
	outlink_drain(arg);
}

static int
outlink_ipc_open(struct outlink *ol, struct event_base *base, const char *path)
{
	int err = 0;
	ol->ops = &outlink_ipc_ops;
	ol->wake_ev = event_new(base, -1, 0, outlink_on_wake, ol);
	ol->ipc = ipc_dialer_new(base, path, outlink_on_ipc_hello, outlink_on_ipc_state,
		outlink_on_ipc_room, ol, &err);
	return err;
}

/* ---- anything else: nng push0, each batch sealed ---------------------------- */

/* The seal goes on just before nng takes the batch, so the time it carries
 * is when it left, not when it was queued. A refused batch costs its copy
 * and the counter it used (simply skipped). */
static int
outlink_nng_send(struct outlink *ol, const void *p, size_t n)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, n) != 0)
		abort(); /* out of memory: see xmalloc.h */
	memcpy(nng_msg_body(m), p, n);
	cluster_seal(ol->cl, m, ol->url);
	if (nng_sendmsg(ol->sock, m, NNG_FLAG_NONBLOCK) == 0)
		return 0;
	nng_msg_free(m);
	return -EAGAIN;
}

static bool
outlink_nng_connected(const struct outlink *ol)
{
	return atomic_load(&ol->pipes) > 0;
}

static void
outlink_nng_close(struct outlink *ol)
{
	if (nng_socket_id(ol->sock) > 0)
		nng_close(ol->sock); /* returns after nng's pipe callbacks are done */
}

static const struct outlink_ops outlink_nng_ops = {
	outlink_nng_send, outlink_nng_connected, outlink_nng_close,
};

static void
outlink_on_writable(evutil_socket_t fd, short what, void *arg)
{
	outlink_drain(arg);
}

/* nng thread: count connections, wake the loop. */
static void
outlink_on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct outlink *ol = arg;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&ol->pipes, 1);
		atomic_store(&ol->ever_connected, true);
	} else {
		atomic_fetch_sub(&ol->pipes, 1);
	}
	char b = 1;
	ssize_t w = write(ol->wake[1], &b, 1); /* a full pipe already wakes */
	(void)w;
}

static int
outlink_nng_open(struct outlink *ol, struct event_base *base, const char *url)
{
	int rc, fd;
	ol->ops = &outlink_nng_ops;
	if (pipe2(ol->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		abort();
	ol->wake_ev = event_new(base, ol->wake[0], EV_READ | EV_PERSIST, outlink_on_wake, ol);
	event_add(ol->wake_ev, NULL);
	if ((rc = nng_push0_open(&ol->sock)) != 0)
		return cluster_errno(rc);
	nng_pipe_notify(ol->sock, NNG_PIPE_EV_ADD_POST, outlink_on_pipe, ol);
	nng_pipe_notify(ol->sock, NNG_PIPE_EV_REM_POST, outlink_on_pipe, ol);
	nng_socket_set_int(ol->sock, NNG_OPT_SENDBUF, 8192);
	nng_socket_set_ms(ol->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(ol->sock, NNG_OPT_RECONNMAXT, 1000);
	if ((rc = cluster_dial(ol->cl, ol->sock, url, NNG_FLAG_NONBLOCK)) != 0 ||
		(rc = cluster_errno(nng_socket_get_int(ol->sock, NNG_OPT_SENDFD, &fd))) != 0) {
		nng_close(ol->sock);
		ol->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
		return rc;
	}
	ol->room_ev = event_new(base, fd, EV_READ | EV_PERSIST, outlink_on_writable, ol);
	return 0;
}

/* ---- the interface ---------------------------------------------------------- */

struct outlink *
outlink_new(struct event_base *base, struct cluster *cl, const char *url, size_t max_queue,
	outlink_state_fn *fn, void *arg, int *err)
{
	struct outlink *ol = xcalloc(1, sizeof *ol);
	const char *path = ipc_path(url);

	ol->cl = cl;
	ol->max_queue = max_queue ? max_queue : 1;
	ring_init(&ol->q, sizeof(struct buf));
	buf_init(&ol->batch);
	ol->url = xstrdup(url);
	ol->state_fn = fn;
	ol->state_arg = arg;
	ol->up = true;
	ol->wake[0] = ol->wake[1] = -1;
	ol->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	ol->flush_ev = event_new(base, -1, 0, outlink_on_flush, ol);
	int rc = path != NULL ? outlink_ipc_open(ol, base, path) : outlink_nng_open(ol, base, url);
	if (rc == 0)
		return ol;
	*err = rc;
	outlink_free(ol);
	return NULL;
}

void
outlink_free(struct outlink *ol)
{
	if (ol == NULL)
		return;
	if (ol->room_ev != NULL)
		event_free(ol->room_ev);
	event_free(ol->flush_ev);
	if (ol->ops != NULL)
		ol->ops->close(ol);
	if (ol->wake_ev != NULL)
		event_free(ol->wake_ev);
	if (ol->wake[0] >= 0) {
		close(ol->wake[0]);
		close(ol->wake[1]);
	}
	buf_fini(&ol->batch);
	for (size_t i = 0; i < ring_len(&ol->q); i++)
		buf_fini(ring_at(&ol->q, i));
	ring_fini(&ol->q);
	free(ol->url);
	free(ol);
}

int
outlink_send(struct outlink *ol, const void *p, size_t n)
{
	if (ring_len(&ol->q) >= ol->max_queue)
		return -ENOBUFS;
	if (ol->batch.len != 0 && ol->batch.len + n > OUTLINK_BATCH_MAX)
		outlink_flush(ol);
	if (ol->batch.len == 0)
		event_active(ol->flush_ev, EV_TIMEOUT, 1);
	buf_append(&ol->batch, p, n);
	return 0;
}

size_t
outlink_queued(const struct outlink *ol)
{
	return ring_len(&ol->q);
}

const char *
outlink_url(const struct outlink *ol)
{
	return ol->url;
}
