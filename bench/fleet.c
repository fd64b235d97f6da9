/*
 * fleet — see fleet.h. One libevent loop, one event per connection; the
 * socket is read into one shared scratch buffer and frames are parsed in
 * place, so only a frame or a head cut by a read is copied (into the
 * connection's own buffer). Deadlines are checked by one sweep timer, not
 * a timer per connection.
 */
#include "bench/fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "bench/ctl.h"
#include "bench/wsc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/jwt.h"
#include "common/xmalloc.h"

#define MAX_FRAME (1u << 20)
#define SCRATCH (256u * 1024)

enum conn_state {
	CONN_IDLE,        /* not started */
	CONN_CONNECTING,  /* connect() in progress */
	CONN_UPGRADE,     /* request sent, waiting for the 101 */
	CONN_LOGIN,       /* waiting for the welcome or the login reply */
	CONN_READY,
	CONN_FAILED,      /* never got ready */
	CONN_CLOSED,      /* was ready, then closed */
};

struct conn {
	struct event ev;
	struct fleet *f;
	int fd;
	uint8_t state;
	bool writing;       /* ev also waits for EV_WRITE (out has bytes) */
	uint32_t idx;       /* global client index */
	uint64_t t_start;
	struct buf in;      /* a head or frame cut by a read */
	struct buf out;     /* bytes the socket did not take yet */
};

struct fleet {
	const struct fleet_opts *o;
	struct event_base *base;
	struct event *cmd_ev, *sweep_ev;
	int rep_fd;
	struct ctl_reader cmd;
	struct conn *conns;
	char key[25];
	char accept[29];
	uint32_t target;     /* clients to have started (CTL_CONNECT) */
	uint32_t started;
	uint32_t inflight;
	uint32_t done;        /* started clients that got ready or failed */
	bool pumping;
	bool connect_pending; /* a CTL_CONNECTED is owed */
	struct fleet_connected st;
	struct fleet_stats stats;
	uint8_t *seen;        /* unicast sequence numbers that arrived */
	uint32_t bcast_k;     /* broadcasts announced by CTL_EXPECT_BCAST */
	uint32_t bcast_bytes; /* bitmap bytes per connection */
	uint8_t *bseen;       /* per connection: broadcasts that arrived */
	uint64_t bcast_expect;
	bool bcast_pending;
	uint8_t scratch[SCRATCH];
};

static void conn_cb(evutil_socket_t fd, short what, void *arg);
static void pump(struct fleet *f);

static void
send_connected(struct fleet *f)
{
	if (!f->connect_pending || f->done < f->target)
		return;
	f->connect_pending = false;
	(void)ctl_send(f->rep_fd, CTL_CONNECTED, &f->st, sizeof(f->st));
}

static void
check_bcast(struct fleet *f)
{
	if (f->bcast_pending && f->stats.bcast >= f->bcast_expect) {
		f->bcast_pending = false;
		(void)ctl_send(f->rep_fd, CTL_BCAST_DONE, &f->stats.t_last, sizeof(f->stats.t_last));
	}
}

/* Closes the socket. A client that was ready counts as closed, one that
 * was not as failed (the caller counted why). */
static void
conn_close(struct conn *c)
{
	struct fleet *f = c->f;
	event_del(&c->ev);
	close(c->fd);
	c->fd = -1;
	buf_fini(&c->in);
	buf_fini(&c->out);
	if (c->state == CONN_READY) {
		c->state = CONN_CLOSED;
		f->stats.closed++;
		f->stats.ready--;
		f->st.ready--;
		/* its broadcasts will never come: do not wait for them */
		if (f->bcast_pending && f->bcast_expect >= f->bcast_k)
			f->bcast_expect -= f->bcast_k;
		check_bcast(f);
		return;
	}
	c->state = CONN_FAILED;
	f->st.failed++;
	f->done++;
	f->inflight--;
	pump(f);
	send_connected(f);
}

static void
conn_ready(struct conn *c, uint64_t now)
{
	struct fleet *f = c->f;
	c->state = CONN_READY;
	f->st.ready++;
	f->stats.ready++;
	f->st.t_last_ready = now;
	hist_record(&f->st.setup, now - c->t_start);
	f->done++;
	f->inflight--;
	pump(f);
	send_connected(f);
}

static void
conn_arm(struct conn *c, short what)
{
	event_del(&c->ev);
	event_assign(&c->ev, c->f->base, c->fd, what, conn_cb, c);
	event_add(&c->ev, NULL);
}

/* Writes or queues bytes; false when the socket failed (c is closed). */
static bool
conn_send(struct conn *c, const void *p, size_t len)
{
	if (c->out.len == 0) {
		ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (w < 0)
			w = 0;
		p = (const uint8_t *)p + w;
		len -= (size_t)w;
		if (len == 0)
			return true;
	}
	buf_append(&c->out, p, len);
	if (!c->writing) {
		c->writing = true;
		conn_arm(c, EV_READ | EV_WRITE | EV_PERSIST);
	}
	return true;
}

static bool
conn_send_frame(struct conn *c, int opcode, const void *p, size_t len)
{
	uint8_t fr[256 + 4096 + WSC_MAX_HEADER];
	size_t n = wsc_frame(fr, sizeof(fr), opcode, p, len, (uint32_t)random());
	return n > 0 && conn_send(c, fr, n);
}

static char *
token_for(struct fleet *f, const char *uid)
{
	int64_t now = (int64_t)time(NULL);
	return jwt_sign(f->o->token_secret, uid, now, now + 3600, NULL, 0);
}

/* The path with %u and %t filled in. */
static void
expand_path(struct fleet *f, const char *uid, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = f->o->path; *p != '\0' && o + 1 < cap; p++) {
		if (p[0] == '%' && (p[1] == 'u' || p[1] == 't')) {
			char *tok = p[1] == 't' && f->o->token_secret ? token_for(f, uid) : NULL;
			const char *v = p[1] == 'u' ? uid : tok ? tok : "";
			size_t vl = strlen(v);
			if (o + vl >= cap)
				vl = cap - o - 1;
			memcpy(out + o, v, vl);
			o += vl;
			free(tok);
			p++;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

static void
uid_of(struct fleet *f, uint32_t idx, char *out, size_t cap)
{
	snprintf(out, cap, "%s%u", f->o->uid_prefix, idx);
}

static void
send_login(struct conn *c)
{
	struct fleet *f = c->f;
	char uid[64], msg[4096];
	uid_of(f, c->idx, uid, sizeof(uid));
	int n;
	if (f->o->token_secret != NULL) {
		char *tok = token_for(f, uid);
		n = snprintf(msg, sizeof(msg), "{\"type\":\"login\",\"token\":\"%s\"}", tok ? tok : "");
		free(tok);
	} else {
		n = snprintf(msg, sizeof(msg), "{\"type\":\"login\",\"uid\":\"%s\"}", uid);
	}
	if (n <= 0 || (size_t)n >= sizeof(msg) || !conn_send_frame(c, WSC_TEXT, msg, (size_t)n)) {
		f->st.failed_login++;
		conn_close(c);
	}
}

static uint64_t
parse_u64(const uint8_t **pp, const uint8_t *end)
{
	uint64_t v = 0;
	const uint8_t *p = *pp;
	while (p < end && *p == ' ')
		p++;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*pp = p;
	return v;
}

static void
on_push(struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	struct fleet *f = c->f;
	const uint8_t *end = p + len, *q = p + 1;
	uint64_t seq = parse_u64(&q, end);
	uint64_t t = parse_u64(&q, end);
	uint64_t to = parse_u64(&q, end);
	if (to != c->idx) {
		f->stats.misrouted++;
		return;
	}
	if (seq >= f->o->max_seq) {
		f->stats.other++;
		return;
	}
	if (f->seen[seq >> 3] & (1u << (seq & 7))) {
		f->stats.duplicated++;
		return;
	}
	f->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
	f->stats.unicast++;
	f->stats.t_last = now;
	hist_record(&f->stats.lat, now > t ? now - t : 0);
}

static void
on_bcast(struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	struct fleet *f = c->f;
	const uint8_t *end = p + len, *q = p + 1;
	uint64_t k = parse_u64(&q, end);
	uint64_t t = parse_u64(&q, end);
	if (k >= f->bcast_k || f->bseen == NULL) {
		f->stats.other++;
		return;
	}
	uint8_t *bits = f->bseen + (size_t)(c->idx - f->o->first) * f->bcast_bytes;
	if (bits[k >> 3] & (1u << (k & 7))) {
		f->stats.bcast_dup++;
		return;
	}
	bits[k >> 3] |= (uint8_t)(1u << (k & 7));
	f->stats.bcast++;
	f->stats.t_last = now;
	hist_record(&f->stats.lat, now > t ? now - t : 0);
	check_bcast(f);
}

static bool
contains(const uint8_t *p, size_t len, const char *s)
{
	return memmem(p, len, s, strlen(s)) != NULL;
}

/* A text or binary message; false when c was closed. */
static bool
on_message(struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	struct fleet *f = c->f;
	if (c->state == CONN_READY) {
		if (len > 0 && p[0] == 'U')
			on_push(c, p, len, now);
		else if (len > 0 && p[0] == 'B')
			on_bcast(c, p, len, now);
		else
			f->stats.other++;
		return true;
	}
	/* CONN_LOGIN */
	if (contains(p, len, "\"type\":\"login\"")) {
		if (contains(p, len, "\"ok\":true")) {
			conn_ready(c, now);
			return true;
		}
	} else if (contains(p, len, "\"type\":\"welcome\"")) {
		if (f->o->login == FLEET_LOGIN_MESSAGE) {
			send_login(c);
			return c->fd >= 0;
		}
	} else if (!contains(p, len, "\"type\":\"error\"")) {
		return true; /* something else before the login reply: wait on */
	}
	f->st.failed_login++;
	conn_close(c);
	return false;
}

/* Parses frames from p; returns the bytes taken, or -1 when c was closed. */
static ssize_t
on_frames(struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	size_t off = 0;
	while (off < len) {
		struct wsc_frame fr;
		int n = wsc_parse(p + off, len - off, MAX_FRAME, &fr);
		if (n == 0)
			break;
		if (n < 0) {
			conn_close(c);
			return -1;
		}
		off += (size_t)n;
		switch (fr.opcode) {
		case WSC_TEXT:
		case WSC_BINARY:
			if (!on_message(c, fr.payload, fr.len, now))
				return -1;
			break;
		case WSC_PING:
			if (!conn_send_frame(c, WSC_PONG, fr.payload, fr.len)) {
				conn_close(c);
				return -1;
			}
			break;
		case WSC_CLOSE:
			if (c->state == CONN_READY && fr.len >= 2)
				c->f->stats.last_close = (uint16_t)(fr.payload[0] << 8 | fr.payload[1]);
			if (c->state != CONN_READY)
				c->f->st.failed_login++;
			conn_close(c);
			return -1;
		default: /* pong, or a continuation we do not assemble */
			if (c->state == CONN_READY)
				c->f->stats.other++;
			break;
		}
	}
	return (ssize_t)off;
}

/* The 101 and whatever came after it; -1 when c was closed. */
static ssize_t
on_upgrade(struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	struct fleet *f = c->f;
	int status;
	int n = wsc_response((const char *)p, len, f->accept, &status);
	if (n == 0)
		return 0;
	if (n < 0) {
		f->st.failed_upgrade++;
		f->st.last_status = status;
		conn_close(c);
		return -1;
	}
	if (f->o->login == FLEET_LOGIN_NONE)
		conn_ready(c, now);
	else
		c->state = CONN_LOGIN;
	ssize_t m = on_frames(c, p + n, len - (size_t)n, now);
	return m < 0 ? -1 : n + m;
}

static void
conn_input(struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	bool copied = c->in.len > 0;
	if (copied) {
		buf_append(&c->in, p, len);
		p = (const uint8_t *)c->in.p;
		len = c->in.len;
	}
	ssize_t used = c->state == CONN_UPGRADE ? on_upgrade(c, p, len, now) : on_frames(c, p, len, now);
	if (used < 0)
		return;
	if (copied)
		buf_consume(&c->in, (size_t)used);
	else if ((size_t)used < len)
		buf_append(&c->in, p + used, len - (size_t)used);
}

static void
conn_connected(struct conn *c)
{
	struct fleet *f = c->f;
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err != 0) {
		f->st.failed_connect++;
		f->st.last_errno = err;
		conn_close(c);
		return;
	}
	char uid[64], path[4096], req[8192], host[64];
	uid_of(f, c->idx, uid, sizeof(uid));
	expand_path(f, uid, path, sizeof(path));
	snprintf(host, sizeof(host), "%s:%u", f->o->host, f->o->port);
	int n = wsc_request(req, sizeof(req), host, path, f->key);
	c->state = CONN_UPGRADE;
	conn_arm(c, EV_READ | EV_PERSIST);
	if (n < 0 || !conn_send(c, req, (size_t)n)) {
		f->st.failed_connect++;
		f->st.last_errno = errno;
		conn_close(c);
	}
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct fleet *f = c->f;
	if (c->state == CONN_CONNECTING) {
		conn_connected(c);
		return;
	}
	if (what & EV_WRITE && c->out.len > 0) {
		ssize_t w = send(fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			conn_close(c);
			return;
		}
		if (w > 0)
			buf_consume(&c->out, (size_t)w);
		if (c->out.len == 0) {
			c->writing = false;
			conn_arm(c, EV_READ | EV_PERSIST);
		}
	}
	if (!(what & EV_READ))
		return;
	uint64_t now = clock_ns();
	for (int rounds = 0; rounds < 4 && c->fd >= 0; rounds++) {
		ssize_t n = recv(fd, f->scratch, SCRATCH, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (c->state == CONN_UPGRADE)
				f->st.failed_upgrade++;
			else if (c->state == CONN_LOGIN)
				f->st.failed_login++;
			conn_close(c);
			return;
		}
		conn_input(c, f->scratch, (size_t)n, now);
		if ((size_t)n < SCRATCH)
			return;
	}
}

static void
conn_start(struct fleet *f, struct conn *c)
{
	c->t_start = clock_ns();
	c->state = CONN_CONNECTING;
	f->inflight++;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		goto fail;
	c->fd = fd;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Take the source port at connect() time, from the 4-tuple, instead
	 * of reserving one per address at bind(): lets one source address
	 * hold ~28k connections per server port. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	/* Close with a reset: a run leaves no TIME_WAIT behind (~30,000 of
	 * them after a compare.sh round), which the next run's connect()
	 * would have to step over when it looks for a free port. */
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001u + c->idx % f->o->sources);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		goto fail;
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(f->o->port)};
	inet_pton(AF_INET, f->o->host, &dst.sin_addr);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)
		goto fail;
	event_assign(&c->ev, f->base, fd, EV_WRITE, conn_cb, c);
	event_add(&c->ev, NULL);
	return;
fail:
	f->st.failed_connect++;
	f->st.last_errno = errno;
	if (fd < 0) {
		c->state = CONN_FAILED;
		f->st.failed++;
		f->done++;
		f->inflight--;
		return;
	}
	event_assign(&c->ev, f->base, fd, EV_WRITE, conn_cb, c);
	conn_close(c);
}

/* Starts clients up to the target and the concurrency. A client that
 * fails at once calls back in here; the flag keeps that flat. */
static void
pump(struct fleet *f)
{
	if (f->pumping)
		return;
	f->pumping = true;
	while (f->started < f->target && f->inflight < f->o->concurrency)
		conn_start(f, &f->conns[f->started++]);
	f->pumping = false;
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	uint64_t now = clock_ns();
	for (uint32_t i = 0; i < f->started; i++) {
		struct conn *c = &f->conns[i];
		if (c->state >= CONN_CONNECTING && c->state <= CONN_LOGIN &&
			now - c->t_start > f->o->timeout_ns) {
			f->st.failed_timeout++;
			conn_close(c);
		}
	}
}

static void
expect_bcast(struct fleet *f, uint32_t k)
{
	free(f->bseen);
	f->bcast_k = k;
	f->bcast_bytes = (k + 7) / 8;
	f->bseen = xcalloc((size_t)f->o->count, f->bcast_bytes ? f->bcast_bytes : 1);
	f->stats.bcast = 0;
	f->stats.bcast_dup = 0;
	f->bcast_expect = (uint64_t)k * f->stats.ready;
	f->bcast_pending = true;
	hist_init(&f->stats.lat);
	check_bcast(f);
}

static void
report(struct fleet *f)
{
	f->stats.seq_bytes = (f->o->max_seq + 7) / 8;
	struct buf b = BUF_INIT;
	buf_append(&b, &f->stats, sizeof(f->stats));
	buf_append(&b, f->seen, f->stats.seq_bytes);
	(void)ctl_send(f->rep_fd, CTL_STATS, b.p, b.len);
	buf_fini(&b);
}

static void
cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	int n = ctl_read(&f->cmd, fd);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		event_base_loopbreak(f->base);
		return;
	}
	uint32_t kind, v = 0;
	const uint8_t *p;
	size_t len;
	while (ctl_next(&f->cmd, &kind, &p, &len)) {
		if (len >= sizeof(v))
			memcpy(&v, p, sizeof(v));
		switch (kind) {
		case CTL_CONNECT:
			f->target = v < f->o->count ? v : f->o->count;
			if (f->target < f->started)
				f->target = f->started;
			f->connect_pending = true;
			hist_init(&f->st.setup);
			pump(f);
			send_connected(f);
			break;
		case CTL_EXPECT_BCAST:
			expect_bcast(f, v);
			break;
		case CTL_REPORT:
			report(f);
			break;
		case CTL_QUIT:
			event_base_loopbreak(f->base);
			return;
		}
	}
}

int
fleet_run(const struct fleet_opts *o, int cmd_fd, int rep_fd)
{
	struct fleet *f = xcalloc(1, sizeof(*f));
	f->o = o;
	f->rep_fd = rep_fd;
	f->base = event_base_new();
	f->conns = xcalloc(o->count ? o->count : 1, sizeof(*f->conns));
	for (uint32_t i = 0; i < o->count; i++) {
		f->conns[i].f = f;
		f->conns[i].fd = -1;
		f->conns[i].idx = o->first + i;
	}
	f->seen = xcalloc((size_t)(o->max_seq + 7) / 8 + 1, 1);
	hist_init(&f->st.setup);
	hist_init(&f->stats.lat);
	/* One random key per process (RFC 6455 §4.1 asks for a nonce per
	 * connection; the server cannot tell, and one accept check is cheaper). */
	srandom((unsigned)(getpid() ^ clock_ns()));
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (int i = 0; i < 21; i++)
		f->key[i] = b64[random() & 63];
	f->key[21] = b64[random() & 48];
	memcpy(f->key + 22, "==", 3);
	wsc_accept_for(f->key, f->accept);

	fcntl(cmd_fd, F_SETFL, fcntl(cmd_fd, F_GETFL) | O_NONBLOCK);
	f->cmd_ev = event_new(f->base, cmd_fd, EV_READ | EV_PERSIST, cmd_cb, f);
	event_add(f->cmd_ev, NULL);
	f->sweep_ev = event_new(f->base, -1, EV_PERSIST, sweep_cb, f);
	struct timeval tv = {0, 250000};
	event_add(f->sweep_ev, &tv);
	event_base_dispatch(f->base);

	for (uint32_t i = 0; i < o->count; i++)
		if (f->conns[i].fd >= 0) {
			event_del(&f->conns[i].ev);
			close(f->conns[i].fd);
			buf_fini(&f->conns[i].in);
			buf_fini(&f->conns[i].out);
		}
	event_free(f->cmd_ev);
	event_free(f->sweep_ev);
	event_base_free(f->base);
	ctl_reader_fini(&f->cmd);
	free(f->conns);
	free(f->seen);
	free(f->bseen);
	free(f);
	return 0;
}
