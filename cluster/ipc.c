/*
 * ipc — see ipc.h.
 */
#include "cluster/ipc.h"

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "common/xmalloc.h"

#define IPC_RETRY_MIN_MS 50
#define IPC_RETRY_MAX_MS 1000
#define IPC_BACKLOG 128
#define IPC_WARN_EVERY_MS 1000
#define IPC_HELLO_MAX 256 /* a sealed IPC_HELLO_BODY is 58 bytes */
/* Connections that have not passed their hello yet, at most: a dialer
 * writes its hello with the connect, so only something that is not a
 * member waits here; the oldest is closed to make room. */
#define IPC_MAX_PENDING 16

const char *
ipc_path(const char *url)
{
	return strncmp(url, "ipc://", 6) == 0 ? url + 6 : NULL;
}

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- dialer ------------------------------------------------------------ */

struct ipc_dialer {
	struct event_base *base;
	struct sockaddr_un sa;
	int fd;                 /* -1 while not connected */
	struct event *rev;      /* EOF or error on fd: the peer went away */
	struct event *wev;      /* armed while out holds bytes */
	struct event *retry;    /* next connect attempt */
	uint32_t retry_ms;
	struct buf out;         /* bytes not yet written, from out_off */
	size_t out_off;
	bool refused;           /* a send said -EAGAIN since room was last called */
	ipc_hello_fn *hello_fn;
	ipc_state_fn *state_fn;
	ipc_room_fn *room_fn;
	void *arg;
};

static void ipc_dialer_connect(struct ipc_dialer *d);

static void
ipc_dialer_on_retry(evutil_socket_t fd, short what, void *arg)
{
	ipc_dialer_connect(arg);
}

static void
ipc_dialer_schedule(struct ipc_dialer *d)
{
	struct timeval tv = {d->retry_ms / 1000, (d->retry_ms % 1000) * 1000};
	evtimer_add(d->retry, &tv);
	d->retry_ms = d->retry_ms * 2 > IPC_RETRY_MAX_MS ? IPC_RETRY_MAX_MS : d->retry_ms * 2;
}

/* The connection broke (or the peer wrote to us, which it never does). */
static void
ipc_dialer_drop(struct ipc_dialer *d)
{
	event_del(d->rev);
	event_del(d->wev);
	close(d->fd);
	d->fd = -1;
	buf_reset(&d->out);
	d->out_off = 0;
	ipc_dialer_schedule(d);
	if (d->state_fn != NULL)
		d->state_fn(d->arg, false);
}

/* Writes what out holds. 0, or -1 when the connection broke (dropped). */
static int
ipc_dialer_flush(struct ipc_dialer *d)
{
	while (d->out_off < d->out.len) {
		ssize_t w = write(d->fd, d->out.p + d->out_off, d->out.len - d->out_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(d->wev, NULL);
			return 0;
		}
		if (w <= 0) {
			ipc_dialer_drop(d);
			return -1;
		}
		d->out_off += (size_t)w;
	}
	/* Drained: a burst's big buffer is not kept for an idle link. */
	if (d->out.cap > IPC_READ_MAX) {
		buf_fini(&d->out);
		buf_init(&d->out);
	}
	buf_reset(&d->out);
	d->out_off = 0;
	event_del(d->wev);
	return 0;
}

static void
ipc_dialer_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_dialer *d = arg;
	if (ipc_dialer_flush(d) != 0 || d->out.len != 0)
		return;
	if (d->refused) {
		d->refused = false;
		d->room_fn(d->arg);
	}
}

static void
ipc_dialer_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_dialer *d = arg;
	char sink[64];
	ssize_t r = read(fd, sink, sizeof sink);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	ipc_dialer_drop(d);
}

static void
ipc_dialer_connect(struct ipc_dialer *d)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ipc_dialer_schedule(d);
		return;
	}
	/* A unix stream connect completes at once or fails (EAGAIN: the
	 * listener's backlog is full); either way there is nothing to wait for. */
	if (connect(fd, (struct sockaddr *)&d->sa, sizeof d->sa) != 0) {
		close(fd);
		ipc_dialer_schedule(d);
		return;
	}
	d->fd = fd;
	d->retry_ms = IPC_RETRY_MIN_MS;
	event_assign(d->rev, d->base, fd, EV_READ | EV_PERSIST, ipc_dialer_on_readable, d);
	event_assign(d->wev, d->base, fd, EV_WRITE | EV_PERSIST, ipc_dialer_on_writable, d);
	event_add(d->rev, NULL);
	struct buf hello = BUF_INIT;
	d->hello_fn(d->arg, &hello);
	unsigned char hdr[4];
	put_u32(hdr, (uint32_t)hello.len);
	buf_append(&d->out, IPC_MAGIC, IPC_MAGIC_LEN);
	buf_append(&d->out, hdr, sizeof hdr);
	buf_append(&d->out, hello.p, hello.len);
	buf_fini(&hello);
	if (ipc_dialer_flush(d) != 0)
		return;
	if (d->state_fn != NULL)
		d->state_fn(d->arg, true);
	d->refused = false;
	d->room_fn(d->arg);
}

struct ipc_dialer *
ipc_dialer_new(struct event_base *base, const char *path, ipc_hello_fn *hello, ipc_state_fn *state,
	ipc_room_fn *room, void *arg, int *err)
{
	struct ipc_dialer *d = xcalloc(1, sizeof *d);
	int rc = net_unix_addr(path, &d->sa);
	if (rc != 0) {
		free(d);
		*err = rc;
		return NULL;
	}
	d->base = base;
	d->fd = -1;
	d->retry_ms = IPC_RETRY_MIN_MS;
	d->hello_fn = hello;
	d->state_fn = state;
	d->room_fn = room;
	d->arg = arg;
	buf_init(&d->out);
	d->rev = event_new(base, -1, 0, ipc_dialer_on_readable, d);
	d->wev = event_new(base, -1, 0, ipc_dialer_on_writable, d);
	d->retry = evtimer_new(base, ipc_dialer_on_retry, d);
	/* First attempt from the loop, so callbacks never run inside _new. */
	event_active(d->retry, EV_TIMEOUT, 1);
	return d;
}

void
ipc_dialer_free(struct ipc_dialer *d)
{
	if (d == NULL)
		return;
	event_free(d->rev);
	event_free(d->wev);
	event_free(d->retry);
	if (d->fd >= 0)
		close(d->fd);
	buf_fini(&d->out);
	free(d);
}

bool
ipc_dialer_connected(const struct ipc_dialer *d)
{
	return d->fd >= 0;
}

int
ipc_dialer_send(struct ipc_dialer *d, const void *p, size_t n)
{
	unsigned char hdr[4];
	if (d->fd < 0 || d->out.len - d->out_off >= IPC_OUT_MAX) {
		d->refused = true;
		return -EAGAIN;
	}
	put_u32(hdr, (uint32_t)n);
	if (d->out.len == d->out_off) {
		/* Nothing waiting: straight to the socket, keep what did not fit. */
		struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)p, n}};
		ssize_t w;
		do
			w = writev(d->fd, iov, 2);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			/* Broken: the frame goes with the connection, as a frame
			 * written just before the break would. */
			ipc_dialer_drop(d);
			return 0;
		}
		size_t done = w < 0 ? 0 : (size_t)w;
		buf_reset(&d->out);
		d->out_off = 0;
		if (done < sizeof hdr)
			buf_append(&d->out, hdr + done, sizeof hdr - done);
		size_t body_done = done > sizeof hdr ? done - sizeof hdr : 0;
		if (body_done < n)
			buf_append(&d->out, (const char *)p + body_done, n - body_done);
		if (d->out.len != 0)
			event_add(d->wev, NULL);
		return 0;
	}
	buf_append(&d->out, hdr, sizeof hdr);
	buf_append(&d->out, p, n);
	return 0;
}

/* ---- listener ---------------------------------------------------------- */

struct ipc_conn {
	struct ipc_listener *l;
	int fd;
	struct event *ev;
	struct buf in;      /* bytes read, not yet taken as frames */
	bool magic;         /* the magic was read */
	bool authed;        /* the hello was read and let us in */
	struct ipc_conn *prev, *next;
};

struct ipc_listener {
	struct event_base *base;
	int fd;
	struct event *ev;
	char *path;
	ipc_auth_fn *auth;
	ipc_frame_fn *fn;
	void *arg;
	struct ipc_conn *conns;  /* newest first */
	unsigned pending;        /* of them not authenticated yet */
	uint64_t last_warn;
};

static void
ipc_conn_free(struct ipc_conn *c)
{
	struct ipc_listener *l = c->l;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (!c->authed)
		l->pending--;
	event_free(c->ev);
	close(c->fd);
	buf_fini(&c->in);
	free(c);
}

static void
ipc_refuse(struct ipc_conn *c, const char *reason)
{
	uint64_t now = clock_ms();
	if (now - c->l->last_warn >= IPC_WARN_EVERY_MS || c->l->last_warn == 0) {
		c->l->last_warn = now;
		log_warn("ipc_refused", "path=%s reason=%s", c->l->path, reason);
	}
	ipc_conn_free(c);
}

/* Takes the complete frames out of c->in. 0, or -1 when c was refused
 * (and freed). */
static int
ipc_conn_frames(struct ipc_conn *c)
{
	const unsigned char *p = (const unsigned char *)c->in.p;
	size_t off = 0, len = c->in.len;
	if (!c->magic) {
		if (len < IPC_MAGIC_LEN)
			return 0;
		if (memcmp(p, IPC_MAGIC, IPC_MAGIC_LEN) != 0) {
			ipc_refuse(c, "bad_hello");
			return -1;
		}
		c->magic = true;
		off = IPC_MAGIC_LEN;
	}
	while (len - off >= 4) {
		uint32_t n = get_u32(p + off);
		if (n > (c->authed ? IPC_FRAME_MAX : IPC_HELLO_MAX)) {
			ipc_refuse(c, "frame_too_large");
			return -1;
		}
		if (len - off - 4 < n)
			break;
		const unsigned char *frame = p + off + 4;
		off += 4 + (size_t)n;
		if (c->authed) {
			c->l->fn(c->l->arg, frame, n);
		} else if (c->l->auth(c->l->arg, frame, n) == 0) {
			c->authed = true;
			c->l->pending--;
		} else {
			ipc_refuse(c, "hello_refused");
			return -1;
		}
	}
	buf_consume(&c->in, off);
	/* A big frame's buffer is not kept for an idle link. */
	if (c->in.len == 0 && c->in.cap > 2 * IPC_READ_MAX) {
		buf_fini(&c->in);
		buf_init(&c->in);
	}
	return 0;
}

static void
ipc_conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_conn *c = arg;
	size_t want = IPC_READ_MAX;
	/* Read a whole frame in one go when its header says it is bigger. */
	if (c->authed && c->in.len >= 4) {
		size_t n = (size_t)get_u32((const unsigned char *)c->in.p) + 4;
		if (n > c->in.len && n - c->in.len > want && n <= IPC_FRAME_MAX + 4)
			want = n - c->in.len;
	}
	buf_reserve(&c->in, want);
	ssize_t r = read(fd, c->in.p + c->in.len, want);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		ipc_conn_free(c); /* the dialer went away; a partial frame with it */
		return;
	}
	c->in.len += (size_t)r;
	c->in.p[c->in.len] = '\0';
	ipc_conn_frames(c);
}

static void
ipc_listener_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_listener *l = arg;
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or out of fds: the dialer retries */
		if (l->pending >= IPC_MAX_PENDING) {
			struct ipc_conn *old = NULL;
			for (struct ipc_conn *o = l->conns; o != NULL; o = o->next)
				if (!o->authed)
					old = o;
			ipc_refuse(old, "no_hello");
		}
		struct ipc_conn *c = xcalloc(1, sizeof *c);
		l->pending++;
		c->l = l;
		c->fd = cfd;
		buf_init(&c->in);
		c->ev = event_new(l->base, cfd, EV_READ | EV_PERSIST, ipc_conn_on_readable, c);
		event_add(c->ev, NULL);
		c->next = l->conns;
		if (l->conns != NULL)
			l->conns->prev = c;
		l->conns = c;
	}
}

/* Binds fd to sa, replacing a socket file nobody listens on any more. */
static int
ipc_bind(int fd, const struct sockaddr_un *sa)
{
	if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	int rc = connect(probe, (const struct sockaddr *)sa, sizeof *sa);
	int e = errno;
	close(probe);
	if (rc == 0 || e != ECONNREFUSED)
		return -EADDRINUSE;
	unlink(sa->sun_path);
	if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0)
		return -errno;
	return 0;
}

struct ipc_listener *
ipc_listen(struct event_base *base, const char *path, ipc_auth_fn *auth, ipc_frame_fn *fn, void *arg,
	int *err)
{
	struct sockaddr_un sa;
	int arc = net_unix_addr(path, &sa);
	if (arc != 0) {
		*err = arc;
		return NULL;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	int rc = ipc_bind(fd, &sa);
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = -errno;
	if (rc == 0 && listen(fd, IPC_BACKLOG) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		*err = rc;
		return NULL;
	}
	struct ipc_listener *l = xcalloc(1, sizeof *l);
	l->base = base;
	l->fd = fd;
	l->path = xstrdup(path);
	l->auth = auth;
	l->fn = fn;
	l->arg = arg;
	l->ev = event_new(base, fd, EV_READ | EV_PERSIST, ipc_listener_on_accept, l);
	event_add(l->ev, NULL);
	return l;
}

void
ipc_listener_free(struct ipc_listener *l)
{
	if (l == NULL)
		return;
	while (l->conns != NULL)
		ipc_conn_free(l->conns);
	event_free(l->ev);
	close(l->fd);
	unlink(l->path);
	free(l->path);
	free(l);
}
