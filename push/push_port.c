/*
 * push_port — see push_port.h.
 *
 * Requests in flight live in one ring indexed by request id (ids grow by
 * one, every request has the same timeout, so the oldest is always the next
 * to expire and the ring never fragments). Each connection keeps the FIFO of
 * its requests in arrival order; a reply is written only when every earlier
 * request of that connection has been written, which is what keeps replies in
 * request order while workers answer in any order. A request of
 * push_port_submit has no connection: its slot names a callback instead.
 * Either consumer is detached by clearing it (a connection killed,
 * push_port_cancel), and a slot without one frees itself when answered, so
 * a late reply never reaches a consumer that is gone.
 *
 * This file is the port itself: listening, the ring, connection lifetime and
 * I/O, and the JSON-lines framing. The HTTP framing (http.listen) is in
 * push_http.c; push_port_int.h is what the two share.
 */
#include "push/push_port.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/ct.h"
#include "common/log.h"
#include "common/net.h"
#include "common/ring.h"
#include "common/xmalloc.h"
#include "push/push_cmd.h"
#include "push/push_port_int.h"

#define PP_SWEEP_MS 100
#define PP_READ_CHUNK 65536

enum pp_slot_state { SLOT_FREE = 0, SLOT_WAITING, SLOT_DONE };

struct pp_slot {
	uint64_t id;
	struct pp_conn *conn; /* NULL when the connection went away */
	push_done_fn *done;   /* push_port_submit's consumer; NULL: conn's, or none */
	void *done_arg;
	json_t *jid;
	uint8_t type;
	uint8_t state;
	char *line;
	size_t len;
	uint64_t deadline;
};

static void pp_on_io(evutil_socket_t fd, short what, void *arg);
static void pp_read(struct pp_conn *c);

/* ---- connection lifetime ------------------------------------------------ */

static void
pp_set_events(struct pp_conn *c)
{
	short want = (short)((c->paused ? 0 : EV_READ) | (c->want_write ? EV_WRITE : 0));
	event_del(&c->ev);
	event_assign(&c->ev, c->pp->base, c->fd, want | EV_PERSIST, pp_on_io, c);
	if (want)
		event_add(&c->ev, NULL);
}

void
push_port_conn_kill(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	if (c->dead)
		return;
	c->dead = true;
	event_del(&c->ev);
	close(c->fd);
	for (size_t i = 0; i < ring_len(&c->fifo); i++) {
		struct pp_entry *e = ring_at(&c->fifo, i);
		if (e->req != 0) {
			struct pp_slot *s = &pp->ring[e->req % pp->cap];
			if (s->id == e->req)
				s->conn = NULL;
		}
		free(e->line);
	}
	ring_fini(&c->fifo);
	if (c->prev)
		c->prev->next = c->next;
	else
		pp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = pp->dead;
	pp->dead = c;
	event_active(pp->reap_ev, EV_TIMEOUT, 0);
}

static void
pp_on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct push_port *pp = arg;
	struct pp_conn *c;
	while ((c = pp->dead) != NULL) {
		pp->dead = c->next;
		buf_fini(&c->in);
		buf_fini(&c->out);
		buf_fini(&c->batch);
		ring_fini(&c->fifo);
		free(c);
	}
}

/* ---- ring --------------------------------------------------------------- */

static void
pp_slot_free(struct push_port *pp, struct pp_slot *s)
{
	json_decref(s->jid);
	free(s->line);
	memset(s, 0, sizeof *s);
	pp->pending--;
	while (pp->low < pp->next && pp->ring[pp->low % pp->cap].id == 0)
		pp->low++;
}

/* ---- output ------------------------------------------------------------- */

void
push_port_conn_write(struct pp_conn *c)
{
	while (c->out.len > 0) {
		ssize_t w = write(c->fd, c->out.p, c->out.len);
		if (w > 0) {
			buf_consume(&c->out, (size_t)w);
			c->last_active = clock_ms();
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_write) {
				c->want_write = true;
				pp_set_events(c);
			}
			return;
		}
		push_port_conn_kill(c);
		return;
	}
	if (c->want_write) {
		c->want_write = false;
		pp_set_events(c);
	}
	if (c->close_after_flush && ring_len(&c->fifo) == 0) {
		shutdown(c->fd, SHUT_WR);
		push_port_conn_kill(c);
	}
}

/* Writes one answer (text, len: a reply line, or a whole HTTP response for
 * PP_HTTP_RAW) to the output in the connection's framing. */
static void
pp_emit(struct pp_conn *c, const struct pp_frame *fr, const char *text, size_t len)
{
	if (fr->kind == PP_LINE)
		buf_append(&c->out, text, len);
	else
		push_http_emit(c, fr, text, len);
}

/* Moves every answer that is next in order to the output. */
void
push_port_conn_flush(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	struct pp_entry *e;
	while ((e = ring_front(&c->fifo)) != NULL) {
		if (e->req != 0) {
			struct pp_slot *s = &pp->ring[e->req % pp->cap];
			if (s->id != e->req || s->state != SLOT_DONE)
				break;
			pp_emit(c, &e->fr, s->line, s->len);
			pp_slot_free(pp, s);
		} else {
			pp_emit(c, &e->fr, e->line, e->len);
			free(e->line);
		}
		pp->st.replies++;
		ring_pop(&c->fifo);
	}
	if (c->out.len > pp->cfg->gateway_max_output) {
		log_warn("push_slow_reader", "queued=%zu", c->out.len);
		push_port_conn_kill(c);
		return;
	}
	push_port_conn_write(c);
	if (!c->dead && c->paused && !c->close_after_flush &&
		ring_len(&c->fifo) < PUSH_PORT_MAX_INFLIGHT / 2) {
		c->paused = false;
		pp_set_events(c);
		pp_read(c); /* lines may be waiting in the input buffer */
	}
}

static struct pp_entry *
pp_push_entry(struct pp_conn *c)
{
	struct pp_entry *e = ring_push(&c->fifo);
	e->fr = c->fr;
	return e;
}

static void
pp_answer_now(struct pp_conn *c, const json_t *jid, const char *code, const char *message)
{
	struct buf b = BUF_INIT;
	push_reply_error(jid, code, message, &b);
	struct pp_entry *e = pp_push_entry(c);
	e->line = buf_steal(&b, &e->len);
	c->pp->st.errors++;
}

/* ---- input -------------------------------------------------------------- */

/* push.secret is set and c has not proven it yet: the line must be
 * {"type":"auth","secret":"…"}. Anything else is answered unauthorized and
 * ends the connection. */
static void
pp_handle_auth(struct pp_conn *c, const char *line, size_t len)
{
	const char *secret = c->pp->cfg->push_secret;
	json_t *root = json_loadb(line, len, 0, NULL);
	json_t *id = json_object_get(root, "id");
	const char *type = json_string_value(json_object_get(root, "type"));
	json_t *given = json_object_get(root, "secret");
	bool ok = type != NULL && strcmp(type, "auth") == 0 && json_is_string(given) &&
		json_string_length(given) == strlen(secret) &&
		ct_equal(json_string_value(given), secret, strlen(secret));
	if (ok) {
		struct buf b = BUF_INIT;
		if (id != NULL) {
			char *t = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
			buf_printf(&b, "{\"id\":%s,\"ok\":true}\n", t);
			free(t);
		} else {
			buf_append_str(&b, "{\"ok\":true}\n");
		}
		struct pp_entry *e = pp_push_entry(c);
		e->line = buf_steal(&b, &e->len);
		c->authed = true;
	} else {
		c->pp->st.unauthorized++;
		pp_answer_now(c, id, "unauthorized",
			"the first line must be {\"type\":\"auth\",\"secret\":…} with push.secret");
		c->close_after_flush = true;
	}
	json_decref(root);
}

/* What every command shares, wherever it came from: counted, parsed, shown
 * to filter (NULL: none), then a slot in the ring, waiting, with no
 * consumer yet. Returns its id, or 0 when it was answered at once: the error
 * reply line is then appended to now. *cmd is the caller's to
 * push_cmd_fini. */
static uint64_t
pp_start(struct push_port *pp, const char *text, size_t len, push_filter_fn *filter, void *arg,
	struct push_cmd *cmd, struct buf *now)
{
	struct push_error perr;
	const char *code = NULL, *message = NULL;

	memset(cmd, 0, sizeof *cmd);
	pp->st.requests++;
	if (push_cmd_parse(text, len, &pp->limits, cmd, &perr) != 0) {
		code = perr.code;
		message = perr.message;
	} else if (filter != NULL && filter(arg, &cmd->cmd, &code, &message) != 0) {
		if (code == NULL)
			code = "forbidden";
	} else if (pp->next - pp->low >= pp->cap) {
		code = "overloaded";
		message = "too many requests in flight on this gateway (gateway.max_pending)";
	}
	if (code != NULL) {
		push_reply_error(cmd->id, code, message ? message : "", now);
		pp->st.errors++;
		return 0;
	}
	uint64_t id = pp->next++;
	struct pp_slot *s = &pp->ring[id % pp->cap];
	s->id = id;
	s->jid = cmd->id ? json_incref(cmd->id) : NULL;
	s->type = cmd->cmd.type;
	s->state = SLOT_WAITING;
	s->deadline = clock_ms() + pp->cfg->gateway_request_timeout_ms;
	pp->pending++;
	return id;
}

/* Hands request id to the submit callback; a refusal is its answer. */
static void
pp_submit(struct push_port *pp, uint64_t id, uint64_t key, const struct push_cmd *cmd)
{
	const char *code = NULL, *message = NULL;
	if (pp->submit(pp->arg, id, key, &cmd->cmd, &code, &message) != 0)
		push_port_fail(pp, id, code ? code : "internal", message ? message : "");
}

/* One command (a JSON object's text): parsed, then into the ring and to the
 * submit callback, or answered at once. The entry takes c->fr's framing. */
void
push_port_conn_command(struct pp_conn *c, const char *line, size_t len)
{
	struct push_port *pp = c->pp;
	struct push_cmd cmd;
	struct buf now = BUF_INIT;

	uint64_t id = pp_start(pp, line, len, NULL, NULL, &cmd, &now);
	struct pp_entry *e = pp_push_entry(c);
	if (id == 0) {
		e->line = buf_steal(&now, &e->len);
	} else {
		pp->ring[id % pp->cap].conn = c;
		e->req = id;
		pp_submit(pp, id, c->key, &cmd);
	}
	push_cmd_fini(&cmd);
}

static void
pp_handle_line(struct pp_conn *c, const char *line, size_t len)
{
	if (c->pp->cfg->push_secret[0] != '\0' && !c->authed) {
		pp_handle_auth(c, line, len);
		return;
	}
	push_port_conn_command(c, line, len);
}

/* The connection is to close once its answers are out: read no more (the
 * rest would never be parsed, and a readable socket nobody reads would keep
 * the level-triggered event firing), and flush. */
static void
pp_read_no_more(struct pp_conn *c)
{
	buf_reset(&c->in);
	if (!c->paused) {
		c->paused = true;
		pp_set_events(c);
	}
	push_port_conn_flush(c);
}

static void
pp_read(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	size_t max_line = pp->cfg->gateway_max_line;
	bool drained = false; /* a short read took all the socket had */
	for (;;) {
		if (c->kind == PP_KIND_HTTP) {
			push_http_parse(c);
			if (c->dead)
				return;
			if (c->close_after_flush) {
				pp_read_no_more(c);
				return;
			}
			goto after_parse;
		}
		/* Handle the complete lines we have. */
		size_t start = 0;
		char *nl;
		while (!c->dead && !c->close_after_flush && ring_len(&c->fifo) < PUSH_PORT_MAX_INFLIGHT &&
			c->in.len > start && (nl = memchr(c->in.p + start, '\n', c->in.len - start)) != NULL) {
			size_t len = (size_t)(nl - (c->in.p + start));
			const char *line = c->in.p + start;
			start += len + 1;
			if (len > 0 && line[len - 1] == '\r')
				len--;
			if (len > max_line) {
				pp_answer_now(c, NULL, "too_large", "line longer than gateway.max_line");
				c->close_after_flush = true;
				break;
			}
			bool blank = true;
			for (size_t i = 0; i < len && blank; i++)
				blank = line[i] == ' ' || line[i] == '\t';
			if (!blank)
				pp_handle_line(c, line, len);
		}
		if (c->dead)
			return;
		buf_consume(&c->in, start);
		if (c->in.len > max_line + 1 && !c->close_after_flush) {
			pp_answer_now(c, NULL, "too_large", "line longer than gateway.max_line");
			c->close_after_flush = true;
		}
		if (c->close_after_flush) {
			pp_read_no_more(c);
			return;
		}
	after_parse:
		if (ring_len(&c->fifo) >= PUSH_PORT_MAX_INFLIGHT) {
			if (!c->paused) {
				c->paused = true;
				pp_set_events(c);
			}
			push_port_conn_flush(c);
			return;
		}
		if (c->paused || drained)
			break; /* drained: no read that would only say EAGAIN */
		buf_reserve(&c->in, PP_READ_CHUNK);
		ssize_t r = read(c->fd, c->in.p + c->in.len, PP_READ_CHUNK);
		if (r > 0) {
			if (c->in.len == 0)
				c->partial_since = clock_ms();
			c->in.len += (size_t)r;
			c->in.p[c->in.len] = '\0';
			c->last_active = clock_ms();
			drained = (size_t)r < PP_READ_CHUNK;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF: answer what is in flight, then close. */
		c->close_after_flush = true;
		if (c->in.len > 0 && c->kind == PP_KIND_LINES)
			pp_answer_now(c, NULL, "bad_request", "last line has no newline");
		buf_reset(&c->in);
		c->paused = true;
		pp_set_events(c);
		break;
	}
	push_port_conn_flush(c);
}

static void
pp_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct pp_conn *c = arg;
	if (what & EV_WRITE)
		push_port_conn_write(c);
	if (!c->dead && (what & EV_READ))
		pp_read(c);
}

static void
pp_accept(struct push_port *pp, int lfd, uint8_t kind)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				net_shed(lfd, &pp->spare_fd);
			return;
		}
		struct pp_conn *c = xcalloc(1, sizeof *c);
		c->pp = pp;
		c->fd = fd;
		c->key = ++pp->next_key;
		c->kind = kind;
		c->last_active = clock_ms();
		buf_init(&c->batch);
		ring_init(&c->fifo, sizeof(struct pp_entry));
		buf_init(&c->in);
		buf_init(&c->out);
		c->next = pp->conns;
		if (pp->conns)
			pp->conns->prev = c;
		pp->conns = c;
		pp->st.connections++;
		event_assign(&c->ev, pp->base, fd, EV_READ | EV_PERSIST, pp_on_io, c);
		event_add(&c->ev, NULL);
	}
}

static void
pp_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	pp_accept(arg, lfd, PP_KIND_LINES);
}

static void
pp_on_accept_http(evutil_socket_t lfd, short what, void *arg)
{
	pp_accept(arg, lfd, PP_KIND_HTTP);
}

/* ---- answers ------------------------------------------------------------ */

static void
pp_finish(struct push_port *pp, struct pp_slot *s, char *line, size_t len)
{
	s->line = line;
	s->len = len;
	s->state = SLOT_DONE;
	if (s->done != NULL) {
		push_done_fn *done = s->done;
		s->done = NULL;
		done(s->done_arg, line, len);
		pp_slot_free(pp, s);
		return;
	}
	if (s->conn == NULL) {
		pp_slot_free(pp, s);
		return;
	}
	push_port_conn_flush(s->conn);
}

void
push_port_complete(struct push_port *pp, const struct proto_result *r)
{
	struct pp_slot *s = &pp->ring[r->id % pp->cap];
	if (s->id != r->id || s->state != SLOT_WAITING)
		return;
	struct buf b = BUF_INIT;
	push_reply_render((enum cmd_type)s->type, s->jid, r, &b);
	if (!r->ok)
		pp->st.errors++;
	pp->st.results[s->type][!r->ok ? PUSH_ERROR : r->partial ? PUSH_PARTIAL : PUSH_OK]++;
	size_t len;
	char *line = buf_steal(&b, &len);
	pp_finish(pp, s, line, len);
}

void
push_port_fail(struct push_port *pp, uint64_t req, const char *code, const char *message)
{
	struct pp_slot *s = &pp->ring[req % pp->cap];
	if (s->id != req || s->state != SLOT_WAITING)
		return;
	struct buf b = BUF_INIT;
	push_reply_error(s->jid, code, message, &b);
	pp->st.errors++;
	pp->st.results[s->type][strcmp(code, "timeout") == 0 ? PUSH_TIMEOUT : PUSH_ERROR]++;
	size_t len;
	char *line = buf_steal(&b, &len);
	pp_finish(pp, s, line, len);
}

/* push_port_submit's consumer while the submit callback runs: a refusal
 * there is answered within the call, into the caller's buffer. */
static void
pp_done_into(void *arg, const char *line, size_t len)
{
	buf_append(arg, line, len);
}

uint64_t
push_port_submit(struct push_port *pp, const char *text, size_t len, push_filter_fn *filter,
	push_done_fn *done, void *arg, struct buf *now)
{
	struct push_cmd cmd;
	uint64_t id = pp_start(pp, text, len, filter, arg, &cmd, now);
	if (id != 0) {
		struct pp_slot *s = &pp->ring[id % pp->cap];
		s->done = pp_done_into;
		s->done_arg = now;
		pp_submit(pp, id, ++pp->next_key, &cmd);
		if (s->id == id && s->state == SLOT_WAITING) {
			s->done = done;
			s->done_arg = arg;
		} else {
			id = 0; /* refused: answered into now, and the slot is free */
		}
	}
	push_cmd_fini(&cmd);
	return id;
}

void
push_port_cancel(struct push_port *pp, uint64_t req)
{
	struct pp_slot *s = &pp->ring[req % pp->cap];
	if (req != 0 && s->id == req && s->state == SLOT_WAITING) {
		s->done = NULL;
		s->done_arg = NULL;
	}
}

static void
pp_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct push_port *pp = arg;
	uint64_t now = clock_ms();
	for (uint64_t id = pp->low; id < pp->next; id++) {
		struct pp_slot *s = &pp->ring[id % pp->cap];
		if (s->id != id || s->state != SLOT_WAITING)
			continue;
		if (s->deadline > now)
			break; /* deadlines grow with ids */
		pp->st.timeouts++;
		push_port_fail(pp, id, "timeout", "no answer within gateway.request_timeout");
	}
	push_http_sweep(pp, now);
}

/* ---- port --------------------------------------------------------------- */

struct push_port *
push_port_new(struct event_base *base, const struct config *c, int fd, push_submit_fn *submit,
	void *arg)
{
	struct push_port *pp = xcalloc(1, sizeof *pp);
	pp->base = base;
	pp->cfg = c;
	pp->submit = submit;
	pp->arg = arg;
	pp->lfd = fd;
	pp->http_fd = -1;
	pp->spare_fd = net_spare_fd();
	pp->cap = c->gateway_max_pending;
	pp->ring = xcalloc(pp->cap, sizeof *pp->ring);
	pp->low = pp->next = 1;
	pp->limits.max_uid_len = c->gateway_max_uid_len;
	pp->limits.max_group_len = c->gateway_max_group_len;
	pp->limits.max_list = 10000;
	pp->accept_ev = event_new(base, fd, EV_READ | EV_PERSIST, pp_on_accept, pp);
	event_add(pp->accept_ev, NULL);
	pp->sweep_ev = event_new(base, -1, EV_PERSIST, pp_on_sweep, pp);
	struct timeval tv = {0, PP_SWEEP_MS * 1000};
	event_add(pp->sweep_ev, &tv);
	pp->reap_ev = event_new(base, -1, 0, pp_on_reap, pp);
	return pp;
}

void
push_port_stop_accepting(struct push_port *pp)
{
	if (pp->accept_ev != NULL) {
		event_free(pp->accept_ev);
		pp->accept_ev = NULL;
		close(pp->lfd);
	}
	if (pp->http_accept_ev != NULL) {
		event_free(pp->http_accept_ev);
		pp->http_accept_ev = NULL;
		close(pp->http_fd);
	}
}

void
push_port_listen_http(struct push_port *pp, int fd, push_metrics_fn *metrics,
	push_ready_fn *ready)
{
	pp->http_fd = fd;
	pp->metrics = metrics;
	pp->ready = ready;
	pp->http_accept_ev = event_new(pp->base, fd, EV_READ | EV_PERSIST, pp_on_accept_http, pp);
	event_add(pp->http_accept_ev, NULL);
}

void
push_port_free(struct push_port *pp)
{
	if (pp == NULL)
		return;
	push_port_stop_accepting(pp);
	while (pp->conns != NULL)
		push_port_conn_kill(pp->conns);
	pp_on_reap(-1, 0, pp);
	for (size_t i = 0; i < pp->cap; i++) {
		json_decref(pp->ring[i].jid);
		free(pp->ring[i].line);
	}
	free(pp->ring);
	if (pp->spare_fd >= 0)
		close(pp->spare_fd);
	event_free(pp->sweep_ev);
	event_free(pp->reap_ev);
	free(pp);
}

size_t
push_port_pending(const struct push_port *pp)
{
	return pp->pending;
}

const struct push_port_stats *
push_port_stats(const struct push_port *pp)
{
	return &pp->st;
}
