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
#include <strings.h>
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
#include "common/query.h"
#include "gateway/http_api.h"
#include "gateway/push_cmd.h"

#define PP_SWEEP_MS 100
#define PP_READ_CHUNK 65536
#define PP_HTTP_CHECK_MS 500 /* how often HTTP connections are checked for timeouts */

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

/* How an answer is written: a push line as it is, or part of an HTTP
 * response. */
enum pp_frame_kind {
	PP_LINE = 0,    /* the reply line */
	PP_HTTP_RAW,    /* line is a whole HTTP response already */
	PP_HTTP_JSON,   /* POST /api/<command>: the reply as the body */
	PP_HTTP_BATCH,  /* POST /api/batch: one element of the array */
	PP_HTTP_WMS,    /* web-msg-sender's publish: "ok", "offline" or "fail" */
};

struct pp_frame {
	uint8_t kind;
	bool first, last; /* PP_HTTP_BATCH: the request's first/last entry */
	bool keep_alive;
};

/* One entry per request of a connection, in arrival order: either a request
 * in the ring (req != 0) or an answer known at once (line). */
struct pp_entry {
	uint64_t req;
	char *line;
	size_t len;
	struct pp_frame fr;
};

enum pp_conn_kind { PP_KIND_LINES = 0, PP_KIND_HTTP };

struct pp_conn {
	struct push_port *pp;
	struct pp_conn *prev, *next;
	struct event ev;
	int fd;
	bool want_write, paused, close_after_flush, dead;
	bool authed; /* push.secret: sent the right auth line */
	uint8_t kind; /* enum pp_conn_kind */
	bool continued; /* HTTP: sent "100 Continue" for the request being read */
	uint64_t key;
	struct buf in, out;
	struct ring fifo;     /* struct pp_entry, in arrival order */
	struct pp_frame fr;   /* framing of the entries being added */
	struct buf batch;     /* HTTP: the batch response being assembled */
	uint64_t last_active, partial_since; /* HTTP timeouts (clock_ms) */
};

struct push_port {
	struct event_base *base;
	const struct config *cfg;
	push_submit_fn *submit;
	void *arg;
	int lfd, spare_fd, http_fd;
	struct event *accept_ev, *sweep_ev, *reap_ev, *http_accept_ev;
	push_metrics_fn *metrics;
	push_ready_fn *ready;
	uint64_t next_http_check;
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

static void
pp_write(struct pp_conn *c)
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

/* Writes one answer (text, len: a reply line, or a whole HTTP response for
 * PP_HTTP_RAW) to the output in the connection's framing. */
static void
pp_emit(struct pp_conn *c, const struct pp_frame *fr, const char *text, size_t len)
{
	if (fr->kind == PP_LINE || fr->kind == PP_HTTP_RAW) {
		buf_append(&c->out, text, len);
		return;
	}
	if (len > 0 && text[len - 1] == '\n')
		len--;
	int status = http_api_reply_status(text, len);
	if (fr->kind == PP_HTTP_JSON) {
		http_api_response(&c->out, status, "application/json", NULL, text, len,
			fr->keep_alive);
	} else if (fr->kind == PP_HTTP_BATCH) {
		if (fr->first) {
			buf_reset(&c->batch);
			buf_append_char(&c->batch, '[');
		} else {
			buf_append_char(&c->batch, ',');
		}
		buf_append(&c->batch, text, len);
		if (fr->last) {
			buf_append_char(&c->batch, ']');
			http_api_response(&c->out, 200, "application/json", NULL, c->batch.p,
				c->batch.len, fr->keep_alive);
			buf_reset(&c->batch);
		}
	} else {
		/* web-msg-sender: "ok" when delivered to a connection, "offline"
		 * when to nobody, "fail" on any error. */
		const char *word = "fail";
		if (status == 200) {
			json_t *root = json_loadb(text, len, 0, NULL);
			json_int_t n = json_integer_value(json_object_get(root, "delivered"));
			word = n > 0 ? "ok" : "offline";
			json_decref(root);
		}
		http_api_response(&c->out, status, "text/plain; charset=utf-8", NULL, word,
			strlen(word), fr->keep_alive);
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

/* One command (a JSON object's text): parsed, then into the ring and to the
 * submit callback, or answered at once. The entry takes c->fr's framing. */
static void
pp_handle_cmd(struct pp_conn *c, const char *line, size_t len)
{
	struct push_port *pp = c->pp;
	struct push_cmd cmd;
	struct push_error perr;

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
pp_handle_line(struct pp_conn *c, const char *line, size_t len)
{
	if (c->pp->cfg->push_secret[0] != '\0' && !c->authed) {
		pp_handle_auth(c, line, len);
		return;
	}
	pp_handle_cmd(c, line, len);
}

/* ---- HTTP ----------------------------------------------------------------- */

/* Queues a response known at once. Without keep-alive, the connection ends
 * once it is written. */
static void
pp_http_raw(struct pp_conn *c, int status, const char *ctype, const char *extra,
	const char *body, size_t len, bool keep_alive)
{
	struct buf b = BUF_INIT;
	http_api_response(&b, status, ctype, extra, body, len, keep_alive);
	struct pp_entry *e = ring_push(&c->fifo);
	e->fr.kind = PP_HTTP_RAW;
	e->line = buf_steal(&b, &e->len);
	if (!keep_alive)
		c->close_after_flush = true;
}

static void
pp_http_error(struct pp_conn *c, int status, const char *code, const char *message,
	bool keep_alive)
{
	struct buf b = BUF_INIT;
	http_api_error_body(&b, code, message);
	pp_http_raw(c, status, "application/json", NULL, b.p, b.len, keep_alive);
	buf_fini(&b);
	c->pp->st.errors++;
}

static void
pp_http_text(struct pp_conn *c, int status, const char *text, bool keep_alive)
{
	pp_http_raw(c, status, "text/plain; charset=utf-8", NULL, text, strlen(text), keep_alive);
}

/* "Authorization: Bearer <push.secret>", compared in constant time. */
static bool
pp_http_authed(const struct pp_conn *c, const struct http_api_req *r)
{
	const char *secret = c->pp->cfg->push_secret;
	size_t sn = strlen(secret);
	if (sn == 0)
		return true;
	if (r->authorization == NULL || r->authorization_len != 7 + sn ||
		strncasecmp(r->authorization, "Bearer ", 7) != 0)
		return false;
	return ct_equal(r->authorization + 7, secret, sn);
}

/* POST /api/<name>: the body (a JSON object, or nothing) with "type" = name
 * is one push command. The body's text is kept as it is (see push_cmd.c on
 * why JSON is not re-encoded): "type" is spliced in front of its fields. */
static void
pp_http_command(struct pp_conn *c, const char *name, size_t nlen, const char *body, size_t blen)
{
	bool name_ok = nlen > 0 && nlen <= 64;
	for (size_t i = 0; i < nlen && name_ok; i++)
		name_ok = (name[i] >= 'a' && name[i] <= 'z') || name[i] == '_';
	if (!name_ok) {
		pp_http_error(c, 400, "unknown_type", "unknown command in the URL", c->fr.keep_alive);
		return;
	}
	size_t k = 0;
	while (k < blen && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r' || body[k] == '\n'))
		k++;
	struct buf line = BUF_INIT;
	json_t *root = k < blen ? json_loadb(body, blen, JSON_DECODE_ANY, NULL) : json_object();
	json_t *type = json_object_get(root, "type");
	if (!json_is_object(root)) {
		/* Not JSON, or not an object: the push port's own answer. */
		buf_append(&line, body, blen);
	} else if (type != NULL) {
		if (!json_is_string(type) || json_string_length(type) != nlen ||
			memcmp(json_string_value(type), name, nlen) != 0) {
			struct buf b = BUF_INIT;
			push_reply_error(json_object_get(root, "id"), "bad_request",
				"field \"type\": must be the command in the URL, or absent", &b);
			pp_http_raw(c, 400, "application/json", NULL, b.p, b.len - 1,
				c->fr.keep_alive);
			c->pp->st.requests++;
			c->pp->st.errors++;
			buf_fini(&b);
			json_decref(root);
			return;
		}
		buf_append(&line, body, blen);
	} else {
		buf_printf(&line, "{\"type\":\"%.*s\"%s", (int)nlen, name,
			json_object_size(root) > 0 ? "," : "}");
		if (json_object_size(root) > 0)
			buf_append(&line, body + k + 1, blen - k - 1);
	}
	json_decref(root);
	pp_handle_cmd(c, line.p, line.len);
	buf_fini(&line);
}

/* POST /api/batch: a JSON array of commands, answered by the array of their
 * replies in order. */
static void
pp_http_batch(struct pp_conn *c, const char *body, size_t blen)
{
	bool ka = c->fr.keep_alive;
	json_error_t je;
	json_t *root = json_loadb(body, blen, JSON_DECODE_ANY, &je);
	if (root == NULL || !json_is_array(root)) {
		pp_http_error(c, 400, root ? "bad_request" : "bad_json",
			"the body must be a JSON array of commands", ka);
		json_decref(root);
		return;
	}
	size_t n = json_array_size(root);
	json_decref(root);
	if (n > HTTP_API_MAX_BATCH) {
		pp_http_error(c, 413, "too_large", "more than 1000 commands in one batch", ka);
		return;
	}
	if (n == 0) {
		pp_http_raw(c, 200, "application/json", NULL, "[]", 2, ka);
		return;
	}
	size_t *off = xmalloc(2 * n * sizeof *off), *len = off + n;
	if (http_api_split_array(body, blen, off, len, n) != (long)n) {
		pp_http_error(c, 400, "bad_request", "the body must be a JSON array of commands", ka);
		free(off);
		return;
	}
	for (size_t i = 0; i < n && !c->dead; i++) {
		c->fr.first = i == 0;
		c->fr.last = i == n - 1;
		pp_handle_cmd(c, body + off[i], len[i]);
	}
	free(off);
}

/* web-msg-sender's publish (GET /?… or a form POST /):
 * type=publish&to=<uid>&content=<text> sends {"type":"new_msg","content":…}
 * to uid `to`, or to everyone when `to` is empty or absent. */
static void
pp_http_wms(struct pp_conn *c, const struct http_api_req *r, const char *body, size_t blen)
{
	bool ka = c->fr.keep_alive;
	const char *q = r->query;
	size_t qn = r->query_len;
	if (r->method == HTTP_API_POST && blen > 0) {
		q = body;
		qn = blen;
	}
	char *tmp = xmalloc(qn + 1);
	char type[16];
	json_t *msg = NULL, *cmd = NULL;
	char *data = NULL, *line = NULL;
	if (query_param(q, qn, "type", type, sizeof type) < 0 || strcmp(type, "publish") != 0)
		goto fail;
	int cl = query_param(q, qn, "content", tmp, qn + 1);
	if (cl == -ENOENT)
		cl = 0;
	if (cl < 0 || (msg = json_pack("{s:s, s:s%}", "type", "new_msg", "content", tmp,
			       (size_t)cl)) == NULL)
		goto fail;
	data = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	int tl = query_param(q, qn, "to", tmp, qn + 1);
	if (tl == -ENOENT)
		tl = 0;
	if (tl < 0)
		goto fail;
	if (tl == 0)
		cmd = json_pack("{s:s, s:s}", "type", "send_to_all", "data", data);
	else
		cmd = json_pack("{s:s, s:s%, s:s}", "type", "send_to_uid", "uid", tmp, (size_t)tl,
			"data", data);
	if (cmd == NULL)
		goto fail;
	line = json_dumps(cmd, JSON_COMPACT);
	c->fr.kind = PP_HTTP_WMS;
	pp_handle_cmd(c, line, strlen(line));
	goto done;
fail:
	pp_http_text(c, 400, "fail", ka);
	c->pp->st.errors++;
done:
	free(line);
	free(data);
	json_decref(cmd);
	json_decref(msg);
	free(tmp);
}

static bool
pp_path_is(const struct http_api_req *r, const char *path)
{
	return r->path_len == strlen(path) && memcmp(r->path, path, r->path_len) == 0;
}

/* One complete request: head r, body borrowed for the call. */
static void
pp_http_request(struct pp_conn *c, const struct http_api_req *r, const char *body, size_t blen)
{
	struct push_port *pp = c->pp;
	bool ka = r->keep_alive;
	memset(&c->fr, 0, sizeof c->fr);
	c->fr.keep_alive = ka;

	bool health = pp_path_is(r, "/healthz"), ready = pp_path_is(r, "/readyz"),
	     metrics = pp_path_is(r, "/metrics");
	if (health || ready || metrics) {
		if (r->method != HTTP_API_GET) {
			pp_http_raw(c, 405, "text/plain; charset=utf-8", "Allow: GET\r\n",
				"method not allowed\n", 19, ka);
		} else if (health) {
			pp_http_text(c, 200, "ok\n", ka);
		} else if (ready) {
			bool up = pp->ready != NULL && pp->ready(pp->arg);
			pp_http_text(c, up ? 200 : 503, up ? "ready\n" : "not ready\n", ka);
		} else {
			struct buf b = BUF_INIT;
			pp->metrics(pp->arg, &b);
			pp_http_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.p,
				b.len, ka);
			buf_fini(&b);
		}
		goto out;
	}

	bool root = pp_path_is(r, "/");
	bool api = r->path_len > 5 && memcmp(r->path, "/api/", 5) == 0;
	if (!root && !api) {
		pp_http_error(c, 404, "not_found", "no such route", ka);
		goto out;
	}
	if (!pp_http_authed(c, r)) {
		pp->st.unauthorized++;
		if (root)
			pp_http_raw(c, 401, "text/plain; charset=utf-8",
				"WWW-Authenticate: Bearer\r\n", "fail", 4, ka);
		else
			pp_http_raw(c, 401, "application/json", "WWW-Authenticate: Bearer\r\n",
				"{\"ok\":false,\"error\":\"unauthorized\",\"message\":"
				"\"Authorization: Bearer <push.secret> required\"}",
				sizeof "{\"ok\":false,\"error\":\"unauthorized\",\"message\":"
				       "\"Authorization: Bearer <push.secret> required\"}" - 1, ka);
		goto out;
	}
	if (root) {
		if (r->method != HTTP_API_GET && r->method != HTTP_API_POST)
			pp_http_raw(c, 405, "text/plain; charset=utf-8", "Allow: GET, POST\r\n",
				"fail", 4, ka);
		else
			pp_http_wms(c, r, body, blen);
		goto out;
	}
	if (r->method != HTTP_API_POST) {
		pp_http_raw(c, 405, "application/json", "Allow: POST\r\n",
			"{\"ok\":false,\"error\":\"method_not_allowed\",\"message\":\"use POST\"}",
			sizeof "{\"ok\":false,\"error\":\"method_not_allowed\",\"message\":\"use POST\"}" - 1,
			ka);
		goto out;
	}
	const char *name = r->path + 5;
	size_t nlen = r->path_len - 5;
	if (nlen == 5 && memcmp(name, "batch", 5) == 0) {
		c->fr.kind = PP_HTTP_BATCH;
		pp_http_batch(c, body, blen);
	} else {
		c->fr.kind = PP_HTTP_JSON;
		pp_http_command(c, name, nlen, body, blen);
	}
out:
	memset(&c->fr, 0, sizeof c->fr);
	if (!ka)
		c->close_after_flush = true;
}

/* Handles the complete requests in c->in. */
static void
pp_parse_http(struct pp_conn *c)
{
	uint64_t max_body = c->pp->cfg->gateway_max_line;
	while (!c->dead && !c->close_after_flush && ring_len(&c->fifo) < PUSH_PORT_MAX_INFLIGHT &&
		c->in.len > 0) {
		struct http_api_req r;
		int hl = http_api_parse_head(c->in.p, c->in.len, &r);
		if (hl == 0)
			return;
		if (hl < 0) {
			pp_http_error(c, r.error_status, r.error_status == 411 ? "length_required" :
				r.error_status == 431 ? "too_large" : "bad_request",
				"malformed or unsupported HTTP request", false);
			return;
		}
		if (r.content_length > max_body) {
			pp_http_error(c, 413, "too_large", "body longer than gateway.max_line", false);
			return;
		}
		size_t need = (size_t)hl + (size_t)r.content_length;
		if (c->in.len < need) {
			if (r.expect_continue && !c->continued && ring_len(&c->fifo) == 0) {
				c->continued = true;
				buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				pp_write(c);
			}
			return;
		}
		c->continued = false;
		pp_http_request(c, &r, c->in.p + hl, (size_t)r.content_length);
		if (c->dead)
			return;
		buf_consume(&c->in, need);
		c->partial_since = c->in.len > 0 ? clock_ms() : 0;
	}
}

/* Idle keep-alive connections end after gateway.idle_timeout; a request
 * that is not complete within gateway.handshake_timeout ends its connection
 * (slowloris). Connections with requests in flight wait for the answers. */
static void
pp_http_sweep(struct push_port *pp, uint64_t now)
{
	struct pp_conn *c = pp->conns, *next;
	for (; c != NULL; c = next) {
		next = c->next;
		if (c->kind != PP_KIND_HTTP || ring_len(&c->fifo) > 0)
			continue;
		if (c->in.len > 0 && !c->close_after_flush &&
			now - c->partial_since >= pp->cfg->gateway_handshake_timeout_ms) {
			buf_reset(&c->in);
			pp_http_text(c, 408, "request timeout\n", false);
			pp_flush(c);
		} else if (c->in.len == 0 && now - c->last_active >= pp->cfg->gateway_idle_timeout_ms) {
			pp_kill(c);
		}
	}
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
	pp_flush(c);
}

static void
pp_read(struct pp_conn *c)
{
	struct push_port *pp = c->pp;
	size_t max_line = pp->cfg->gateway_max_line;
	for (;;) {
		if (c->kind == PP_KIND_HTTP) {
			pp_parse_http(c);
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
			pp_flush(c);
			return;
		}
		if (c->paused)
			break;
		buf_reserve(&c->in, PP_READ_CHUNK);
		ssize_t r = read(c->fd, c->in.p + c->in.len, PP_READ_CHUNK);
		if (r > 0) {
			if (c->in.len == 0)
				c->partial_since = clock_ms();
			c->in.len += (size_t)r;
			c->in.p[c->in.len] = '\0';
			c->last_active = clock_ms();
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
	if (pp->metrics != NULL && now >= pp->next_http_check) {
		pp->next_http_check = now + PP_HTTP_CHECK_MS;
		pp_http_sweep(pp, now);
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
