/*
 * push_port — see push_port.h.
 *
 * Requests in flight live in one ring indexed by request id (ids grow by
 * one, every request has the same timeout, so the oldest is always the next
 * to expire and the ring never fragments). Each connection keeps the FIFO of
 * its requests in arrival order; a reply is written only when every earlier
 * request of that connection has been written, which is what keeps replies in
 * request order while workers answer in any order.
 */
#include "gateway/push_port.h"

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
#include "gateway/push_cmd.h"

#define PP_SWEEP_MS 100
#define PP_READ_CHUNK 65536

enum pp_slot_state { SLOT_FREE = 0, SLOT_WAITING, SLOT_DONE };

struct pp_conn;

struct pp_slot {
	uint64_t id;
	struct pp_conn *conn; /* NULL when the connection went away */
	json_t *jid;
	uint8_t type;
	uint8_t state;
	char *line;
	size_t len;
	uint64_t deadline;
};

/* One entry per request of a connection, in arrival order: either a request
 * in the ring (req != 0) or an answer known at once (line). */
struct pp_entry {
	uint64_t req;
	char *line;
	size_t len;
};

struct pp_conn {
	struct push_port *pp;
	struct pp_conn *prev, *next;
	struct event ev;
	int fd;
	bool want_write, paused, close_after_flush, dead;
	bool authed; /* push.secret: sent the right auth line */
	uint64_t key;
	struct buf in, out;
	struct ring fifo;     /* struct pp_entry, in arrival order */
};

struct push_port {
	struct event_base *base;
	const struct config *cfg;
	push_submit_fn *submit;
	void *arg;
	int lfd, spare_fd;
	struct event *accept_ev, *sweep_ev, *reap_ev;
	struct pp_conn *conns, *dead;
	struct pp_slot *ring;
	size_t cap;
	uint64_t low, next; /* ids in [low, next) may be in use */
	uint64_t next_key;
	size_t pending;
	struct push_limits limits;
	struct push_port_stats st;
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

static void
pp_kill(struct pp_conn *c)
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

static void
pp_write(struct pp_conn *c)
{
	while (c->out.len > 0) {
		ssize_t w = write(c->fd, c->out.p, c->out.len);
		if (w > 0) {
			buf_consume(&c->out, (size_t)w);
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
		pp_kill(c);
		return;
	}
	if (c->want_write) {
		c->want_write = false;
		pp_set_events(c);
	}
	if (c->close_after_flush && ring_len(&c->fifo) == 0) {
		shutdown(c->fd, SHUT_WR);
		pp_kill(c);
	}
}

/* Moves every answer that is next in order to the output. */
static void
pp_flush(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	struct pp_entry *e;
	while ((e = ring_front(&c->fifo)) != NULL) {
		if (e->req != 0) {
			struct pp_slot *s = &pp->ring[e->req % pp->cap];
			if (s->id != e->req || s->state != SLOT_DONE)
				break;
			buf_append(&c->out, s->line, s->len);
			pp_slot_free(pp, s);
		} else {
			buf_append(&c->out, e->line, e->len);
			free(e->line);
		}
		pp->st.replies++;
		ring_pop(&c->fifo);
	}
	if (c->out.len > pp->cfg->gateway_max_output) {
		log_warn("push_slow_reader", "queued=%zu", c->out.len);
		pp_kill(c);
		return;
	}
	pp_write(c);
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
	return ring_push(&c->fifo);
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

static void
pp_handle_line(struct pp_conn *c, const char *line, size_t len)
{
	struct push_port *pp = c->pp;
	struct push_cmd cmd;
	struct push_error perr;

	if (pp->cfg->push_secret[0] != '\0' && !c->authed) {
		pp_handle_auth(c, line, len);
		return;
	}

	memset(&cmd, 0, sizeof cmd);
	pp->st.requests++;
	if (push_cmd_parse(line, len, &pp->limits, &cmd, &perr) != 0) {
		pp_answer_now(c, cmd.id, perr.code, perr.message);
		push_cmd_fini(&cmd);
		return;
	}
	if (pp->next - pp->low >= pp->cap) {
		pp_answer_now(c, cmd.id, "overloaded",
			"too many requests in flight on this gateway (gateway.max_pending)");
		push_cmd_fini(&cmd);
		return;
	}
	uint64_t id = pp->next++;
	struct pp_slot *s = &pp->ring[id % pp->cap];
	s->id = id;
	s->conn = c;
	s->jid = cmd.id ? json_incref(cmd.id) : NULL;
	s->type = cmd.cmd.type;
	s->state = SLOT_WAITING;
	s->deadline = clock_ms() + pp->cfg->gateway_request_timeout_ms;
	pp->pending++;
	struct pp_entry *e = pp_push_entry(c);
	e->req = id;
	const char *code = NULL, *message = NULL;
	if (pp->submit(pp->arg, id, c->key, &cmd.cmd, &code, &message) != 0)
		push_port_fail(pp, id, code ? code : "internal", message ? message : "");
	push_cmd_fini(&cmd);
}

static void
pp_read(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	size_t max_line = pp->cfg->gateway_max_line;
	for (;;) {
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
		if (c->close_after_flush) {
			buf_reset(&c->in);
			pp_flush(c);
			return;
		}
		if (c->in.len > max_line + 1) {
			pp_answer_now(c, NULL, "too_large", "line longer than gateway.max_line");
			c->close_after_flush = true;
			buf_reset(&c->in);
			pp_flush(c);
			return;
		}
		if (ring_len(&c->fifo) >= PUSH_PORT_MAX_INFLIGHT) {
			if (!c->paused) {
				c->paused = true;
				pp_set_events(c);
			}
			pp_flush(c);
			return;
		}
		if (c->paused)
			break;
		buf_reserve(&c->in, PP_READ_CHUNK);
		ssize_t r = read(c->fd, c->in.p + c->in.len, PP_READ_CHUNK);
		if (r > 0) {
			c->in.len += (size_t)r;
			c->in.p[c->in.len] = '\0';
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF: answer what is in flight, then close. */
		c->close_after_flush = true;
		if (c->in.len > 0)
			pp_answer_now(c, NULL, "bad_request", "last line has no newline");
		buf_reset(&c->in);
		c->paused = true;
		pp_set_events(c);
		break;
	}
	pp_flush(c);
}

static void
pp_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct pp_conn *c = arg;
	if (what & EV_WRITE)
		pp_write(c);
	if (!c->dead && (what & EV_READ))
		pp_read(c);
}

static void
pp_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct push_port *pp = arg;
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

/* ---- answers ------------------------------------------------------------ */

static void
pp_finish(struct push_port *pp, struct pp_slot *s, char *line, size_t len)
{
	s->line = line;
	s->len = len;
	s->state = SLOT_DONE;
	if (s->conn == NULL) {
		pp_slot_free(pp, s);
		return;
	}
	pp_flush(s->conn);
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
	size_t len;
	char *line = buf_steal(&b, &len);
	pp_finish(pp, s, line, len);
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
}

void
push_port_free(struct push_port *pp)
{
	if (pp == NULL)
		return;
	push_port_stop_accepting(pp);
	while (pp->conns != NULL)
		pp_kill(pp->conns);
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
