/*
 * ws_server — see ws_server.h.
 *
 * Life of a connection:
 *   accept → HANDSHAKE (on the handshake list) → 101 → OPEN (active/pinged
 *   lists) → CLOSING (close frame queued; closing list) → DEAD (fd closed,
 *   on_close called) → freed at the end of the loop turn.
 * Input: one read buffer shared by all connections feeds ws_parser, which
 * delivers whole messages in place when they arrive in one read.
 * Output: frames (application frames shared by reference, pongs and closes
 * of our own) queue per connection and are written in ws_after_turn with one
 * writev per connection. A frame that came from a push is timed (push→write,
 * ws_server.h) when the writev that hands its last byte to the kernel returns.
 *
 * A plain HTTP request: HANDSHAKE → CLOSING with `plain` set (the response
 * queued like a frame; back on the handshake list, restamped, so the
 * handshake sweep bounds the rest of its life) → our side shut down once
 * the response is out → DEAD at the peer's EOF. Closing only after the
 * peer's EOF (a "lingering close") keeps a reset from destroying the
 * response in flight when the peer sent more than we read.
 *
 * A POST (only with on_post): its head is framed by http1_parse
 * (Content-Length only: chunked gets 411), then the head buffer grows to
 * hold exactly head and body. An answer on_post leaves pending keeps the
 * connection in CLOSING with `plain` and `pending` set and nothing queued:
 * input is read and dropped as after a response, a half-close is noted,
 * and ws_answer queues the response like a plain one. on_request_end, owed
 * once the application took the request (req_end), is the application's
 * cue to stop waiting for an answer: it comes from ws_kill, whatever ends
 * the connection first.
 */
#include "gateway/ws_server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/net.h"
#include "common/ring.h"
#include "common/xmalloc.h"
#include "http/http1.h"
#include "http/http_reply.h"
#include "ws/ws_handshake.h"
#include "ws/ws_parser.h"

#define WS_CLOSING_GRACE_MS 2000
#define WS_SWEEP_MS 250
#define WS_IOV_MAX 64
#define WS_READ_BUF 65536
#define WS_READS_PER_EVENT 4

enum ws_list { L_NONE, L_HANDSHAKE, L_ACTIVE, L_PINGED, L_CLOSING, L_DEAD, L__N };
enum ws_state { S_HANDSHAKE, S_OPEN, S_CLOSING, S_DEAD };

struct ws_conn {
	struct ws_server *srv;
	struct ws_conn *prev, *next; /* on lists[list] */
	uint64_t t;                  /* when it entered its list (ms) */
	struct event ev;
	int fd;
	uint8_t list, state;
	bool want_write, dirty, opened;
	bool close_sent, close_received, failing;
	bool plain, wr_shut;         /* a plain HTTP request; our side shut down */
	bool peer_eof;               /* plain: the peer shut its side, read no more */
	bool req_end;                /* on_request_end is owed (the application took it) */
	bool pending;                /* a POST waiting for ws_answer */
	uint32_t post_len;           /* a POST: its head and body, in bytes; 0 = not yet known */
	uint16_t close_code;         /* received; 0 when the close had no code */
	struct buf *head;            /* request head; freed after the upgrade */
	struct ws_parser parser;
	struct ring outq;            /* struct ws_out *, oldest first */
	uint32_t out_off;            /* bytes of the front frame already written */
	size_t out_bytes;
	void *user;
};

struct ws_list_head {
	struct ws_conn *head, *tail;
};

struct ws_server {
	struct event_base *base;
	const struct config *cfg;
	const struct ws_ops *ops;
	void *arg;
	int lfd, spare_fd;
	struct event *accept_ev, *sweep_ev, *turn_ev;
	struct ws_list_head lists[L__N];
	struct ws_conn **dirty;
	size_t ndirty, dirty_cap;
	uint8_t *rbuf;               /* one read buffer for all connections */
	size_t count;
	bool turn_armed, shutting_down;
	struct ws_out *ping;
	struct ws_stats st;
};

/* ---- lists -------------------------------------------------------------- */

static void
ws_unlink(struct ws_conn *c)
{
	struct ws_list_head *l = &c->srv->lists[c->list];
	if (c->list == L_NONE)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->list = L_NONE;
}

static void
ws_move(struct ws_conn *c, enum ws_list to, uint64_t now)
{
	ws_unlink(c);
	struct ws_list_head *l = &c->srv->lists[to];
	c->list = (uint8_t)to;
	c->t = now;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

/* ---- push→write latency ------------------------------------------------- */

const uint64_t ws_push_write_bounds_us[WS_PUSH_WRITE_BUCKETS] = {
	50, 100, 250, 500,                          /* µs */
	1000, 2500, 5000, 10000, 25000, 50000,      /* ms */
	100000, 250000, 500000, 1000000, 2500000, 5000000,
};

/* The first bucket whose bound is >= us (WS_PUSH_WRITE_BUCKETS: over all of
 * them), by binary search: four comparisons for sixteen bounds. */
static unsigned
ws_push_write_bucket(uint64_t us)
{
	unsigned lo = 0, hi = WS_PUSH_WRITE_BUCKETS;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (ws_push_write_bounds_us[mid] < us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
ws_observe_push_write(struct ws_stats *st, uint64_t now_us, uint64_t pushed_us)
{
	uint64_t us = now_us > pushed_us ? now_us - pushed_us : 0;
	st->push_write[ws_push_write_bucket(us)]++;
	st->push_write_count++;
	st->push_write_sum_us += us;
}

/* ---- end of loop turn: write, then free the dead ------------------------ */

static void ws_flush(struct ws_conn *c);
static void ws_on_io(evutil_socket_t fd, short what, void *arg);

static void
ws_arm_turn(struct ws_server *s)
{
	if (!s->turn_armed) {
		s->turn_armed = true;
		event_active(s->turn_ev, EV_TIMEOUT, 0);
	}
}

static void
ws_mark_dirty(struct ws_conn *c)
{
	struct ws_server *s = c->srv;
	if (c->dirty || c->state == S_DEAD)
		return;
	c->dirty = true;
	if (s->ndirty == s->dirty_cap) {
		s->dirty_cap = s->dirty_cap ? s->dirty_cap * 2 : 256;
		s->dirty = xrealloc(s->dirty, s->dirty_cap * sizeof *s->dirty);
	}
	s->dirty[s->ndirty++] = c;
	ws_arm_turn(s);
}

static void
ws_free_conn(struct ws_conn *c)
{
	while (ring_len(&c->outq) > 0) {
		ws_out_unref(*(struct ws_out **)ring_front(&c->outq));
		ring_pop(&c->outq);
	}
	ring_fini(&c->outq);
	ws_parser_fini(&c->parser);
	if (c->head) {
		buf_fini(c->head);
		free(c->head);
	}
	free(c);
}

static void
ws_after_turn(evutil_socket_t fd, short what, void *arg)
{
	struct ws_server *s = arg;
	s->turn_armed = false;
	/* Invariant: a connection is in s->dirty at most once (c->dirty) and
	 * never once dead (ws_mark_dirty). ws_flush may kill its connection,
	 * and on_close may then send to others, appending them to s->dirty;
	 * the loop re-reads s->ndirty (and s->dirty, which may move), so they
	 * are flushed in this same turn. When it ends, no connection is dirty. */
	for (size_t i = 0; i < s->ndirty; i++) {
		struct ws_conn *c = s->dirty[i];
		c->dirty = false;
		if (c->state != S_DEAD)
			ws_flush(c);
	}
	s->ndirty = 0;
	struct ws_conn *c;
	while ((c = s->lists[L_DEAD].head) != NULL) {
		if (c->dirty) /* never, by the invariant above; a dirty one is never freed */
			break;
		ws_unlink(c);
		ws_free_conn(c);
	}
	if (s->lists[L_DEAD].head != NULL || s->ndirty > 0)
		ws_arm_turn(s);
}

/* ---- death -------------------------------------------------------------- */

static void
ws_kill(struct ws_conn *c, uint16_t code)
{
	struct ws_server *s = c->srv;
	if (c->state == S_DEAD)
		return;
	c->state = S_DEAD;
	event_del(&c->ev);
	close(c->fd);
	c->fd = -1;
	ws_move(c, L_DEAD, 0);
	s->count--;
	s->st.closed++;
	if (c->opened)
		s->ops->on_close(s->arg, c, code);
	else if (c->req_end)
		s->ops->on_request_end(s->arg, c);
	ws_arm_turn(s);
}

/* What on_close reports: the peer's code, 1005 for a close without one
 * (RFC 6455 §7.1.5), 1006 when no close arrived. */
static uint16_t
ws_received_code(const struct ws_conn *c)
{
	if (!c->close_received)
		return WS_CLOSE_ABNORMAL;
	return c->close_code ? c->close_code : 1005;
}

/* ---- output ------------------------------------------------------------- */

static void
ws_arm(struct ws_conn *c)
{
	short what = (short)((c->peer_eof ? 0 : EV_READ) | (c->want_write ? EV_WRITE : 0));
	event_del(&c->ev);
	if (what == 0)
		return;
	event_assign(&c->ev, c->srv->base, c->fd, what | EV_PERSIST, ws_on_io, c);
	event_add(&c->ev, NULL);
}

static void
ws_set_events(struct ws_conn *c, bool want_write)
{
	if (c->want_write == want_write || c->state == S_DEAD)
		return;
	c->want_write = want_write;
	ws_arm(c);
}

static void
ws_enqueue(struct ws_conn *c, struct ws_out *f)
{
	*(struct ws_out **)ring_push(&c->outq) = f;
	c->out_bytes += f->len;
	ws_mark_dirty(c);
}

/* The close handshake is complete when our close frame is written and the
 * peer's was received (RFC 6455 §7.1.1: then the server closes TCP). */
static void
ws_check_closed(struct ws_conn *c)
{
	if (ring_len(&c->outq) > 0 || !c->close_sent)
		return;
	if (c->plain) {
		/* The response is out: tell the peer, then wait for its EOF
		 * (unless it came already). */
		if (c->peer_eof || (!c->wr_shut && shutdown(c->fd, SHUT_WR) != 0))
			ws_kill(c, WS_CLOSE_ABNORMAL);
		c->wr_shut = true;
		return;
	}
	/* After failing the connection (§7.1.7) we do not wait for the
	 * peer's close: the TCP connection ends once our close is out. */
	if (c->close_received || c->failing)
		ws_kill(c, ws_received_code(c));
}

static void
ws_flush(struct ws_conn *c)
{
	struct ws_server *s = c->srv;
	while (ring_len(&c->outq) > 0) {
		struct iovec iov[WS_IOV_MAX];
		int n = 0;
		for (size_t i = 0; i < ring_len(&c->outq) && n < WS_IOV_MAX; i++) {
			struct ws_out *f = *(struct ws_out **)ring_at(&c->outq, i);
			size_t off = i == 0 ? c->out_off : 0;
			iov[n].iov_base = f->data + off;
			iov[n].iov_len = f->len - off;
			n++;
		}
		ssize_t w = writev(c->fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ws_set_events(c, true);
				return;
			}
			if (errno == EINTR)
				continue;
			ws_kill(c, ws_received_code(c));
			return;
		}
		s->st.bytes_out += (uint64_t)w;
		size_t left = (size_t)w;
		uint64_t now_us = 0; /* read once per writev, only when needed */
		while (left > 0 && ring_len(&c->outq) > 0) {
			struct ws_out *f = *(struct ws_out **)ring_front(&c->outq);
			size_t rest = f->len - c->out_off;
			if (left < rest) {
				c->out_off += (uint32_t)left;
				left = 0;
				break;
			}
			left -= rest;
			c->out_off = 0;
			c->out_bytes -= f->len;
			ring_pop(&c->outq);
			s->st.frames_out++;
			if (f->pushed_us != 0) {
				if (now_us == 0)
					now_us = clock_wall_us();
				ws_observe_push_write(&s->st, now_us, f->pushed_us);
			}
			ws_out_unref(f);
		}
	}
	ws_set_events(c, false);
	ws_check_closed(c);
}

int
ws_send(struct ws_conn *c, struct ws_out *f)
{
	if (c->state != S_OPEN)
		return -EPIPE;
	if (c->out_bytes + f->len > c->srv->cfg->gateway_max_output) {
		c->srv->st.closed_slow++;
		log_info("slow_consumer", "queued=%zu limit=%llu", c->out_bytes,
			(unsigned long long)c->srv->cfg->gateway_max_output);
		/* Keep only a frame already partly written (framing must stay
		 * intact), then say why and close. */
		while (ring_len(&c->outq) > (c->out_off ? 1u : 0u)) {
			struct ws_out *last = *(struct ws_out **)ring_at(&c->outq, ring_len(&c->outq) - 1);
			c->out_bytes -= last->len;
			ws_out_unref(last);
			ring_pop_back(&c->outq);
		}
		ws_close(c, WS_CLOSE_POLICY, "slow consumer");
		return -ENOBUFS;
	}
	ws_enqueue(c, ws_out_ref(f));
	return 0;
}

/* Queues our close frame; nothing may follow it (§5.5.1). */
static void
ws_send_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	if (c->close_sent)
		return;
	c->close_sent = true;
	ws_enqueue(c, code ? ws_frame_new_close(code, reason) : ws_frame_new(WS_OP_CLOSE, NULL, 0));
	if (c->state == S_OPEN) {
		c->state = S_CLOSING;
		ws_move(c, L_CLOSING, clock_ms());
	}
}

void
ws_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	if (c->state == S_OPEN)
		ws_send_close(c, code, reason);
}

/* ---- parser callbacks ---------------------------------------------------- */

static void
ws_cb_message(void *arg, const uint8_t *data, size_t len, bool binary)
{
	struct ws_conn *c = arg;
	if (c->state != S_OPEN)
		return; /* after our close: ignored (§1.4) */
	c->srv->st.messages_in++;
	c->srv->ops->on_message(c->srv->arg, c, data, len, binary);
}

static void
ws_cb_ping(void *arg, const uint8_t *data, size_t len)
{
	struct ws_conn *c = arg;
	if (!c->close_sent)
		ws_enqueue(c, ws_frame_new(WS_OP_PONG, data, len)); /* §5.5.3 */
}

static void
ws_cb_pong(void *arg, const uint8_t *data, size_t len)
{
	/* Activity was already noted; an unsolicited pong needs no answer. */
}

static void
ws_cb_close(void *arg, uint16_t code, const uint8_t *reason, size_t len)
{
	struct ws_conn *c = arg;
	c->close_received = true;
	c->close_code = code;
	/* §5.5.1: answer with a close, echoing the code. */
	ws_send_close(c, code, NULL);
}

static const struct ws_parser_ops ws_parser_ops = {
	ws_cb_message,
	ws_cb_ping,
	ws_cb_pong,
	ws_cb_close,
};

/* Feeds bytes to the parser; fails the connection on a violation. */
static void
ws_feed(struct ws_conn *c, uint8_t *data, size_t len)
{
	uint16_t rc = ws_parser_feed(&c->parser, data, len, &ws_parser_ops, c);
	if (rc != 0 && !c->failing) {
		c->failing = true;
		if (rc == WS_CLOSE_TOO_BIG)
			c->srv->st.closed_too_big++;
		else
			c->srv->st.closed_protocol++;
		ws_send_close(c, rc, NULL);
	}
}

/* ---- input -------------------------------------------------------------- */

static void
ws_refuse(struct ws_conn *c, int status)
{
	struct buf b = BUF_INIT;
	ws_handshake_refuse(status, &b);
	ssize_t w = write(c->fd, b.p, b.len); /* best effort: we close anyway */
	(void)w;
	buf_fini(&b);
	c->srv->st.refused_handshake++;
	ws_kill(c, WS_CLOSE_ABNORMAL);
}

static void
ws_read_frames(struct ws_conn *c)
{
	struct ws_server *s = c->srv;
	bool got = false;
	for (int i = 0; i < WS_READS_PER_EVENT && c->state != S_DEAD; i++) {
		ssize_t r = read(c->fd, s->rbuf, WS_READ_BUF);
		if (r > 0) {
			got = true;
			s->st.bytes_in += (uint64_t)r;
			if (!c->failing && !c->close_received && !c->plain)
				ws_feed(c, s->rbuf, (size_t)r);
			if ((size_t)r < WS_READ_BUF)
				break;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r == 0 && c->plain && (ring_len(&c->outq) > 0 || c->pending)) {
			/* A half-close after the request: the answer still goes
			 * out, then the connection ends (ws_check_closed). */
			c->peer_eof = true;
			ws_arm(c);
			return;
		}
		ws_kill(c, ws_received_code(c)); /* EOF or reset */
		return;
	}
	if (got && (c->list == L_ACTIVE || c->list == L_PINGED))
		ws_move(c, L_ACTIVE, clock_ms());
}

static void
ws_free_head(struct ws_conn *c)
{
	if (c->head != NULL) {
		buf_fini(c->head);
		free(c->head);
		c->head = NULL;
	}
}

/* A plain request is answered or about to be: what is read from now on is
 * dropped, and the handshake list bounds the rest of its life. */
static void
ws_plain(struct ws_conn *c)
{
	c->plain = true;
	c->state = S_CLOSING;
	ws_move(c, L_HANDSHAKE, clock_ms());
	ws_free_head(c);
}

/* Queues the response to a plain request, then the lingering close (see
 * the top of the file). */
static void
ws_plain_response(struct ws_conn *c, const void *data, size_t len)
{
	ws_plain(c);
	c->close_sent = true; /* nothing may follow the response */
	ws_enqueue(c, ws_out_new(data, len));
}

/* A plain request: the application's response, then the lingering close.
 * Bytes after the head are ignored. */
static void
ws_respond(struct ws_conn *c, const struct ws_handshake *req)
{
	struct ws_server *s = c->srv;
	struct buf out = BUF_INIT;
	int refuse = s->shutting_down ? 503 : s->ops->on_request(s->arg, c, req, &out);
	if (refuse != 0) {
		buf_fini(&out);
		ws_refuse(c, refuse);
		return;
	}
	s->st.plain_requests++;
	c->req_end = true;
	ws_plain_response(c, out.p, out.len);
	buf_fini(&out);
}

/* A POST refused before the application saw it, in the HTTP API's JSON
 * error shape, with a lingering close: the peer may still be sending the
 * body we will not read, and an abrupt close would reset the answer away. */
static void
ws_refuse_post(struct ws_conn *c, int status)
{
	struct buf body = BUF_INIT, out = BUF_INIT;
	const char *code = status == 411 ? "length_required" :
		status == 413 || status == 431 ? "too_large" : "bad_request";
	_Static_assert(WS_MAX_BODY == 4096, "the 413 message names the limit");
	const char *message = status == 413 ? "the body is longer than 4096 bytes" :
		status == 411 ? "a body needs a Content-Length (no chunked bodies)" :
		"malformed or unsupported HTTP request";
	http_reply_error_body(&body, code, message);
	http_reply_write(&out, status,
		&(struct http_reply){.content_type = "application/json", .connection = "close"},
		body.p, body.len);
	c->srv->st.refused_handshake++;
	ws_plain_response(c, out.p, out.len);
	buf_fini(&out);
	buf_fini(&body);
}

/* A POST whose head and body are in: to on_post. */
static void
ws_post(struct ws_conn *c)
{
	struct ws_server *s = c->srv;
	struct http1_req hr;
	int hl = http1_parse(c->head->p, c->head->len, &hr); /* as in ws_read_head */
	struct ws_post req;
	int n_type, n_origin;
	memset(&req, 0, sizeof req);
	req.path = hr.path;
	req.query = hr.query;
	req.content_type = http1_header(&hr, "Content-Type", &n_type);
	req.origin = http1_header(&hr, "Origin", &n_origin);
	req.forwarded_for = http1_header(&hr, "X-Forwarded-For", NULL);
	req.body = c->head->p + hl;
	req.body_len = (size_t)hr.content_length;
	if (n_type > 1 || n_origin > 1) {
		ws_refuse_post(c, 400); /* which one would count? */
		return;
	}
	struct buf out = BUF_INIT;
	int rc = s->shutting_down ? 503 : s->ops->on_post(s->arg, c, &req, &out);
	if (rc != 0 && rc != WS_PENDING) {
		buf_fini(&out);
		ws_refuse(c, rc);
		return;
	}
	s->st.plain_requests++;
	c->req_end = true;
	if (rc == WS_PENDING) {
		c->pending = true;
		ws_plain(c); /* restamped: the answer gets handshake_timeout */
	} else {
		ws_plain_response(c, out.p, out.len);
	}
	buf_fini(&out);
}

/* A POST's head or body came in: on to on_post once the body is whole. */
static void
ws_read_post(struct ws_conn *c, bool eof)
{
	if (c->head->len < c->post_len) {
		if (eof) /* hung up before the end of the body */
			ws_kill(c, WS_CLOSE_ABNORMAL);
		return;
	}
	ws_post(c);
	if (eof && c->state != S_DEAD) {
		c->peer_eof = true;
		ws_arm(c);
	}
}

/* A POST whose request line is good (the handshake refused it with 405,
 * as it refuses every method but GET and HEAD): hl and hr are
 * http1_parse's verdict on its head, which knows Content-Length. */
static void
ws_post_head(struct ws_conn *c, int hl, const struct http1_req *hr, bool eof)
{
	if (hl < 0) {
		ws_refuse_post(c, hr->status);
		return;
	}
	if (hr->content_length > WS_MAX_BODY) {
		ws_refuse_post(c, 413);
		return;
	}
	c->post_len = (uint32_t)hl + (uint32_t)hr->content_length;
	if (hr->expect_continue && c->head->len < c->post_len) {
		struct buf cont = BUF_INIT;
		http_reply_write(&cont, 100, NULL, NULL, 0);
		ws_enqueue(c, ws_out_new(cont.p, cont.len));
		buf_fini(&cont);
	}
	ws_read_post(c, eof);
}

int
ws_answer(struct ws_conn *c, const void *data, size_t len)
{
	if (!c->pending || c->state == S_DEAD)
		return -EPIPE;
	c->pending = false;
	ws_plain_response(c, data, len);
	return 0;
}

static void
ws_read_head(struct ws_conn *c)
{
	struct ws_server *s = c->srv;
	struct buf *h = c->head;
	bool eof = false;
	/* A head; once a POST's head is known, exactly its head and body. */
	size_t limit = c->post_len ? c->post_len : HTTP1_MAX_HEAD + 1;
	if (h->len < limit)
		buf_reserve(h, limit - h->len);
	for (;;) {
		size_t room = h->len < limit ? limit - h->len : 0;
		if (room == 0)
			break;
		ssize_t r = read(c->fd, h->p + h->len, room);
		if (r > 0) {
			h->len += (size_t)r;
			s->st.bytes_in += (uint64_t)r;
			if ((size_t)r < room)
				break; /* all the socket had: no read that would say EAGAIN */
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r == 0 && h->len > 0) {
			eof = true; /* a plain request may be followed by a half-close */
			break;
		}
		ws_kill(c, WS_CLOSE_ABNORMAL); /* EOF or error before the upgrade */
		return;
	}
	h->p[h->len] = '\0';
	if (c->post_len != 0) {
		ws_read_post(c, eof);
		return;
	}
	struct http1_req hr;
	struct ws_handshake req;
	int hl = http1_parse(h->p, h->len, &hr);
	/* The handshake judges a whole head, and the request line of a head
	 * whose fields failed (target set): a POST then learns it is one. */
	int rc = hl > 0 || hr.target.p != NULL ? ws_handshake_check(&hr, &req) : 0;
	if (hl > 0 && rc == 0 && req.plain) {
		ws_respond(c, &req);
		if (eof && c->state != S_DEAD) {
			c->peer_eof = true;
			ws_arm(c);
		}
		return;
	}
	if (rc != 0 && req.status == 405 && hr.method == HTTP1_POST && s->ops->on_post != NULL) {
		ws_post_head(c, hl, &hr, eof);
		return;
	}
	if (eof) {
		/* Nobody waits for an upgrade, or for the rest of a head, after
		 * hanging up (RFC 6455 §4.1: the client keeps its side open). */
		ws_kill(c, WS_CLOSE_ABNORMAL);
		return;
	}
	if (hl == 0)
		return;
	if (hl < 0 || rc != 0) {
		ws_refuse(c, hl < 0 ? hr.status : req.status);
		return;
	}
	if (s->shutting_down) {
		ws_refuse(c, 503);
		return;
	}
	int refuse = s->ops->on_upgrade(s->arg, c, &req);
	if (refuse != 0) {
		ws_refuse(c, refuse);
		return;
	}
	struct buf resp = BUF_INIT;
	ws_handshake_reply_101(&req, &resp);
	ws_enqueue(c, ws_out_new(resp.p, resp.len));
	buf_fini(&resp);
	ws_parser_init(&c->parser, s->cfg->gateway_max_message);
	c->state = S_OPEN;
	c->opened = true;
	ws_move(c, L_ACTIVE, clock_ms());
	s->st.opened++;
	s->ops->on_open(s->arg, c, &req);
	/* Frames sent right behind the request head. */
	if (c->state == S_OPEN && h->len > req.head_len)
		ws_feed(c, (uint8_t *)h->p + req.head_len, h->len - req.head_len);
	ws_free_head(c);
}

static void
ws_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct ws_conn *c = arg;
	if (what & EV_WRITE) {
		ws_flush(c);
		if (c->state == S_DEAD)
			return;
	}
	if (what & EV_READ) {
		if (c->state == S_HANDSHAKE)
			ws_read_head(c);
		else
			ws_read_frames(c);
	}
}

static void
ws_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct ws_server *s = arg;
	for (int i = 0; i < 128; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno; /* net_shed's own calls would overwrite it */
			if (err == EMFILE || err == ENFILE) {
				net_shed(lfd, &s->spare_fd);
				s->st.refused_full++;
			} else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
				log_warn("accept_failed", "errno=%d", err);
			}
			return;
		}
		ws_server_adopt(s, fd);
	}
}

int
ws_server_adopt(struct ws_server *s, int fd)
{
	s->st.accepted++;
	if (s->count >= s->cfg->gateway_max_connections || s->shutting_down) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
					   "Content-Length: 0\r\nConnection: close\r\n\r\n";
		ssize_t w = write(fd, busy, sizeof busy - 1);
		(void)w;
		close(fd);
		s->st.refused_full++;
		return -EMFILE;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct ws_conn *c = xcalloc(1, sizeof *c);
	c->srv = s;
	c->fd = fd;
	ring_init(&c->outq, sizeof(struct ws_out *));
	c->state = S_HANDSHAKE;
	c->head = xmalloc(sizeof *c->head);
	buf_init(c->head);
	event_assign(&c->ev, s->base, fd, EV_READ | EV_PERSIST, ws_on_io, c);
	event_add(&c->ev, NULL);
	ws_move(c, L_HANDSHAKE, clock_ms());
	s->count++;
	return 0;
}

/* ---- the sweep: pings, idle and slow handshakes, stuck closes ----------- */

static void
ws_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct ws_server *s = arg;
	const struct config *cfg = s->cfg;
	uint64_t now = clock_ms();
	struct ws_conn *c;

	while ((c = s->lists[L_HANDSHAKE].head) != NULL &&
		now - c->t >= cfg->gateway_handshake_timeout_ms) {
		if (!c->plain)
			s->st.refused_handshake++;
		ws_kill(c, WS_CLOSE_ABNORMAL);
	}
	while ((c = s->lists[L_ACTIVE].head) != NULL && now - c->t >= cfg->gateway_ping_interval_ms) {
		ws_move(c, L_PINGED, now);
		ws_send(c, s->ping);
	}
	uint64_t grace = cfg->gateway_idle_timeout_ms - cfg->gateway_ping_interval_ms;
	while ((c = s->lists[L_PINGED].head) != NULL && now - c->t >= grace) {
		s->st.closed_idle++;
		ws_close(c, WS_CLOSE_GOING_AWAY, "idle timeout");
	}
	while ((c = s->lists[L_CLOSING].head) != NULL && now - c->t >= WS_CLOSING_GRACE_MS)
		ws_kill(c, ws_received_code(c));
}

/* ---- server ------------------------------------------------------------- */

struct ws_server *
ws_server_new(struct event_base *base, const struct config *c, int fd, const struct ws_ops *ops,
	void *arg)
{
	struct ws_server *s = xcalloc(1, sizeof *s);
	s->base = base;
	s->cfg = c;
	s->ops = ops;
	s->arg = arg;
	s->lfd = fd;
	s->spare_fd = net_spare_fd();
	s->ping = ws_frame_new(WS_OP_PING, NULL, 0);
	s->accept_ev = event_new(base, fd, EV_READ | EV_PERSIST, ws_on_accept, s);
	event_add(s->accept_ev, NULL);
	s->sweep_ev = event_new(base, -1, EV_PERSIST, ws_on_sweep, s);
	struct timeval tv = {0, WS_SWEEP_MS * 1000};
	event_add(s->sweep_ev, &tv);
	s->turn_ev = event_new(base, -1, 0, ws_after_turn, s);
	s->rbuf = xmalloc(WS_READ_BUF);
	return s;
}

void
ws_server_shutdown(struct ws_server *s, uint16_t code, const char *reason)
{
	s->shutting_down = true;
	if (s->accept_ev != NULL) {
		event_free(s->accept_ev);
		s->accept_ev = NULL;
		close(s->lfd);
		s->lfd = -1;
	}
	struct ws_conn *c;
	while ((c = s->lists[L_HANDSHAKE].head) != NULL)
		ws_kill(c, WS_CLOSE_ABNORMAL);
	for (int l = L_ACTIVE; l <= L_PINGED; l++)
		while ((c = s->lists[l].head) != NULL)
			ws_close(c, code, reason);
}

void
ws_server_free(struct ws_server *s)
{
	if (s == NULL)
		return;
	struct ws_conn *c;
	for (int l = L_HANDSHAKE; l < L_DEAD; l++)
		while ((c = s->lists[l].head) != NULL)
			ws_kill(c, WS_CLOSE_ABNORMAL);
	while ((c = s->lists[L_DEAD].head) != NULL) {
		ws_unlink(c);
		ws_free_conn(c);
	}
	if (s->accept_ev != NULL) {
		event_free(s->accept_ev);
		close(s->lfd);
	}
	event_free(s->sweep_ev);
	event_free(s->turn_ev);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	ws_out_unref(s->ping);
	free(s->rbuf);
	free(s->dirty);
	free(s);
}

size_t
ws_server_count(const struct ws_server *s)
{
	return s->count;
}

const struct ws_stats *
ws_server_stats(const struct ws_server *s)
{
	return &s->st;
}

bool
ws_is_open(const struct ws_conn *c)
{
	return c->state == S_OPEN;
}

void
ws_set_user(struct ws_conn *c, void *user)
{
	c->user = user;
}

void *
ws_user(const struct ws_conn *c)
{
	return c->user;
}

const char *
ws_peer_ip(const struct ws_conn *c, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	out[0] = '\0';
	if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &len) != 0)
		return out;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)n);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)n);
	return out;
}

