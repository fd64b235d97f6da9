/*
 * outlink — see outlink.h.
 */
#include "cluster/outlink.h"

#include <errno.h>
#include <event2/event.h>
#include <nng/protocol/pipeline0/push.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cluster/ipc.h"
#include "common/ring.h"
#include "cluster/seal.h"
#include "common/xmalloc.h"

struct outlink {
	struct cluster *cl;
	struct ipc_dialer *ipc; /* an ipc:// peer: our own framing (ipc.h) */
	nng_socket sock;        /* any other peer: nng push0 */
	int wake[2];          /* nng threads write a byte; the loop reads it */
	struct event *wake_ev;  /* on wake[0] (nng), or made active (ipc) */
	_Atomic int pipes;    /* connections to the peer right now */
	_Atomic bool ever_connected;
	bool up;              /* as last reported on the loop */
	outlink_state_fn *state_fn;
	void *state_arg;
	struct event *ev;   /* SENDFD watcher, armed only while the FIFO is non-empty;
	                     * NULL for ipc, whose room callback drains instead */
	struct ring q;      /* nng_msg * waiting for room */
	nng_msg *batch;     /* messages of this loop turn, concatenated; unsealed */
	struct event *flush_ev; /* made active when a batch opens: runs later in
	                         * the same loop turn */
	size_t max_queue;
	char *url;
};

/* Hands m to the transport without blocking, sealed for nng; on success m
 * is consumed. On failure m is unsealed again (the counter it used is
 * simply skipped) and stays the caller's. */
static int
outlink_try(struct outlink *ol, nng_msg *m)
{
	if (ol->ipc != NULL) {
		/* The connection was authenticated by its hello: no seal. */
		if (ipc_dialer_send(ol->ipc, nng_msg_body(m), nng_msg_len(m)) != 0)
			return -1;
		nng_msg_free(m);
		return 0;
	}
	cluster_seal(ol->cl, m, ol->url);
	if (nng_sendmsg(ol->sock, m, NNG_FLAG_NONBLOCK) == 0)
		return 0;
	nng_msg_chop(m, SEAL_TRAILER);
	return -1;
}

/* Arms or disarms the wait for room (nng only: ipc calls back). */
static void
outlink_wait_room(struct outlink *ol, bool wait)
{
	if (ol->ev == NULL)
		return;
	if (wait)
		event_add(ol->ev, NULL);
	else
		event_del(ol->ev);
}

static void
outlink_drain(struct outlink *ol)
{
	nng_msg **m;
	while ((m = ring_front(&ol->q)) != NULL) {
		if (outlink_try(ol, *m) != 0)
			break;
		ring_pop(&ol->q);
	}
	outlink_wait_room(ol, ring_len(&ol->q) != 0);
}

static void
outlink_on_writable(evutil_socket_t fd, short what, void *arg)
{
	outlink_drain(arg);
}

/* Hands the open batch to nng, or queues it behind the FIFO (whose bound
 * outlink_send checked when the batch was opened). */
static void
outlink_flush(struct outlink *ol)
{
	nng_msg *m = ol->batch;
	if (m == NULL)
		return;
	ol->batch = NULL;
	if (ring_len(&ol->q) == 0 && outlink_try(ol, m) == 0)
		return;
	*(nng_msg **)ring_push(&ol->q) = m;
	outlink_wait_room(ol, true);
}

static void
outlink_on_flush(evutil_socket_t fd, short what, void *arg)
{
	outlink_flush(arg);
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

/* ipc: the connection came up or went down. Reported from the loop a
 * moment later, as nng's are, so the state callback never runs inside a
 * send. */
static void
outlink_on_ipc_state(void *arg, bool up)
{
	struct outlink *ol = arg;
	if (up)
		atomic_store(&ol->ever_connected, true);
	event_active(ol->wake_ev, EV_READ, 1);
}

/* ipc: the hello that opens each connection, sealed for the peer's inbox. */
static nng_msg *
outlink_on_ipc_hello(void *arg)
{
	struct outlink *ol = arg;
	nng_msg *m;
	if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, IPC_HELLO_BODY, strlen(IPC_HELLO_BODY)) != 0)
		abort(); /* out of memory: see xmalloc.h */
	cluster_seal(ol->cl, m, ol->url);
	return m;
}

static void
outlink_on_ipc_room(void *arg)
{
	outlink_drain(arg);
}

bool
outlink_up(const struct outlink *ol)
{
	if (!atomic_load(&ol->ever_connected))
		return true;
	if (ol->ipc != NULL)
		return ipc_dialer_connected(ol->ipc);
	return atomic_load(&ol->pipes) > 0;
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

/* The nng side of outlink_new: a push0 socket dialing url. */
static int
outlink_nng_open(struct outlink *ol, struct event_base *base, const char *url)
{
	int rc, fd;
	if (pipe2(ol->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		abort();
	ol->wake_ev = event_new(base, ol->wake[0], EV_READ | EV_PERSIST, outlink_on_wake, ol);
	event_add(ol->wake_ev, NULL);
	if ((rc = nng_push0_open(&ol->sock)) != 0)
		return rc;
	nng_pipe_notify(ol->sock, NNG_PIPE_EV_ADD_POST, outlink_on_pipe, ol);
	nng_pipe_notify(ol->sock, NNG_PIPE_EV_REM_POST, outlink_on_pipe, ol);
	nng_socket_set_int(ol->sock, NNG_OPT_SENDBUF, 8192);
	nng_socket_set_ms(ol->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(ol->sock, NNG_OPT_RECONNMAXT, 1000);
	if ((rc = -cluster_dial(ol->cl, ol->sock, url, NNG_FLAG_NONBLOCK)) != 0 ||
		(rc = nng_socket_get_int(ol->sock, NNG_OPT_SENDFD, &fd)) != 0) {
		nng_close(ol->sock);
		ol->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
		return rc;
	}
	ol->ev = event_new(base, fd, EV_READ | EV_PERSIST, outlink_on_writable, ol);
	return 0;
}

struct outlink *
outlink_new(struct event_base *base, struct cluster *cl, const char *url, size_t max_queue,
	outlink_state_fn *fn, void *arg, int *err)
{
	struct outlink *ol = xcalloc(1, sizeof *ol);
	const char *path = ipc_path(url);
	int rc = 0;

	ol->cl = cl;
	ol->max_queue = max_queue ? max_queue : 1;
	ring_init(&ol->q, sizeof(nng_msg *));
	ol->url = xstrdup(url);
	ol->state_fn = fn;
	ol->state_arg = arg;
	ol->up = true;
	ol->wake[0] = ol->wake[1] = -1;
	ol->flush_ev = event_new(base, -1, 0, outlink_on_flush, ol);
	if (path != NULL) {
		ol->wake_ev = event_new(base, -1, 0, outlink_on_wake, ol);
		ol->ipc = ipc_dialer_new(base, path, outlink_on_ipc_hello, outlink_on_ipc_state, outlink_on_ipc_room, ol, &rc);
	} else {
		rc = -outlink_nng_open(ol, base, url);
	}
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
	if (ol->ev != NULL)
		event_free(ol->ev);
	event_free(ol->flush_ev);
	if (ol->batch != NULL)
		nng_msg_free(ol->batch);
	if (ol->ipc != NULL)
		ipc_dialer_free(ol->ipc);
	else if (nng_socket_id(ol->sock) > 0)
		nng_close(ol->sock); /* returns after nng's pipe callbacks are done */
	if (ol->wake_ev != NULL)
		event_free(ol->wake_ev);
	if (ol->wake[0] >= 0) {
		close(ol->wake[0]);
		close(ol->wake[1]);
	}
	for (size_t i = 0; i < ring_len(&ol->q); i++)
		nng_msg_free(*(nng_msg **)ring_at(&ol->q, i));
	ring_fini(&ol->q);
	free(ol->url);
	free(ol);
}

int
outlink_send(struct outlink *ol, nng_msg *msg)
{
	if (ring_len(&ol->q) >= ol->max_queue) {
		nng_msg_free(msg);
		return -ENOBUFS;
	}
	size_t n = nng_msg_len(msg);
	if (ol->batch != NULL && nng_msg_len(ol->batch) + n > OUTLINK_BATCH_MAX)
		outlink_flush(ol);
	if (ol->batch == NULL) {
		ol->batch = msg;
		event_active(ol->flush_ev, EV_TIMEOUT, 1);
		return 0;
	}
	if (nng_msg_append(ol->batch, nng_msg_body(msg), n) != 0)
		abort(); /* out of memory: see xmalloc.h */
	nng_msg_free(msg);
	return 0;
}

int
outlink_send_bytes(struct outlink *ol, const void *p, size_t n)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, n) != 0)
		abort(); /* out of memory: see xmalloc.h */
	if (n)
		memcpy(nng_msg_body(m), p, n);
	return outlink_send(ol, m);
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
