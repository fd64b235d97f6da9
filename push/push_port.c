/*
 * push_port — see push_port.h.
 *
 * Requests in flight live in the port's table (push_table.h). Each
 * connection keeps the FIFO of its requests in arrival order; an answer is
 * written only when every earlier request of that connection has been
 * written, which is what keeps replies in request order while workers
 * answer in any order. A connection that goes away cancels its requests in
 * the table, so a late reply never reaches a connection that is gone.
 *
 * This file is the port itself: listening, connection lifetime and I/O
 * (one pump, push_port_conn_proceed, that re-arms a connection's events
 * once), and the JSON-lines framing. The HTTP framing (http.listen) is in
 * push_http.c; push_port_int.h is what a framing gets from the port.
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
#include "push/push_port_int.h"
#include "push/push_reply.h"
#include "push/push_table.h"

#define PP_SWEEP_MS 100
#define PP_READ_CHUNK 65536

static void pp_on_io(evutil_socket_t fd, short what, void *arg);

/* ---- connection lifetime ------------------------------------------------ */

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
		if (e->req != 0)
			push_table_cancel(pp->table, e->req);
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

/* ---- the pump ----------------------------------------------------------- */

/* Waits for what can move c on: input unless it is paused or closing,
 * output while some is left. Touches the event only when that changed. */
static void
pp_arm(struct pp_conn *c)
{
	short want = (short)((c->paused || c->close_after_flush ? 0 : EV_READ) |
		(c->want_write ? EV_WRITE : 0));
	if (want == c->armed)
		return;
	event_del(&c->ev);
	event_assign(&c->ev, c->pp->base, c->fd, want | EV_PERSIST, pp_on_io, c);
	if (want)
		event_add(&c->ev, NULL);
	c->armed = want;
}

/* Writes c->out to the socket until it would block (c->want_write). May
 * kill c. */
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
			c->want_write = true;
			return;
		}
		push_port_conn_kill(c);
		return;
	}
	c->want_write = false;
}

/* Moves every answer that is next in order to the output and writes it;
 * closes a closing connection once all is out. May kill c. */
static void
pp_output(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	struct pp_entry *e;
	while ((e = ring_front(&c->fifo)) != NULL && e->req == 0) {
		struct push_reply rep = {e->line, e->len, e->error, e->delivered};
		c->ln->f->emit(c, &e->fr, &rep);
		free(e->line);
		pp->st.replies++;
		ring_pop(&c->fifo);
	}
	if (c->out.len > pp->cfg->gateway_max_output) {
		log_warn("push_slow_reader", "queued=%zu", c->out.len);
		push_port_conn_kill(c);
		return;
	}
	pp_write(c);
	if (!c->dead && c->close_after_flush && ring_len(&c->fifo) == 0 && c->out.len == 0) {
		shutdown(c->fd, SHUT_WR);
		push_port_conn_kill(c);
	}
}

/* Handles the requests in c->in, then reads more when *readable and the
 * last read did not take all the socket had (*drained). Returns true when
 * there may be more to do (bytes were read). May kill c. */
static bool
pp_input(struct pp_conn *c, bool *readable, bool *drained)
{
	if (c->close_after_flush)
		return false;
	if (c->paused) {
		if (ring_len(&c->fifo) >= PUSH_PORT_MAX_INFLIGHT / 2)
			return false;
		c->paused = false;
		*readable = true; /* more may wait in the socket, unannounced */
	}
	c->ln->f->read(c);
	if (c->dead)
		return false;
	if (c->close_after_flush) {
		/* Read no more: the rest would never be parsed. */
		buf_reset(&c->in);
		return false;
	}
	if (ring_len(&c->fifo) >= PUSH_PORT_MAX_INFLIGHT) {
		c->paused = true;
		return false;
	}
	if (!*readable || *drained)
		return false; /* drained: no read that would only say EAGAIN */
	buf_reserve(&c->in, PP_READ_CHUNK);
	ssize_t r = read(c->fd, c->in.p + c->in.len, PP_READ_CHUNK);
	if (r > 0) {
		if (c->in.len == 0)
			c->partial_since = clock_ms();
		c->in.len += (size_t)r;
		c->in.p[c->in.len] = '\0';
		c->last_active = clock_ms();
		*drained = (size_t)r < PP_READ_CHUNK;
		return true;
	}
	if (r < 0 && errno == EINTR)
		return true;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	/* EOF: answer what is in flight, then close. */
	c->close_after_flush = true;
	if (c->in.len > 0 && c->ln->f->eof != NULL)
		c->ln->f->eof(c);
	buf_reset(&c->in);
	return false;
}

void
push_port_conn_proceed(struct pp_conn *c, bool readable)
{
	if (c->dead)
		return;
	if (c->busy) {
		c->again = true;
		return;
	}
	c->busy = true;
	bool drained = false, more;
	do {
		c->again = false;
		more = pp_input(c, &readable, &drained);
		if (c->dead)
			return;
		pp_output(c);
		if (c->dead)
			return;
	} while (more || c->again);
	c->busy = false;
	pp_arm(c);
}

static void
pp_on_io(evutil_socket_t fd, short what, void *arg)
{
	push_port_conn_proceed(arg, (what & EV_READ) != 0);
}

/* ---- entries and answers ------------------------------------------------ */

void
push_port_conn_answer(struct pp_conn *c, const struct pp_frame *fr, char *line, size_t len,
	enum proto_error error)
{
	struct pp_entry *e = ring_push(&c->fifo);
	e->fr = *fr;
	e->line = line;
	e->len = len;
	e->error = error;
}

/* An error known at once, in c's current framing. */
static void
pp_answer_error(struct pp_conn *c, const json_t *jid, enum proto_error code, const char *message)
{
	struct buf b = BUF_INIT;
	push_reply_error(jid, code, message, &b);
	size_t len;
	char *line = buf_steal(&b, &len);
	push_port_conn_answer(c, &c->fr, line, len, code);
	c->pp->st.errors++;
}

/* The table answered request req of connection arg (push_done_fn). */
static void
pp_on_answer(void *arg, uint64_t req, const struct push_reply *rep)
{
	struct pp_conn *c = arg;
	/* Requests are answered about in order: the entry is near the front. */
	for (size_t i = 0; i < ring_len(&c->fifo); i++) {
		struct pp_entry *e = ring_at(&c->fifo, i);
		if (e->req != req)
			continue;
		e->req = 0;
		e->line = xmalloc(rep->len + 1);
		memcpy(e->line, rep->line, rep->len);
		e->line[rep->len] = '\0';
		e->len = rep->len;
		e->error = rep->error;
		e->delivered = rep->delivered;
		break;
	}
	push_port_conn_proceed(c, false);
}

void
push_port_conn_command(struct pp_conn *c, const char *text, size_t len)
{
	struct push_port *pp = c->pp;
	struct buf now = BUF_INIT;
	enum proto_error code = PROTO_ERR_NONE;
	uint64_t id = push_table_submit(pp->table, clock_ms() + pp->cfg->gateway_request_timeout_ms,
		text, len, c->key, NULL, pp_on_answer, c, &now, &code);
	if (id == 0) {
		size_t n;
		char *line = buf_steal(&now, &n);
		push_port_conn_answer(c, &c->fr, line, n, code);
	} else {
		struct pp_entry *e = ring_push(&c->fifo);
		e->fr = c->fr;
		e->req = id;
	}
}

/* ---- the JSON-lines framing --------------------------------------------- */

/* push.secret is set and c has not proven it yet: the line must be
 * {"type":"auth","secret":"…"}. Anything else is answered unauthorized and
 * ends the connection. */
static void
pp_lines_auth(struct pp_conn *c, const char *line, size_t len)
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
		size_t n;
		char *reply = buf_steal(&b, &n);
		push_port_conn_answer(c, &c->fr, reply, n, PROTO_ERR_NONE);
		c->authed = true;
	} else {
		c->pp->st.unauthorized++;
		pp_answer_error(c, id, PROTO_ERR_UNAUTHORIZED,
			"the first line must be {\"type\":\"auth\",\"secret\":…} with push.secret");
		c->close_after_flush = true;
	}
	json_decref(root);
}

/* The complete lines in c->in (pp_read_fn). */
static void
pp_lines_read(struct pp_conn *c)
{
	size_t max_line = c->pp->cfg->gateway_max_line;
	size_t start = 0;
	char *nl;
	while (!c->dead && !c->close_after_flush && ring_len(&c->fifo) < PUSH_PORT_MAX_INFLIGHT &&
		c->in.len > start &&
		(nl = memchr(c->in.p + start, '\n', c->in.len - start)) != NULL) {
		size_t len = (size_t)(nl - (c->in.p + start));
		const char *line = c->in.p + start;
		start += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > max_line) {
			pp_answer_error(c, NULL, PROTO_ERR_TOO_LARGE,
				"line longer than gateway.max_line");
			c->close_after_flush = true;
			break;
		}
		bool blank = true;
		for (size_t i = 0; i < len && blank; i++)
			blank = line[i] == ' ' || line[i] == '\t';
		if (blank)
			continue;
		if (c->pp->cfg->push_secret[0] != '\0' && !c->authed)
			pp_lines_auth(c, line, len);
		else
			push_port_conn_command(c, line, len);
	}
	if (c->dead)
		return;
	buf_consume(&c->in, start);
	if (c->in.len > max_line + 1 && !c->close_after_flush) {
		pp_answer_error(c, NULL, PROTO_ERR_TOO_LARGE, "line longer than gateway.max_line");
		c->close_after_flush = true;
	}
}

/* pp_eof_fn: a last line without its newline is not a command. */
static void
pp_lines_eof(struct pp_conn *c)
{
	pp_answer_error(c, NULL, PROTO_ERR_BAD_REQUEST, "last line has no newline");
}

/* pp_emit_fn: the reply line as it is. */
static void
pp_lines_emit(struct pp_conn *c, const struct pp_frame *fr, const struct push_reply *rep)
{
	buf_append(&c->out, rep->line, rep->len);
}

static const struct pp_framing pp_lines = {
	.read = pp_lines_read,
	.eof = pp_lines_eof,
	.emit = pp_lines_emit,
};

/* ---- listening ---------------------------------------------------------- */

static void
pp_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct pp_listener *ln = arg;
	struct push_port *pp = ln->pp;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				net_shed(lfd, &pp->spare_fd);
			return;
		}
		struct pp_conn *c = xcalloc(1, sizeof *c);
		c->pp = pp;
		c->ln = ln;
		c->fd = fd;
		c->key = push_table_key(pp->table);
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
		c->armed = EV_READ;
	}
}

void
push_port_listen(struct push_port *pp, int fd, const struct pp_framing *f, void *farg)
{
	if (pp->n_ln == PP_MAX_LISTENERS)
		abort();
	struct pp_listener *ln = &pp->ln[pp->n_ln++];
	ln->pp = pp;
	ln->fd = fd;
	ln->f = f;
	ln->farg = farg;
	ln->ev = event_new(pp->base, fd, EV_READ | EV_PERSIST, pp_on_accept, ln);
	event_add(ln->ev, NULL);
}

static void
pp_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct push_port *pp = arg;
	uint64_t now = clock_ms();
	push_table_expire(pp->table, now);
	for (size_t i = 0; i < pp->n_ln; i++)
		if (pp->ln[i].f->sweep != NULL)
			pp->ln[i].f->sweep(&pp->ln[i], now);
}

/* ---- port --------------------------------------------------------------- */

struct push_port *
push_port_new(struct event_base *base, const struct config *c, int fd, push_submit_fn *submit,
	void *arg)
{
	struct push_port *pp = xcalloc(1, sizeof *pp);
	pp->base = base;
	pp->cfg = c;
	pp->arg = arg;
	pp->spare_fd = net_spare_fd();
	struct push_limits lim = {
		.max_uid_len = c->gateway_max_uid_len,
		.max_group_len = c->gateway_max_group_len,
		.max_list = 10000,
	};
	pp->table = push_table_new(c->gateway_max_pending, &lim, submit, arg);
	push_port_listen(pp, fd, &pp_lines, NULL);
	pp->sweep_ev = event_new(base, -1, EV_PERSIST, pp_on_sweep, pp);
	struct timeval tv = {0, PP_SWEEP_MS * 1000};
	event_add(pp->sweep_ev, &tv);
	pp->reap_ev = event_new(base, -1, 0, pp_on_reap, pp);
	return pp;
}

void
push_port_stop_accepting(struct push_port *pp)
{
	for (size_t i = 0; i < pp->n_ln; i++) {
		struct pp_listener *ln = &pp->ln[i];
		if (ln->ev != NULL) {
			event_free(ln->ev);
			ln->ev = NULL;
			close(ln->fd);
		}
	}
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
	push_table_free(pp->table);
	for (size_t i = 0; i < pp->n_ln; i++)
		if (pp->ln[i].f->fini != NULL)
			pp->ln[i].f->fini(pp->ln[i].farg);
	if (pp->spare_fd >= 0)
		close(pp->spare_fd);
	event_free(pp->sweep_ev);
	event_free(pp->reap_ev);
	free(pp);
}

size_t
push_port_pending(const struct push_port *pp)
{
	return push_table_pending(pp->table);
}

const struct push_port_stats *
push_port_stats(struct push_port *pp)
{
	const struct push_table_stats *ts = push_table_stats(pp->table);
	pp->view = pp->st;
	pp->view.requests += ts->requests;
	pp->view.errors += ts->errors;
	pp->view.timeouts += ts->timeouts;
	memcpy(pp->view.results, ts->results, sizeof pp->view.results);
	return &pp->view;
}

struct push_table *
push_port_table(struct push_port *pp)
{
	return pp->table;
}

void
push_port_complete(struct push_port *pp, const struct proto_result *r)
{
	push_table_complete(pp->table, r);
}

void
push_port_fail(struct push_port *pp, uint64_t req, const char *code, const char *message)
{
	enum proto_error e = proto_error_from_name(code, strlen(code));
	if (e == PROTO_ERR_NONE || e == PROTO_ERR_OTHER)
		e = PROTO_ERR_INTERNAL;
	push_table_fail(pp->table, req, e, message);
}
