/*
 * push_http — the HTTP framing of the push port (http.listen; the routes and
 * their auth are described in push_port.h). A request read off a connection
 * becomes entries of that connection's FIFO: one per command (several for
 * /api/batch), which go through the port's ring, timeouts and submit
 * callback like push lines, or one answer known at once (errors, /healthz,
 * /readyz, /metrics). When the entries of a request are all answered,
 * pp_http_emit writes the response, so pipelined requests are answered in
 * order. The status of an answer follows from its error code
 * (push_reply_status), never from reading the reply back.
 *
 * This file is a framing of the push port (struct pp_framing,
 * push_port_int.h): it calls the port, the port calls it only through those
 * ops. Deliberately not here: parsing HTTP bytes (http1.c, pure and fuzzed),
 * and sockets, reading, writing and connection lifetime (push_port.c).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/ct.h"
#include "common/ring.h"
#include "common/xmalloc.h"
#include "http/http1.h"
#include "push/push_batch.h"
#include "http/http_query.h"
#include "http/http_reply.h"
#include "push/push_http.h"
#include "push/push_port_int.h"
#include "push/push_reply.h"

#define PP_HTTP_CHECK_MS 500 /* how often HTTP connections are checked for timeouts */

/* The framing's state: a listener's farg. */
struct pp_http {
	push_metrics_fn *metrics;
	push_ready_fn *ready;
	uint64_t next_check; /* clock_ms */
};

/* ---- output ------------------------------------------------------------- */

/* pp_emit_fn: the answer as a whole response, or part of the batch's. */
static void
pp_http_emit(struct pp_conn *c, const struct pp_frame *fr, const struct push_reply *rep)
{
	const char *text = rep->line;
	size_t len = rep->len;
	if (fr->kind == PP_HTTP_RAW) {
		buf_append(&c->out, text, len);
		return;
	}
	if (len > 0 && text[len - 1] == '\n')
		len--;
	int status = push_reply_status(rep->error);
	if (fr->kind == PP_HTTP_JSON) {
		http_reply_write(&c->out, status, &(struct http_reply){.content_type = "application/json",
			.connection = fr->keep_alive ? NULL : "close"}, text, len);
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
			http_reply_write(&c->out, 200, &(struct http_reply){.content_type =
				"application/json", .connection = fr->keep_alive ? NULL : "close"},
				c->batch.p, c->batch.len);
			buf_reset(&c->batch);
		}
	} else {
		/* web-msg-sender: "ok" when delivered to a connection, "offline"
		 * when to nobody, "fail" on any error. */
		const char *word = "fail";
		if (status == 200)
			word = rep->delivered > 0 ? "ok" : "offline";
		http_reply_write(&c->out, status, &(struct http_reply){.content_type =
			"text/plain; charset=utf-8", .connection = fr->keep_alive ? NULL : "close"},
			word, strlen(word));
	}
}

/* ---- requests ----------------------------------------------------------- */

/* Queues a response known at once. Without keep-alive, the connection ends
 * once it is written. */
static void
pp_http_raw(struct pp_conn *c, int status, const char *ctype, const char *extra,
	const char *body, size_t len, bool keep_alive)
{
	struct buf b = BUF_INIT;
	struct pp_frame fr = {.kind = PP_HTTP_RAW};
	http_reply_write(&b, status, &(struct http_reply){.content_type = ctype, .extra = extra,
		.connection = keep_alive ? NULL : "close"}, body, len);
	size_t n;
	char *line = buf_steal(&b, &n);
	push_port_conn_answer(c, &fr, line, n, PROTO_ERR_NONE);
	if (!keep_alive)
		c->close_after_flush = true;
}

/* An error response known at once; status is the request's (a head error's
 * may differ from push_reply_status(code), e.g. 431 for too_large). */
static void
pp_http_error(struct pp_conn *c, int status, enum proto_error code, const char *message,
	bool keep_alive)
{
	struct buf b = BUF_INIT;
	http_reply_error_body(&b, proto_error_name(code), message);
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
pp_http_authed(const struct pp_conn *c, const struct http1_req *r)
{
	const char *secret = c->pp->cfg->push_secret;
	size_t sn = strlen(secret);
	if (sn == 0)
		return true;
	if (r->authorization.p == NULL || r->authorization.n != 7 + sn ||
		strncasecmp(r->authorization.p, "Bearer ", 7) != 0)
		return false;
	return ct_equal(r->authorization.p + 7, secret, sn);
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
		pp_http_error(c, 400, PROTO_ERR_UNKNOWN_TYPE, "unknown command in the URL",
			c->fr.keep_alive);
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
			push_reply_error(json_object_get(root, "id"), PROTO_ERR_BAD_REQUEST,
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
	push_port_conn_command(c, line.p, line.len);
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
		pp_http_error(c, 400, root ? PROTO_ERR_BAD_REQUEST : PROTO_ERR_BAD_JSON,
			"the body must be a JSON array of commands", ka);
		json_decref(root);
		return;
	}
	size_t n = json_array_size(root);
	json_decref(root);
	if (n > PUSH_BATCH_MAX) {
		pp_http_error(c, 413, PROTO_ERR_TOO_LARGE, "more than 1000 commands in one batch",
			ka);
		return;
	}
	if (n == 0) {
		pp_http_raw(c, 200, "application/json", NULL, "[]", 2, ka);
		return;
	}
	size_t *off = xmalloc(2 * n * sizeof *off), *len = off + n;
	if (push_batch_split(body, blen, off, len, n) != (long)n) {
		pp_http_error(c, 400, PROTO_ERR_BAD_REQUEST,
			"the body must be a JSON array of commands", ka);
		free(off);
		return;
	}
	for (size_t i = 0; i < n && !c->dead; i++) {
		c->fr.first = i == 0;
		c->fr.last = i == n - 1;
		push_port_conn_command(c, body + off[i], len[i]);
	}
	free(off);
}

/* web-msg-sender's publish (GET /?… or a form POST /):
 * type=publish&to=<uid>&content=<text> sends {"type":"new_msg","content":…}
 * to uid `to`, or to everyone when `to` is empty or absent. */
static void
pp_http_wms(struct pp_conn *c, const struct http1_req *r, const char *body, size_t blen)
{
	bool ka = c->fr.keep_alive;
	const char *q = r->query.p;
	size_t qn = r->query.n;
	if (r->method == HTTP1_POST && blen > 0) {
		q = body;
		qn = blen;
	}
	char *tmp = xmalloc(qn + 1);
	char type[16];
	json_t *msg = NULL, *cmd = NULL;
	char *data = NULL, *line = NULL;
	if (http_query_param((struct http_span){q, qn}, "type", type, sizeof type) < 0 ||
		strcmp(type, "publish") != 0)
		goto fail;
	int cl = http_query_param((struct http_span){q, qn}, "content", tmp, qn + 1);
	if (cl == -ENOENT)
		cl = 0;
	if (cl < 0 || (msg = json_pack("{s:s, s:s%}", "type", "new_msg", "content", tmp,
			       (size_t)cl)) == NULL)
		goto fail;
	data = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	int tl = http_query_param((struct http_span){q, qn}, "to", tmp, qn + 1);
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
	push_port_conn_command(c, line, strlen(line));
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
pp_path_is(const struct http1_req *r, const char *path)
{
	return r->path.n == strlen(path) && memcmp(r->path.p, path, r->path.n) == 0;
}

static const char pp_unauthorized[] =
	"{\"ok\":false,\"error\":\"unauthorized\",\"message\":"
	"\"Authorization: Bearer <push.secret> required\"}";
static const char pp_use_post[] =
	"{\"ok\":false,\"error\":\"method_not_allowed\",\"message\":\"use POST\"}";

/* One complete request: head r, body borrowed for the call. */
static void
pp_http_request(struct pp_conn *c, const struct http1_req *r, const char *body, size_t blen)
{
	struct push_port *pp = c->pp;
	struct pp_http *h = c->ln->farg;
	bool ka = r->keep_alive;
	memset(&c->fr, 0, sizeof c->fr);
	c->fr.keep_alive = ka;

	bool health = pp_path_is(r, "/healthz"), ready = pp_path_is(r, "/readyz"),
	     metrics = pp_path_is(r, "/metrics");
	if (health || ready || metrics) {
		if (r->method != HTTP1_GET) {
			pp_http_raw(c, 405, "text/plain; charset=utf-8", "Allow: GET\r\n",
				"method not allowed\n", 19, ka);
		} else if (health) {
			pp_http_text(c, 200, "ok\n", ka);
		} else if (ready) {
			bool up = h->ready != NULL && h->ready(pp->arg);
			pp_http_text(c, up ? 200 : 503, up ? "ready\n" : "not ready\n", ka);
		} else {
			struct buf b = BUF_INIT;
			h->metrics(pp->arg, &b);
			pp_http_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.p,
				b.len, ka);
			buf_fini(&b);
		}
		goto out;
	}

	bool root = pp_path_is(r, "/");
	bool api = r->path.n > 5 && memcmp(r->path.p, "/api/", 5) == 0;
	if (!root && !api) {
		pp_http_error(c, 404, PROTO_ERR_NOT_FOUND, "no such route", ka);
		goto out;
	}
	if (!pp_http_authed(c, r)) {
		pp->st.unauthorized++;
		if (root)
			pp_http_raw(c, 401, "text/plain; charset=utf-8",
				"WWW-Authenticate: Bearer\r\n", "fail", 4, ka);
		else
			pp_http_raw(c, 401, "application/json", "WWW-Authenticate: Bearer\r\n",
				pp_unauthorized, sizeof pp_unauthorized - 1, ka);
		goto out;
	}
	if (root) {
		if (r->method != HTTP1_GET && r->method != HTTP1_POST)
			pp_http_raw(c, 405, "text/plain; charset=utf-8", "Allow: GET, POST\r\n",
				"fail", 4, ka);
		else
			pp_http_wms(c, r, body, blen);
		goto out;
	}
	if (r->method != HTTP1_POST) {
		pp_http_raw(c, 405, "application/json", "Allow: POST\r\n", pp_use_post,
			sizeof pp_use_post - 1, ka);
		goto out;
	}
	const char *name = r->path.p + 5;
	size_t nlen = r->path.n - 5;
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

/* The complete requests in c->in (pp_read_fn). */
static void
pp_http_read(struct pp_conn *c)
{
	uint64_t max_body = c->pp->cfg->gateway_max_line;
	while (!c->dead && !c->close_after_flush && ring_len(&c->fifo) < PUSH_PORT_MAX_INFLIGHT &&
		c->in.len > 0) {
		struct http1_req r;
		int hl = http1_parse(c->in.p, c->in.len, &r);
		if (hl == 0)
			return;
		if (hl < 0) {
			enum proto_error code = PROTO_ERR_BAD_REQUEST;
			if (r.status == 411)
				code = PROTO_ERR_LENGTH_REQUIRED;
			else if (r.status == 431)
				code = PROTO_ERR_TOO_LARGE;
			pp_http_error(c, r.status, code,
				"malformed or unsupported HTTP request", false);
			return;
		}
		if (r.content_length > max_body) {
			pp_http_error(c, 413, PROTO_ERR_TOO_LARGE, "body longer than gateway.max_line",
				false);
			return;
		}
		size_t need = (size_t)hl + (size_t)r.content_length;
		if (c->in.len < need) {
			if (r.expect_continue && !c->continued && ring_len(&c->fifo) == 0) {
				c->continued = true;
				buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
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
pp_http_sweep(struct pp_listener *ln, uint64_t now)
{
	struct push_port *pp = ln->pp;
	struct pp_http *h = ln->farg;
	if (now < h->next_check)
		return; /* checked recently */
	h->next_check = now + PP_HTTP_CHECK_MS;
	struct pp_conn *c = pp->conns, *next;
	for (; c != NULL; c = next) {
		next = c->next;
		if (c->ln != ln || ring_len(&c->fifo) > 0)
			continue;
		if (c->in.len > 0 && !c->close_after_flush &&
			now - c->partial_since >= pp->cfg->gateway_handshake_timeout_ms) {
			buf_reset(&c->in);
			pp_http_text(c, 408, "request timeout\n", false);
			push_port_conn_proceed(c, false);
		} else if (c->in.len == 0 && now - c->last_active >= pp->cfg->gateway_idle_timeout_ms) {
			push_port_conn_kill(c);
		}
	}
}

static const struct pp_framing pp_http = {
	.read = pp_http_read,
	.emit = pp_http_emit,
	.sweep = pp_http_sweep,
	.fini = free,
};

void
push_http_listen(struct push_port *pp, int fd, push_metrics_fn *metrics, push_ready_fn *ready)
{
	struct pp_http *h = xcalloc(1, sizeof *h);
	h->metrics = metrics;
	h->ready = ready;
	push_port_listen(pp, fd, &pp_http, h);
}
