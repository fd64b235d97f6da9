/*
 * inbox — see inbox.h.
 */
#include "cluster/inbox.h"

#include <errno.h>
#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/ipc.h"
#include "cluster/seal.h"
#include "common/xmalloc.h"

/* Messages handled per readiness callback before yielding to other events,
 * so one busy peer cannot starve client sockets. */
#define INBOX_BATCH 256

struct inbox {
	struct cluster *cl;
	struct ipc_listener *ipc; /* an ipc:// inbox: our own framing (ipc.h) */
	nng_socket sock;          /* any other: nng pull0 */
	struct event *ev;
	inbox_fn *fn;
	void *arg;
	char *url;
};

/* ipc: a connection's hello must open as sealed for this inbox. */
static int
inbox_on_hello(void *arg, const void *p, size_t n)
{
	struct inbox *ib = arg;
	uint64_t from;
	int rc = cluster_open_bytes(ib->cl, p, n, ib->url, ib->url, &from);
	if (rc == 0 && (n - SEAL_TRAILER != strlen(IPC_HELLO_BODY) ||
		memcmp(p, IPC_HELLO_BODY, n - SEAL_TRAILER) != 0))
		rc = -EPROTO;
	return rc;
}

/* ipc: a frame of a connection whose hello opened carries no seal. */
static void
inbox_on_frame(void *arg, const void *p, size_t n)
{
	struct inbox *ib = arg;
	ib->fn(ib->arg, p, n);
}

static void
inbox_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct inbox *ib = arg;
	for (int i = 0; i < INBOX_BATCH; i++) {
		nng_msg *msg;
		uint64_t from;
		if (nng_recvmsg(ib->sock, &msg, NNG_FLAG_NONBLOCK) != 0)
			return;
		if (cluster_open(ib->cl, msg, ib->url, ib->url, &from) == 0)
			ib->fn(ib->arg, nng_msg_body(msg), nng_msg_len(msg));
		nng_msg_free(msg);
	}
	/* More may be waiting: the fd stays readable, the loop calls us again. */
}

struct inbox *
inbox_new(struct event_base *base, struct cluster *cl, const char *url, inbox_fn *fn, void *arg,
	int *err)
{
	struct inbox *ib = xcalloc(1, sizeof *ib);
	int rc, fd;

	ib->cl = cl;
	ib->fn = fn;
	ib->arg = arg;
	ib->url = xstrdup(url);
	if (ipc_path(url) != NULL) {
		ib->ipc = ipc_listen(base, ipc_path(url), inbox_on_hello, inbox_on_frame, ib, err);
		if (ib->ipc != NULL)
			return ib;
		free(ib->url);
		free(ib);
		return NULL;
	}
	if ((rc = cluster_errno(nng_pull0_open(&ib->sock))) != 0)
		goto fail_nosock;
	nng_socket_set_int(ib->sock, NNG_OPT_RECVBUF, 8192);
	nng_socket_set_size(ib->sock, NNG_OPT_RECVMAXSZ, 64u << 20);
	if ((rc = cluster_listen(cl, ib->sock, url)) != 0)
		goto fail;
	if ((rc = cluster_errno(nng_socket_get_int(ib->sock, NNG_OPT_RECVFD, &fd))) != 0)
		goto fail;
	ib->ev = event_new(base, fd, EV_READ | EV_PERSIST, inbox_on_readable, ib);
	event_add(ib->ev, NULL);
	return ib;
fail:
	nng_close(ib->sock);
fail_nosock:
	free(ib->url);
	free(ib);
	*err = rc;
	return NULL;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	if (ib->ipc != NULL) {
		ipc_listener_free(ib->ipc); /* removes the socket file */
	} else {
		event_free(ib->ev);
		nng_close(ib->sock);
	}
	free(ib->url);
	free(ib);
}
