/*
 * publish — see publish.h. Each connection keeps the requests it has in
 * flight in a ring, in order; answers come back in the same order (the
 * push port promises it, and HTTP/1.1 pipelining does), so the n-th
 * answer belongs to the ring's head.
 */
#include "bench/publish.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xmalloc.h"

#define BCAST_BIT (1ull << 63)

struct pconn {
	struct publisher *p;
	int fd;
	struct event *ev;
	bool writing;
	struct buf out;
	struct buf in;
	uint64_t *ring;   /* seq, or k | BCAST_BIT, of requests in flight */
	size_t head, n, cap;
};

struct publisher {
	const struct publish_opts *o;
	struct event_base *base;
	struct pconn *c;
	unsigned next;         /* round-robin for unicasts */
	uint8_t *acked;        /* bitmap over unicast seq */
	struct publish_stats st;
	char first_error[256];
	char host[64];         /* Host header */
};

static void
ring_push(struct pconn *c, uint64_t v)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		uint64_t *r = xmalloc(ncap * sizeof(*r));
		for (size_t i = 0; i < c->n; i++)
			r[i] = c->ring[(c->head + i) % c->cap];
		free(c->ring);
		c->ring = r;
		c->head = 0;
		c->cap = ncap;
	}
	c->ring[(c->head + c->n++) % c->cap] = v;
}

static bool
ring_pop(struct pconn *c, uint64_t *v)
{
	if (c->n == 0)
		return false;
	*v = c->ring[c->head];
	c->head = (c->head + 1) % c->cap;
	c->n--;
	return true;
}

static void
note_error(struct publisher *p, const char *what, size_t len)
{
	if (p->first_error[0] == '\0')
		snprintf(p->first_error, sizeof(p->first_error), "%.*s", (int)len, what);
}

/* One answer for the request at the ring's head. */
static void
answer(struct pconn *c, bool ok, uint64_t delivered)
{
	struct publisher *p = c->p;
	uint64_t v;
	if (!ring_pop(c, &v)) {
		p->st.errors++;
		note_error(p, "an answer without a request", 29);
		return;
	}
	p->st.replies++;
	p->st.t_last_reply = clock_ns();
	if (!ok) {
		p->st.errors++;
		return;
	}
	p->st.deliveries += delivered;
	if (delivered == 0) {
		p->st.offline++;
		return;
	}
	p->st.acked++;
	if (!(v & BCAST_BIT) && v < p->o->max_seq)
		p->acked[v >> 3] |= (uint8_t)(1u << (v & 7));
}

static uint64_t
number_after(const char *s, size_t len, const char *key)
{
	const char *k = memmem(s, len, key, strlen(key));
	if (k == NULL)
		return 0;
	k += strlen(key);
	while (k < s + len && *k == ' ')
		k++;
	uint64_t v = 0;
	while (k < s + len && *k >= '0' && *k <= '9')
		v = v * 10 + (uint64_t)(*k++ - '0');
	return v;
}

static void
json_answer(struct pconn *c, const char *s, size_t len)
{
	bool ok = memmem(s, len, "\"ok\":true", 9) != NULL;
	if (!ok)
		note_error(c->p, s, len);
	answer(c, ok, ok ? number_after(s, len, "\"delivered\":") : 0);
}

/* Push port answers: one line each. Returns bytes taken. */
static size_t
parse_lines(struct pconn *c, const char *s, size_t len)
{
	size_t off = 0;
	for (;;) {
		const char *nl = memchr(s + off, '\n', len - off);
		if (nl == NULL)
			return off;
		json_answer(c, s + off, (size_t)(nl - (s + off)));
		off = (size_t)(nl - s) + 1;
	}
}

/* HTTP/1.1 answers with Content-Length bodies. Returns bytes taken, or
 * (size_t)-1 on an answer it cannot frame. */
static size_t
parse_http(struct pconn *c, const char *s, size_t len)
{
	size_t off = 0;
	for (;;) {
		const char *head = s + off;
		const char *end = memmem(head, len - off, "\r\n\r\n", 4);
		if (end == NULL)
			return off;
		size_t hlen = (size_t)(end - head) + 4;
		if (hlen < 12 || memcmp(head, "HTTP/1.", 7) != 0)
			return (size_t)-1;
		int status = atoi(head + 9);
		uint64_t clen = 0;
		const char *cl = NULL;
		for (const char *l = head; l < end; l++)
			if (*l == '\n' && strncasecmp(l + 1, "content-length:", 15) == 0)
				cl = l + 16;
		if (cl != NULL)
			clen = strtoull(cl, NULL, 10);
		else if (memmem(head, hlen, "chunked", 7) != NULL)
			return (size_t)-1;
		if (len - off - hlen < clen)
			return off;
		const char *body = head + hlen;
		if (c->p->o->mode == PUBLISH_NCHAN) {
			/* 201: queued to subscribers; 202: none */
			if (status == 201)
				answer(c, true, number_after(body, clen, "subscribers:"));
			else if (status == 202)
				answer(c, true, 0);
			else {
				note_error(c->p, head, hlen + clen);
				answer(c, false, 0);
			}
		} else {
			json_answer(c, body, clen);
		}
		off += hlen + clen;
	}
}

static void
conn_dead(struct pconn *c, const char *why)
{
	struct publisher *p = c->p;
	note_error(p, why, strlen(why));
	uint64_t v;
	while (ring_pop(c, &v))
		p->st.errors++;
	event_del(c->ev);
	close(c->fd);
	c->fd = -1;
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	if (what & EV_WRITE && c->out.len > 0) {
		ssize_t w = send(fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			conn_dead(c, "publisher: write failed");
			return;
		}
		if (w > 0)
			buf_consume(&c->out, (size_t)w);
		if (c->out.len == 0 && c->writing) {
			c->writing = false;
			event_del(c->ev);
			event_assign(c->ev, c->p->base, fd, EV_READ | EV_PERSIST, conn_cb, c);
			event_add(c->ev, NULL);
		}
	}
	if (!(what & EV_READ))
		return;
	for (;;) {
		buf_reserve(&c->in, 65536);
		ssize_t n = recv(fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_dead(c, "publisher: the server closed the connection");
			return;
		}
		c->in.len += (size_t)n;
		size_t used = c->p->o->mode == PUBLISH_PUSH ? parse_lines(c, c->in.p, c->in.len)
							    : parse_http(c, c->in.p, c->in.len);
		if (used == (size_t)-1) {
			conn_dead(c, "publisher: an HTTP answer it cannot frame");
			return;
		}
		buf_consume(&c->in, used);
	}
}

struct publisher *
publish_new(struct event_base *base, const struct publish_opts *o)
{
	struct publisher *p = xcalloc(1, sizeof(*p));
	p->o = o;
	p->base = base;
	p->acked = xcalloc((size_t)(o->max_seq + 7) / 8 + 1, 1);
	p->c = xcalloc(o->conns, sizeof(*p->c));
	snprintf(p->host, sizeof(p->host), "%s:%u", o->host, o->port);
	for (unsigned i = 0; i < o->conns; i++)
		p->c[i].fd = -1;
	for (unsigned i = 0; i < o->conns; i++) {
		struct pconn *c = &p->c[i];
		c->p = p;
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o->port)};
		inet_pton(AF_INET, o->host, &a.sin_addr);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		evutil_make_socket_nonblocking(c->fd);
		c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, conn_cb, c);
		event_add(c->ev, NULL);
	}
	return p;
fail:;
	int err = errno;
	publish_free(p);
	errno = err;
	return NULL;
}

void
publish_free(struct publisher *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->o->conns; i++) {
		struct pconn *c = &p->c[i];
		if (c->ev != NULL)
			event_free(c->ev);
		if (c->fd >= 0)
			close(c->fd);
		buf_fini(&c->out);
		buf_fini(&c->in);
		free(c->ring);
	}
	free(p->c);
	free(p->acked);
	free(p);
}

/* Appends one request for target (uid or channel) with payload. */
static void
request(struct publisher *p, struct pconn *c, bool bcast, const char *target, const char *payload)
{
	const struct publish_opts *o = p->o;
	if (o->mode == PUBLISH_NCHAN) {
		char path[512];
		const char *pct = strstr(o->pub_path, "%u");
		if (pct != NULL)
			snprintf(path, sizeof(path), "%.*s%s%s", (int)(pct - o->pub_path), o->pub_path,
				target, pct + 2);
		else
			snprintf(path, sizeof(path), "%s", o->pub_path);
		buf_printf(&c->out, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n\r\n%s",
			path, p->host, strlen(payload), payload);
		return;
	}
	char body[512];
	const char *type;
	if (!bcast) {
		type = "send_to_uid";
		snprintf(body, sizeof(body), "\"uid\":\"%s\",\"data\":\"%s\"", target, payload);
	} else if (o->group != NULL) {
		type = "send_to_group";
		snprintf(body, sizeof(body), "\"group\":\"%s\",\"data\":\"%s\"", o->group, payload);
	} else {
		type = "send_to_all";
		snprintf(body, sizeof(body), "\"data\":\"%s\"", payload);
	}
	if (o->mode == PUBLISH_PUSH)
		buf_printf(&c->out, "{\"type\":\"%s\",%s}\n", type, body);
	else
		buf_printf(&c->out,
			"POST /api/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
			"Content-Length: %zu\r\n\r\n{%s}",
			type, p->host, strlen(body) + 2, body);
}

void
publish_unicast(struct publisher *p, uint64_t seq, uint32_t to, uint64_t t_ns)
{
	struct pconn *c = &p->c[p->next++ % p->o->conns];
	p->st.sent++;
	if (c->fd < 0) {
		p->st.errors++;
		return;
	}
	char uid[64], payload[96];
	snprintf(uid, sizeof(uid), "%s%u", p->o->uid_prefix, to);
	snprintf(payload, sizeof(payload), "U%llu %llu %u", (unsigned long long)seq,
		(unsigned long long)t_ns, to);
	request(p, c, false, uid, payload);
	ring_push(c, seq);
}

void
publish_broadcast(struct publisher *p, uint32_t k, uint64_t t_ns)
{
	struct pconn *c = &p->c[0];
	p->st.sent++;
	if (c->fd < 0) {
		p->st.errors++;
		return;
	}
	char payload[96];
	/* padded to 30 bytes, the size of the unicast payloads */
	snprintf(payload, sizeof(payload), "B%u %llu ..............................", k,
		(unsigned long long)t_ns);
	payload[30] = '\0';
	request(p, c, true, p->o->group ? p->o->group : "all", payload);
	ring_push(c, k | BCAST_BIT);
}

void
publish_flush(struct publisher *p)
{
	for (unsigned i = 0; i < p->o->conns; i++) {
		struct pconn *c = &p->c[i];
		if (c->fd < 0 || c->out.len == 0 || c->writing)
			continue;
		ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			conn_dead(c, "publisher: write failed");
			continue;
		}
		if (w > 0)
			buf_consume(&c->out, (size_t)w);
		if (c->out.len > p->st.max_queued)
			p->st.max_queued = c->out.len;
		if (c->out.len > 0) {
			c->writing = true;
			event_del(c->ev);
			event_assign(c->ev, p->base, c->fd, EV_READ | EV_WRITE | EV_PERSIST, conn_cb, c);
			event_add(c->ev, NULL);
		}
	}
}

const struct publish_stats *
publish_stats(const struct publisher *p)
{
	return &p->st;
}

bool
publish_acked(const struct publisher *p, uint64_t seq)
{
	return seq < p->o->max_seq && (p->acked[seq >> 3] & (1u << (seq & 7)));
}

const char *
publish_first_error(const struct publisher *p)
{
	return p->first_error;
}
