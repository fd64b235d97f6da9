/*
 * gateway — see gateway.h. This file is the wiring: WebSocket events become
 * PROTO_EVENTs, push requests become PROTO_REQUESTs, both routed to the
 * worker that owns the client (route.h); PROTO_OPs from workers go to exec;
 * PROTO_REPLYs to the push port. The door policy is guard.h and, with
 * auth.mode = token, login.h; a connection's state is client.h.
 *
 * Also here: plain HTTP requests on the WebSocket port (the compiled-in
 * files, assets.h, and the demo's endpoints, demo.h: its token, and its
 * POST /demo/push, which waits for its push in the push port's ring like
 * an HTTP API request), and the changes of
 * watched groups (presence_watch.h), each sent as an EVENT_PRESENCE to the
 * worker that owns the group — the same worker from every gateway, by
 * rendezvous hash of the group's name. When that owner may have lost what
 * it was told (a worker left or broke) or members vanished without a word
 * (another gateway left), every watched group with members here is
 * reported again, so the counts heal.
 *
 * What it reports about itself is gathered here (gw_figures) and rendered by
 * gateway_metrics.h.
 */
#include "gateway/gateway.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "cluster/inbox.h"
#include "common/log.h"
#include "common/net.h"
#include "cluster/outlink.h"
#include "cluster/prog.h"
#include "common/xmalloc.h"
#include "gateway/assets.h"
#include "gateway/client.h"
#include "gateway/conn_index.h"
#include "gateway/demo.h"
#include "gateway/exec.h"
#include "proto/strvec.h"
#include "ws/ws_frame.h"
#include "gateway/gateway_metrics.h"
#include "gateway/guard.h"
#include "gateway/login.h"
#include "ws/ws_handshake.h"
#include "gateway/presence_watch.h"
#include "gateway/route.h"
#include "push/push_http.h"
#include "push/push_port.h"
#include "push/push_table.h"
#include "gateway/ws_server.h"
#include "proto/client_frame.h"
#include "proto/clientid.h"
#include "proto/msg.h"
#include "cluster/member.h"
#include "cluster/peers.h"

#define GW_SWEEP_MS 100
#define GW_STOP_GRACE_MS 3000
#define GW_OUTLINK_QUEUE 65536

struct gateway {
	struct event_base *base;
	const struct config *cfg;
	uint64_t id;
	char *inbox_url;
	struct inbox *inbox;
	struct member *member;
	struct peers *workers;
	struct ws_server *ws;
	struct ws_ops ws_ops;               /* gw_ws_ops, and on_post with the demo */
	struct push_port *push;
	struct conn_index *ix;
	struct exec_ctx *exec;
	bool token_mode; /* auth.mode = token (login is used only then) */
	uint64_t next_seq;
	struct route *route;   /* to the workers, and the queue while there is none */
	struct event *sweep_ev;
	struct strvec scratch;
	struct buf enc;
	bool stopping;
	uint64_t stop_deadline;
	struct ws_out *err_no_worker, *err_overloaded, *err_rate_limited;
	struct guard *guard;
	struct login *login; /* auth.mode = token */
	uint64_t refused_origin, refused_ip, rate_limited;
	uint64_t closed_rate_limit;
	uint64_t push_commands[CMD__COUNT]; /* submitted to the cluster, by type */
	size_t gateways_live;               /* other gateways in the member view */
	uint64_t ops_expired;               /* OPs that arrived after their expiry */
	bool demo;                          /* demo.enabled = on */
	struct presence_watch *watch;       /* gateway.presence_groups */
	uint64_t presence_sent, presence_dropped;
	uint64_t *peer_gateways;            /* the other gateways in the last view, sorted */
	size_t npeer_gateways;
};

/* ---- to the workers ------------------------------------------------------- */

static void
gw_send_error_frame(struct gateway *gw, uint64_t seq, struct ws_out *f)
{
	struct client *cl = conn_index_get(gw->ix, seq);
	if (cl != NULL)
		ws_send(cl->ws, f);
}

/* The live worker that owns key (route_ops). */
static void *
gw_route_pick(void *arg, uint64_t key)
{
	struct gateway *gw = arg;
	const struct peer *p = peers_pick(gw->workers, key);
	return p != NULL ? p->link : NULL;
}

static int
gw_route_send(void *arg, void *worker, const void *p, size_t n)
{
	return outlink_send(worker, p, n);
}

/* A queued message could not be delivered (route_ops): answer it. */
static void
gw_route_fail(void *arg, enum route_kind kind, uint64_t ref, int err)
{
	struct gateway *gw = arg;
	bool overloaded = err == -ENOBUFS;
	const char *code = overloaded ? "overloaded" : "no_worker";
	if (kind == ROUTE_REQUEST)
		push_port_fail(gw->push, ref, code,
			overloaded ? "the worker queue is full" : "no worker available within gateway.worker_wait");
	else if (kind == ROUTE_MESSAGE)
		gw_send_error_frame(gw, ref, overloaded ? gw->err_overloaded : gw->err_no_worker);
	else if (kind == ROUTE_PRESENCE)
		gw->presence_dropped++; /* counted, not logged: they come in bursts */
	else
		log_warn("event_dropped", "reason=%s", code);
}

static const struct route_ops gw_route_ops = {
	.pick = gw_route_pick,
	.send = gw_route_send,
	.fail = gw_route_fail,
};

/* ---- WebSocket events ------------------------------------------------------ */

static void
gw_event(struct gateway *gw, struct client *cl, uint8_t kind, const void *data, size_t len,
	bool binary, uint16_t code)
{
	char cid[CLIENTID_LEN + 1];
	struct proto_msg pm;
	size_t ulen = 0;
	const char *uid = conn_index_uid(gw->ix, cl->seq, &ulen);

	clientid_format(gw->id, cl->seq, cid);
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_EVENT;
	pm.u.event.gateway = gw->id;
	pm.u.event.client_id.p = cid;
	pm.u.event.client_id.n = CLIENTID_LEN;
	pm.u.event.kind = kind;
	pm.u.event.binary = binary;
	pm.u.event.data.p = data;
	pm.u.event.data.n = (uint32_t)len;
	pm.u.event.uid.p = uid;
	pm.u.event.uid.n = (uint32_t)ulen;
	pm.u.event.close_code = code;
	buf_reset(&gw->enc);
	proto_encode(&pm, &gw->enc);
	/* A connect that finds no worker is answered like a message: the client
	 * learns that its welcome/login did not happen. */
	enum route_kind rk = kind == EVENT_CLOSE ? ROUTE_OTHER : ROUTE_MESSAGE;
	if (route_send(gw->route, route_key_client(cl->seq), gw->enc.p, gw->enc.len, rk,
		    cl->seq) != 0) {
		if (kind != EVENT_CLOSE)
			ws_send(cl->ws, gw->err_overloaded);
		else
			log_warn("event_dropped", "reason=overloaded kind=%u", kind);
	}
}

/* The members of group changed here (exec_group_fn; also a conn_index
 * name visitor): when it is watched, tell the worker that owns it. */
static void
gw_presence(void *arg, const char *group, size_t len)
{
	struct gateway *gw = arg;
	struct proto_msg pm;
	if (!presence_watch_match(gw->watch, group, len))
		return;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_EVENT;
	pm.u.event.gateway = gw->id;
	pm.u.event.kind = EVENT_PRESENCE;
	pm.u.event.data.p = group;
	pm.u.event.data.n = (uint32_t)len;
	buf_reset(&gw->enc);
	proto_encode(&pm, &gw->enc);
	if (route_send(gw->route, presence_watch_key(group, len), gw->enc.p, gw->enc.len,
		    ROUTE_PRESENCE, 0) == 0)
		gw->presence_sent++;
	else
		gw->presence_dropped++;
}

/* Reports every watched group that has members here again (see the top of
 * the file). */
static void
gw_presence_all(struct gateway *gw)
{
	if (presence_watch_any(gw->watch) && !gw->stopping)
		conn_index_each_group_name(gw->ix, gw_presence, gw);
}

/* Before the 101 (ws_server.h): the door policy. A refused upgrade never becomes
 * a WebSocket: 403 bad Origin, 401 bad token (or a uid without one in
 * token mode), 429 too many connections from the IP. */
static int
gw_on_upgrade(void *arg, struct ws_conn *c, const struct ws_handshake *req)
{
	struct gateway *gw = arg;
	struct jwt_claims claims;
	bool have_token = false;
	char peer[64];
	int status;
	if (!guard_origin_ok(gw->guard, req->origin)) {
		gw->refused_origin++;
		status = 403;
		goto refuse;
	}
	if (gw->token_mode && login_upgrade(gw->login, req->query, &claims, &have_token) != 0) {
		status = 401;
		goto refuse;
	}
	uint64_t ip = guard_client_ip(gw->guard, ws_peer_ip(c, peer, sizeof peer), req->forwarded_for);
	if (!guard_ip_acquire(gw->guard, ip)) {
		gw->refused_ip++;
		status = 429;
		goto refuse;
	}
	/* Accepted: the client exists from here on (the 101 follows at once,
	 * with no loop turn in between). */
	struct client *cl = client_new(c, ++gw->next_seq, ip);
	conn_index_add(gw->ix, cl->seq, cl);
	ws_set_user(c, cl);
	if (have_token)
		login_bind(gw->login, cl, &claims);
	return 0;
refuse:
	if (have_token)
		jwt_claims_fini(&claims);
	return status;
}

static void
gw_on_open(void *arg, struct ws_conn *c, const struct ws_handshake *req)
{
	struct gateway *gw = arg;
	struct client *cl = ws_user(c);
	guard_bucket_init(gw->guard, &cl->bucket, clock_ms());
	if (gw->token_mode)
		login_start(gw->login, cl, clock_ms());
	gw_event(gw, cl, EVENT_CONNECT, req->query.p, req->query.n, false, 0);
}

static void
gw_on_message(void *arg, struct ws_conn *c, const void *data, size_t len, bool binary)
{
	struct gateway *gw = arg;
	struct client *cl = ws_user(c);
	if (!guard_rate_take(gw->guard, &cl->bucket, clock_ms())) {
		gw->rate_limited++;
		if (++cl->limited >= gw->cfg->gateway_rate_limit_close) {
			gw->closed_rate_limit++;
			ws_close(c, WS_CLOSE_POLICY, "rate limit");
			return;
		}
		ws_send(c, gw->err_rate_limited);
		return;
	}
	cl->limited = 0;
	if (gw->token_mode && !login_message(gw->login, cl, data, len, binary))
		return;
	gw_event(gw, cl, EVENT_MESSAGE, data, len, binary, 0);
}

static void
gw_on_close(void *arg, struct ws_conn *c, uint16_t code)
{
	struct gateway *gw = arg;
	struct client *cl = ws_user(c);
	if (!gw->stopping) {
		gw_event(gw, cl, EVENT_CLOSE, NULL, 0, false, code);
		/* The worker counts after this turn, when the removal is done. A
		 * stopping gateway says nothing: it leaves the view, and the
		 * others report their groups again. */
		if (presence_watch_any(gw->watch))
			conn_index_each_group_of(gw->ix, cl->seq, gw_presence, gw);
	}
	conn_index_remove(gw->ix, cl->seq);
	client_free(cl, gw->guard);
	ws_set_user(c, NULL);
}

/* ---- plain HTTP on the WebSocket port --------------------------------------- */

/* What a plain request holds while it lives (ws_user). */
struct gw_plain {
	uint64_t ip;   /* the guard_client_ip key of the IP slot it holds */
	uint64_t push; /* POST /demo/push: the push_table request it waits for, or 0 */
};

/* Takes one of the request's IP slots, as a WebSocket would: NULL when the
 * IP has none left. */
static struct gw_plain *
gw_plain_new(struct gateway *gw, struct ws_conn *c, struct http_span forwarded_for)
{
	char ip[64];
	uint64_t key = guard_client_ip(gw->guard, ws_peer_ip(c, ip, sizeof ip), forwarded_for);
	if (!guard_ip_acquire(gw->guard, key)) {
		gw->refused_ip++;
		return NULL;
	}
	struct gw_plain *p = xcalloc(1, sizeof *p);
	p->ip = key;
	ws_set_user(c, p);
	return p;
}

/* A plain request (ws_server.h): it holds one of its IP's slots while it lives, as
 * a WebSocket would, and gets a compiled-in file, the demo's token, or 404. */
static int
gw_on_request(void *arg, struct ws_conn *c, const struct ws_handshake *req, struct buf *out)
{
	struct gateway *gw = arg;
	if (gw_plain_new(gw, c, req->forwarded_for) == NULL)
		return 429;
	if (gw->demo && req->path.n == 11 && memcmp(req->path.p, "/demo/token", 11) == 0)
		demo_token(gw->cfg, gw->token_mode, req, out);
	else if (gw->demo && req->path.n == 10 && memcmp(req->path.p, "/demo/push", 10) == 0)
		assets_reply(out, 405, "text/plain; charset=utf-8", NULL, "Allow: POST\r\n",
			"use POST\n", 9, req->method.n == 3);
	else
		assets_respond(req, gw->demo, out);
	return 0;
}

/* The push of a POST /demo/push is answered (push_done_fn; arg is the
 * connection, which waits for it: gw_on_request_end cancels first). */
static void
gw_demo_push_done(void *arg, uint64_t req, const struct push_reply *rep)
{
	struct ws_conn *c = arg;
	struct gw_plain *p = ws_user(c);
	struct buf out = BUF_INIT;
	p->push = 0;
	demo_push_reply(&out, rep);
	ws_answer(c, out.p, out.len);
	buf_fini(&out);
}

/* A POST (only with demo.enabled = on): /demo/push takes an IP slot like
 * any plain request, must pass gateway.allowed_origins like an upgrade and
 * be JSON, and its command (demo_push_filter) goes to the cluster through
 * the push port's request table, as the HTTP API's do. The answer comes when the
 * push is answered (gw_demo_push_done), or the connection ends first
 * (handshake_timeout, the peer) and cancels it. */
static int
gw_on_post(void *arg, struct ws_conn *c, const struct ws_post *req, struct buf *out)
{
	struct gateway *gw = arg;
	static const char full[] = "{\"ok\":false,\"error\":\"too_many_connections\","
				   "\"message\":\"gateway.max_connections_per_ip reached\"}";
	static const char origin[] = "{\"ok\":false,\"error\":\"forbidden\","
				     "\"message\":\"Origin is not in gateway.allowed_origins\"}";
	if (!demo_push_path(req->path))
		return 405;
	struct gw_plain *p = gw_plain_new(gw, c, req->forwarded_for);
	if (p == NULL) {
		demo_reply(out, 429, full, sizeof full - 1);
		return 0;
	}
	if (!guard_origin_ok(gw->guard, req->origin)) {
		gw->refused_origin++;
		demo_reply(out, 403, origin, sizeof origin - 1);
		return 0;
	}
	if (demo_push_check(req->content_type, out) != 0)
		return 0;
	struct push_table *t = push_port_table(gw->push);
	struct buf now = BUF_INIT;
	struct push_reply rep = {NULL, 0, PROTO_ERR_NONE, 0};
	p->push = push_table_submit(t, clock_ms() + gw->cfg->gateway_request_timeout_ms, req->body,
		req->body_len, push_table_key(t), demo_push_filter, gw_demo_push_done, c, &now,
		&rep.error);
	if (p->push == 0) {
		rep.line = now.p;
		rep.len = now.len;
		demo_push_reply(out, &rep);
	}
	buf_fini(&now);
	return p->push != 0 ? WS_PENDING : 0;
}

static void
gw_on_request_end(void *arg, struct ws_conn *c)
{
	struct gateway *gw = arg;
	struct gw_plain *p = ws_user(c);
	if (p == NULL)
		return; /* refused before it took a slot */
	push_table_cancel(push_port_table(gw->push), p->push);
	guard_ip_release(gw->guard, p->ip);
	free(p);
	ws_set_user(c, NULL);
}

static const struct ws_ops gw_ws_ops = {
	.on_upgrade = gw_on_upgrade,
	.on_open = gw_on_open,
	.on_message = gw_on_message,
	.on_close = gw_on_close,
	.on_request = gw_on_request,
	.on_request_end = gw_on_request_end,
};

/* ---- push requests --------------------------------------------------------- */

static int
gw_submit(void *arg, uint64_t req, uint64_t key, const struct proto_cmd *cmd,
	enum proto_error *error_code, const char **message)
{
	struct gateway *gw = arg;
	struct proto_msg pm;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_REQUEST;
	pm.u.request.gateway = gw->id;
	pm.u.request.req = req;
	pm.u.request.cmd = *cmd;
	/* After this the push port has answered "timeout": no worker may act
	 * on the request any more (a worker that was stopped and resumes
	 * would otherwise deliver pushes reported as timed out). */
	pm.u.request.expires = clock_wall_ms() + gw->cfg->gateway_request_timeout_ms;
	/* The push port submits a command in the loop turn that read it (right
	 * after parsing it), so now is when the push arrived, to within the
	 * parse: the start of gatecast_push_write_seconds on every gateway
	 * that writes its frames. */
	pm.u.request.pushed_us = clock_wall_us(); /* crosses processes: wall time */
	if (cmd->type < CMD__COUNT)
		gw->push_commands[cmd->type]++;
	buf_reset(&gw->enc);
	proto_encode(&pm, &gw->enc);
	int rc = route_send(gw->route, route_key_push(key), gw->enc.p, gw->enc.len, ROUTE_REQUEST,
		req);
	if (rc != 0) {
		*error_code = PROTO_ERR_OVERLOADED;
		*message = "the worker queue is full";
	}
	return rc;
}

/* ---- the HTTP port's health and metrics, `gatecast status` ------------------ */

/* This gateway's figures now, for gateway_metrics.h. */
static void
gw_figures(const struct gateway *gw, struct gateway_figures *f)
{
	memset(f, 0, sizeof *f);
	f->connections = ws_server_count(gw->ws);
	f->ws = *ws_server_stats(gw->ws);
	f->push = *push_port_stats(gw->push);
	f->pending_requests = push_port_pending(gw->push);
	f->exec = exec_stats(gw->exec);
	f->login = login_stats(gw->login);
	f->refused_origin = gw->refused_origin;
	f->refused_ip = gw->refused_ip;
	f->rate_limited = gw->rate_limited;
	f->closed_rate_limit = gw->closed_rate_limit;
	f->presence_sent = gw->presence_sent;
	f->presence_dropped = gw->presence_dropped;
	f->ops_expired = gw->ops_expired;
	memcpy(f->push_commands, gw->push_commands, sizeof f->push_commands);
	f->uids = conn_index_uid_total(gw->ix);
	f->groups = conn_index_group_total(gw->ix);
	f->workers_live = peers_live(gw->workers);
	f->gateways_live = gw->gateways_live;
	f->queued_link = peers_queued(gw->workers);
	f->queued_no_worker = route_pending(gw->route);
	f->queued_joining = peers_waiting(gw->workers);
	f->draining = gw->stopping;
}

/* GET /metrics on the HTTP port (push_metrics_fn). */
static void
gw_metrics(void *arg, struct buf *out)
{
	struct gateway_figures f;
	gw_figures(arg, &f);
	gateway_metrics_render(&f, out);
}

/* What `gatecast status` shows for us (member_stats_fn). */
static void
gw_stats(void *arg, struct proto_stats *st)
{
	struct gateway_figures f;
	gw_figures(arg, &f);
	gateway_metrics_stats(&f, st);
}

/* Ready when a worker is live: we got a view from a register that lists one,
 * so requests can be served now. */
static bool
gw_ready(void *arg)
{
	struct gateway *gw = arg;
	return !gw->stopping && peers_live(gw->workers) > 0;
}

/* ---- the inbox: orders and replies from workers ---------------------------- */

/* exec's way to the connections (exec_ops). */
static int
gw_exec_send(void *arg, struct client *cl, struct ws_out *f)
{
	return ws_send(cl->ws, f);
}

static void
gw_exec_close(void *arg, struct client *cl, enum exec_close why)
{
	if (why == EXEC_CLOSE_TOO_MANY_TABS)
		ws_close(cl->ws, WS_CLOSE_TOO_MANY_TABS, "too many connections for this uid");
	else
		ws_close(cl->ws, WS_CLOSE_NORMAL, "closed by the application");
}

static bool
gw_exec_is_open(void *arg, const struct client *cl)
{
	return ws_is_open(cl->ws);
}

static const struct exec_ops gw_exec_ops = {
	.send = gw_exec_send,
	.close = gw_exec_close,
	.is_open = gw_exec_is_open,
};

static void
gw_on_op(struct gateway *gw, const struct proto_op *op)
{
	struct proto_result r;
	if (op->expires != 0 && clock_wall_ms() > op->expires) {
		/* The worker stopped waiting for us (our link was cut and has
		 * healed): it answered without us, maybe "offline" — acting now
		 * would deliver what the application was told was not. */
		gw->ops_expired++;
		log_debug("op_expired", "worker=%016llx op=%llu", (unsigned long long)op->worker,
			(unsigned long long)op->op);
		return;
	}
	memset(&r, 0, sizeof r);
	exec_op(gw->exec, &op->cmd, op->pushed_us, &r, &gw->scratch);
	if (op->op != 0) {
		struct proto_msg pm;
		memset(&pm, 0, sizeof pm);
		pm.type = PROTO_RESULT;
		pm.u.result = r;
		pm.u.result.id = op->op;
		buf_reset(&gw->enc);
		proto_encode(&pm, &gw->enc);
		/* A worker that just joined may not be in our view yet: the result
		 * waits for it (peers_send) instead of being lost. */
		if (peers_send(gw->workers, op->worker, gw->enc.p, gw->enc.len) != 0)
			log_warn("result_dropped", "worker=%016llx reason=queue_full",
				(unsigned long long)op->worker);
	}
	free(r.strs.v);
	strvec_reset(&gw->scratch);
}

static void
gw_on_cluster_message(void *arg, struct proto_msg *pm)
{
	struct gateway *gw = arg;
	if (pm->type == PROTO_OP)
		gw_on_op(gw, &pm->u.op);
	else if (pm->type == PROTO_REPLY)
		push_port_complete(gw->push, &pm->u.result);
	else
		log_warn("unexpected_message", "type=%u", pm->type);
}

/* One inbox message holds the messages a worker sent in one loop turn
 * (outlink.h), back to back. */
static void
gw_on_inbox(void *arg, const void *msg, size_t n)
{
	size_t left;
	int rc = proto_decode_batch(msg, n, gw_on_cluster_message, arg, &left);
	if (rc != 0)
		log_warn("bad_message", "err=%d len=%zu", rc, left);
}

/* ---- cluster view ---------------------------------------------------------- */

static void
gw_on_peer(void *arg, const struct peer *p, enum peers_change what)
{
	struct gateway *gw = arg;
	if (what == PEER_JOINED || what == PEER_LEFT)
		log_info(what == PEER_JOINED ? "worker_joined" : "worker_left", "worker=%016llx",
			(unsigned long long)p->id);
	if (what == PEER_UP)
		route_flush(gw->route);
	if (what == PEER_UNKNOWN)
		member_poke(gw->member);
	/* The groups it owned have new owners, and what it had not counted
	 * yet is lost. */
	if (what == PEER_LEFT || what == PEER_DOWN)
		gw_presence_all(gw);
}

static int
gw_id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Keeps the other gateways' ids; true when one of the last view's is gone
 * (its members went with it, without a presence change). */
static bool
gw_gateways_update(struct gateway *gw, const struct member_view *view)
{
	uint64_t *ids = xcalloc(view->n + 1, sizeof *ids);
	size_t n = 0;
	bool gone = false;
	for (size_t i = 0; i < view->n; i++)
		if (view->v[i].role == ROLE_GATEWAY && view->v[i].id != gw->id)
			ids[n++] = view->v[i].id;
	qsort(ids, n, sizeof *ids, gw_id_cmp);
	for (size_t i = 0; i < gw->npeer_gateways && !gone; i++)
		gone = bsearch(&gw->peer_gateways[i], ids, n, sizeof *ids, gw_id_cmp) == NULL;
	free(gw->peer_gateways);
	gw->peer_gateways = ids;
	gw->npeer_gateways = n;
	return gone;
}

static void
gw_on_view(void *arg, const struct member_view *view)
{
	struct gateway *gw = arg;
	size_t gateways = 0;
	for (size_t i = 0; i < view->n; i++)
		gateways += view->v[i].role == ROLE_GATEWAY;
	gw->gateways_live = gateways;
	bool gateway_gone = gw_gateways_update(gw, view);
	peers_update(gw->workers, view);
	route_flush(gw->route);
	if (gateway_gone)
		gw_presence_all(gw);
}

static void
gw_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;
	uint64_t now = clock_ms();
	route_expire(gw->route, now);
	if (gw->token_mode)
		login_expire(gw->login, now);
	if (gw->stopping && (ws_server_count(gw->ws) == 0 || now >= gw->stop_deadline))
		event_base_loopbreak(gw->base);
}

/* ---- lifetime ---------------------------------------------------------------- */

static struct ws_out *
gw_error_frame(const char *code, const char *message)
{
	struct buf b = BUF_INIT;
	client_frame_error(&b, code, message);
	struct ws_out *f = ws_frame_new(WS_OP_TEXT, b.p, b.len);
	buf_fini(&b);
	return f;
}

struct gateway *
gateway_new(struct event_base *base, const struct config *c, struct cluster *cluster)
{
	struct gateway *gw = xcalloc(1, sizeof *gw);
	int err = 0, wfd = -1, pfd = -1, hfd = -1;

	gw->base = base;
	gw->cfg = c;
	gw->id = clientid_new_instance();
	gw->route = route_new(c, &gw_route_ops, gw);
	gw->ix = conn_index_new();
	gw->token_mode = c->auth_mode == CONFIG_AUTH_TOKEN; /* decided once */
	gw->exec = exec_new(gw->ix, c, gw->id, gw->token_mode, &gw_exec_ops, gw);
	gw->demo = c->demo_enabled;
	gw->watch = presence_watch_new(c->gateway_presence_groups);
	if (presence_watch_any(gw->watch))
		exec_on_group_change(gw->exec, gw_presence, gw);
	gw->guard = guard_new(c);
	gw->login = login_new(c, gw->guard, gw->exec, gw->ix);
	buf_init(&gw->enc);
	gw->err_no_worker = gw_error_frame("no_worker", "no worker available, try again");
	gw->err_overloaded = gw_error_frame("overloaded", "the gateway is overloaded, try again");
	gw->err_rate_limited = gw_error_frame("rate_limited",
		"too many messages: slow down (gateway.rate_limit)");

	if ((wfd = net_listen(c->gateway_ws_listen, 4096)) < 0) {
		log_error("listen_failed", "addr=%s errno=%d", c->gateway_ws_listen, -wfd);
		goto fail;
	}
	if ((pfd = net_listen(c->gateway_push_listen, 1024)) < 0) {
		log_error("listen_failed", "addr=%s errno=%d", c->gateway_push_listen, -pfd);
		goto fail;
	}
	if (c->http_listen[0] != '\0' && (hfd = net_listen(c->http_listen, 1024)) < 0) {
		log_error("listen_failed", "addr=%s errno=%d", c->http_listen, -hfd);
		goto fail;
	}
	gw->inbox_url = prog_inbox_url(c, c->gateway_inbox, "gateway", (unsigned long long)gw->id);
	gw->inbox = inbox_new(base, cluster, gw->inbox_url, gw_on_inbox, gw, &err);
	if (gw->inbox == NULL) {
		log_error("inbox_failed", "url=%s err=\"%s\"", gw->inbox_url, strerror(-err));
		goto fail;
	}
	gw->workers = peers_new(base, cluster, ROLE_WORKER, GW_OUTLINK_QUEUE, gw_on_peer,
		gw);
	gw->ws_ops = gw_ws_ops;
	if (gw->demo)
		gw->ws_ops.on_post = gw_on_post;
	gw->ws = ws_server_new(base, c, wfd, &gw->ws_ops, gw);
	wfd = -1;
	gw->push = push_port_new(base, c, pfd, gw_submit, gw);
	pfd = -1;
	if (hfd >= 0)
		push_http_listen(gw->push, hfd, gw_metrics, gw_ready);
	hfd = -1;
	gw->sweep_ev = event_new(base, -1, EV_PERSIST, gw_on_sweep, gw);
	struct timeval tv = {0, GW_SWEEP_MS * 1000};
	event_add(gw->sweep_ev, &tv);
	gw->member = member_new(base, cluster, c, ROLE_GATEWAY, gw->id, gw->inbox_url,
		gw_on_view, gw, &err);
	if (gw->member == NULL) {
		log_error("register_failed", "err=\"%s\"", strerror(-err));
		goto fail;
	}
	member_set_stats(gw->member, gw_stats, gw);
	if (gw->demo)
		log_warn("demo_enabled", "token=%s why=\"%s\"",
			gw->token_mode ? "any_uid" : "none",
			gw->token_mode ? "anyone can get a token for any uid at /demo/token and push "
					      "at /demo/push - never in production"
					    : "the demo page is served at /demo/, and anyone can push at "
					      "/demo/push");
	log_info("ready", "id=%016llx ws=%s push=%s http=%s inbox=%s", (unsigned long long)gw->id,
		c->gateway_ws_listen, c->gateway_push_listen,
		c->http_listen[0] != '\0' ? c->http_listen : "off", gw->inbox_url);
	return gw;
fail:
	if (wfd >= 0)
		close(wfd);
	if (pfd >= 0)
		close(pfd);
	if (hfd >= 0)
		close(hfd);
	gateway_free(gw);
	return NULL;
}

void
gateway_stop(struct gateway *gw)
{
	if (gw->stopping)
		return;
	gw->stopping = true;
	gw->stop_deadline = clock_ms() + GW_STOP_GRACE_MS;
	log_info("stopping", "clients=%zu", ws_server_count(gw->ws));
	member_leave(gw->member);
	push_port_stop_accepting(gw->push);
	ws_server_shutdown(gw->ws, WS_CLOSE_GOING_AWAY, "server shutting down");
}

void
gateway_free(struct gateway *gw)
{
	if (gw == NULL)
		return;
	member_free(gw->member);
	ws_server_free(gw->ws);
	push_port_free(gw->push);
	route_free(gw->route);
	peers_free(gw->workers);
	inbox_free(gw->inbox);
	if (gw->sweep_ev)
		event_free(gw->sweep_ev);
	exec_free(gw->exec);
	conn_index_free(gw->ix);
	ws_out_unref(gw->err_no_worker);
	ws_out_unref(gw->err_overloaded);
	ws_out_unref(gw->err_rate_limited);
	login_free(gw->login);
	guard_free(gw->guard);
	presence_watch_free(gw->watch);
	free(gw->peer_gateways);
	strvec_fini(&gw->scratch);
	buf_fini(&gw->enc);
	free(gw->inbox_url);
	free(gw);
}
