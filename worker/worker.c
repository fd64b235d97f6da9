/*
 * worker — see worker.h.
 *
 * Requests in flight ("gathers") live in a ring indexed by op id: ids grow
 * by one and all share worker.query_timeout, so the oldest expires first.
 *
 * Online counts (presence.h) use the same gathers: a get_uid_count_by_group
 * to every gateway, whose RESULTs carry the group's uids and connections
 * there; at the end, instead of a REPLY, the count goes to every gateway as
 * a send_to_group of {"type":"online_count","group":…,"count":<distinct
 * uids>,"connections":<connections>}.
 */
#include "worker/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "cluster/inbox.h"
#include "common/log.h"
#include "cluster/outlink.h"
#include "cluster/prog.h"
#include "common/xmalloc.h"
#include "proto/clientid.h"
#include "proto/strvec.h"
#include "cluster/member.h"
#include "cluster/peers.h"
#include "worker/app.h"
#include "worker/presence.h"

#define WK_MAX_GATHERS 65536
#define WK_SWEEP_MS 100
#define WK_OUTLINK_QUEUE 65536
/* Draining: done once nothing arrived for this long (after every member
 * had a renew period to drop us) and nothing is in flight. */
#define WK_DRAIN_QUIET_MS 300
/* presence_full is logged at most this often. */
#define WK_PRESENCE_LOG_MS 60000

struct wk_gather {
	uint64_t op;       /* 0 = free slot */
	uint64_t origin;   /* gateway that gets the REPLY */
	uint64_t req;
	uint8_t type;
	uint32_t expected, answered;
	uint64_t deadline;
	int64_t delivered, count;
	bool failed;
	bool presence;         /* an online count, not a push request */
	struct buf error, message, session;
	struct strvec found;   /* strings from the results */
	struct strvec asked;   /* send_to_uid: the uids asked for; presence: the group */
};

struct worker {
	struct event_base *base;
	const struct config *cfg;
	const struct app *app;
	uint64_t id;
	char *inbox_url;
	struct inbox *inbox;
	struct member *member;
	struct peers *gateways;
	struct event *sweep_ev;
	struct wk_gather *ring;
	uint64_t low, next;
	struct buf enc;
	uint64_t requests, events, timeouts, expired;
	uint64_t msgs_in, msgs_out;
	uint64_t last_rx;       /* clock_ms of the last inbox message */
	bool draining;
	uint64_t drain_from, drain_deadline;
	struct presence *presence;
	uint64_t presence_dropped, presence_logged;
};

/* ---- sending ------------------------------------------------------------------ */

/* Sends to a gateway; one we do not know yet (it just joined) gets the
 * message when it shows up in our view (peers_send). */
static int
wk_send(struct worker *w, uint64_t gateway, const struct proto_msg *pm)
{
	buf_reset(&w->enc);
	proto_encode(pm, &w->enc);
	w->msgs_out++;
	return peers_send(w->gateways, gateway, w->enc.p, w->enc.len);
}

/* pushed_us: the REQUEST's, so the gateways can time the writes of the
 * frames it causes; 0 for the app's own orders (not pushes). expires: when
 * we stop waiting for the RESULT (wall clock ms) — a gateway that gets the
 * OP later (its link was cut) must not act on what we already answered
 * without it; 0 = none. */
static int
wk_send_op(struct worker *w, uint64_t gateway, uint64_t op, const struct proto_cmd *cmd,
	uint64_t pushed_us, uint64_t expires)
{
	struct proto_msg pm;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_OP;
	pm.u.op.worker = w->id;
	pm.u.op.op = op;
	pm.u.op.cmd = *cmd;
	pm.u.op.pushed_us = pushed_us;
	pm.u.op.expires = expires;
	return wk_send(w, gateway, &pm);
}

int
worker_order(struct worker *w, uint64_t gateway, const struct proto_cmd *cmd)
{
	return wk_send_op(w, gateway, 0, cmd, 0, 0);
}

int
worker_send_to_client(struct worker *w, uint64_t gateway, struct pstr client_id, const void *data,
	size_t len, bool binary)
{
	struct proto_cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_SEND_TO_CLIENT;
	cmd.clients.v = &client_id;
	cmd.clients.n = 1;
	cmd.data.p = data;
	cmd.data.n = (uint32_t)len;
	cmd.has_data = true;
	cmd.binary = binary;
	return worker_order(w, gateway, &cmd);
}

const struct config *
worker_config(const struct worker *w)
{
	return w->cfg;
}

/* ---- replies -------------------------------------------------------------------- */

static void
wk_reply_error(struct worker *w, uint64_t origin, uint64_t req, const char *code, const char *msg)
{
	struct proto_msg pm;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_REPLY;
	pm.u.result.id = req;
	pm.u.result.error = pstr_c(code);
	pm.u.result.message = pstr_c(msg);
	if (wk_send(w, origin, &pm) != 0)
		log_warn("reply_undeliverable", "gateway=%016llx", (unsigned long long)origin);
}


static void
wk_gather_free(struct worker *w, struct wk_gather *g)
{
	buf_fini(&g->error);
	buf_fini(&g->message);
	buf_fini(&g->session);
	strvec_fini(&g->found);
	strvec_fini(&g->asked);
	memset(g, 0, sizeof *g);
	while (w->low < w->next && w->ring[w->low % WK_MAX_GATHERS].op == 0)
		w->low++;
}

static void wk_presence_push(struct worker *w, struct wk_gather *g);

/* All answers are in (or the deadline passed): build and send the REPLY. */
static void
wk_gather_finish(struct worker *w, struct wk_gather *g)
{
	struct proto_msg pm;
	struct proto_result *r = &pm.u.result;
	struct pstr_list list = {NULL, 0};
	if (g->presence) {
		wk_presence_push(w, g);
		wk_gather_free(w, g);
		return;
	}
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_REPLY;
	r->id = g->req;
	r->ok = !g->failed;
	r->delivered = g->delivered;
	r->count = g->count;
	r->expected = g->expected;
	r->answered = g->answered;
	r->partial = g->answered < g->expected && !cmd_is_single_client((enum cmd_type)g->type);
	if (g->failed) {
		r->error.p = g->error.p;
		r->error.n = (uint32_t)g->error.len;
		r->message.p = g->message.p;
		r->message.n = (uint32_t)g->message.len;
	} else if (g->answered == 0 && g->expected > 0) {
		r->ok = false;
		r->partial = false;
		r->error = pstr_c("timeout");
		r->message = pstr_c("no gateway answered within worker.query_timeout");
	}
	r->session.p = g->session.p;
	r->session.n = (uint32_t)g->session.len;
	switch (g->type) {
	case CMD_SEND_TO_UID: {
		/* offline = asked − found */
		struct pstr_list asked = strvec_list(&g->asked, true);
		struct pstr_list found = strvec_list(&g->found, true);
		list.v = xcalloc(asked.n + 1, sizeof *list.v);
		for (uint32_t i = 0; i < asked.n; i++)
			if (bsearch(&asked.v[i], found.v, found.n, sizeof *found.v, strvec_cmp) == NULL)
				list.v[list.n++] = asked.v[i];
		free(asked.v);
		free(found.v);
		break;
	}
	case CMD_GET_CLIENT_ID_BY_UID:
	case CMD_GET_UID_BY_CLIENT_ID:
		list = strvec_list(&g->found, false);
		break;
	case CMD_GET_UID_LIST_BY_GROUP:
	case CMD_GET_ALL_GROUP_ID_LIST:
		list = strvec_list(&g->found, true);
		break;
	case CMD_GET_UID_COUNT_BY_GROUP:
	case CMD_GET_ALL_UID_COUNT:
		list = strvec_list(&g->found, true);
		r->count = list.n;
		free(list.v);
		list.v = NULL;
		list.n = 0;
		break;
	default:
		break;
	}
	r->strs = list;
	if (r->partial)
		w->timeouts++;
	if (wk_send(w, g->origin, &pm) != 0)
		log_warn("reply_undeliverable", "gateway=%016llx", (unsigned long long)g->origin);
	free(list.v);
	wk_gather_free(w, g);
}

static void
wk_on_result(struct worker *w, const struct proto_result *r)
{
	struct wk_gather *g = &w->ring[r->id % WK_MAX_GATHERS];
	if (g->op != r->id || g->op == 0)
		return; /* late: the request was already answered */
	g->answered++;
	if (!r->ok) {
		if (!g->failed) {
			g->failed = true;
			buf_append(&g->error, r->error.p, r->error.n);
			buf_append(&g->message, r->message.p, r->message.n);
		}
	} else {
		g->delivered += r->delivered;
		/* A presence count adds up the connections; a push request
		 * counts the distinct uids at the end. */
		if (g->presence ||
			(g->type != CMD_GET_UID_COUNT_BY_GROUP && g->type != CMD_GET_ALL_UID_COUNT))
			g->count += r->count;
		for (uint32_t i = 0; i < r->strs.n; i++)
			strvec_add(&g->found, r->strs.v[i].p, r->strs.v[i].n);
		if (r->session.n > 0 && g->session.len == 0)
			buf_append(&g->session, r->session.p, r->session.n);
	}
	if (g->answered >= g->expected)
		wk_gather_finish(w, g);
}

/* ---- requests --------------------------------------------------------------------- */

static void
wk_on_request(struct worker *w, const struct proto_request *rq)
{
	const struct proto_cmd *cmd = &rq->cmd;
	w->requests++;
	if (rq->expires != 0 && clock_wall_ms() > rq->expires) {
		/* The gateway already answered "timeout": acting now would do what
		 * the application was told may not have happened. */
		w->expired++;
		log_debug("request_expired", "gateway=%016llx req=%llu", (unsigned long long)rq->gateway,
			(unsigned long long)rq->req);
		return;
	}
	if (w->next - w->low >= WK_MAX_GATHERS) {
		wk_reply_error(w, rq->gateway, rq->req, "overloaded", "too many requests in flight on the worker");
		return;
	}
	/* Which gateways? One for a single client, the owners of the listed
	 * clients for send_to_client, all of them otherwise. */
	size_t ng = peers_count(w->gateways);
	uint64_t *targets = xcalloc(ng + 1, sizeof *targets);
	size_t nt = 0;
	if (cmd_is_single_client((enum cmd_type)cmd->type) || cmd->type == CMD_SEND_TO_CLIENT) {
		for (uint32_t i = 0; i < cmd->clients.n; i++) {
			uint64_t gw, seq;
			if (!clientid_parse(cmd->clients.v[i].p, cmd->clients.v[i].n, &gw, &seq) ||
				peers_find(w->gateways, gw) == NULL)
				continue;
			bool dup = false;
			for (size_t k = 0; k < nt && !dup; k++)
				dup = targets[k] == gw;
			if (!dup)
				targets[nt++] = gw;
		}
		if (nt == 0 && cmd_is_single_client((enum cmd_type)cmd->type)) {
			free(targets);
			wk_reply_error(w, rq->gateway, rq->req, "not_found", "client is not connected");
			return;
		}
	} else {
		/* A gateway whose link broke is skipped: it died, and waiting
		 * for it would only turn the answer into a partial one later. */
		for (size_t i = 0; i < ng; i++)
			if (peers_at(w->gateways, i)->up)
				targets[nt++] = peers_at(w->gateways, i)->id;
	}

	uint64_t op = w->next++;
	struct wk_gather *g = &w->ring[op % WK_MAX_GATHERS];
	g->op = op;
	g->origin = rq->gateway;
	g->req = rq->req;
	g->type = cmd->type;
	g->deadline = clock_ms() + w->cfg->worker_query_timeout_ms;
	if (cmd->type == CMD_SEND_TO_UID)
		for (uint32_t i = 0; i < cmd->uids.n; i++)
			strvec_add(&g->asked, cmd->uids.v[i].p, cmd->uids.v[i].n);
	uint64_t expires = clock_wall_ms() + w->cfg->worker_query_timeout_ms;
	for (size_t i = 0; i < nt; i++)
		if (wk_send_op(w, targets[i], op, cmd, rq->pushed_us, expires) == 0)
			g->expected++;
	free(targets);
	if (g->expected == 0)
		wk_gather_finish(w, g);
}

/* ---- online counts ------------------------------------------------------------------------ */

/* Starts the count of group: a gather over every gateway that is up. */
static void
wk_presence_count(void *arg, const char *group, size_t len)
{
	struct worker *w = arg;
	if (w->next - w->low >= WK_MAX_GATHERS) {
		presence_done(w->presence, group, len); /* overloaded: this change is lost */
		w->presence_dropped++;
		return;
	}
	uint64_t op = w->next++;
	struct wk_gather *g = &w->ring[op % WK_MAX_GATHERS];
	g->op = op;
	g->presence = true;
	g->type = CMD_GET_UID_COUNT_BY_GROUP;
	g->deadline = clock_ms() + w->cfg->worker_query_timeout_ms;
	strvec_add(&g->asked, group, len);

	struct pstr name = {group, (uint32_t)len};
	struct proto_cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_GET_UID_COUNT_BY_GROUP;
	cmd.groups.v = &name;
	cmd.groups.n = 1;
	uint64_t expires = clock_wall_ms() + w->cfg->worker_query_timeout_ms;
	for (size_t i = 0; i < peers_count(w->gateways); i++) {
		const struct peer *p = peers_at(w->gateways, i);
		if (p->up && wk_send_op(w, p->id, op, &cmd, 0, expires) == 0)
			g->expected++;
	}
	if (g->expected == 0)
		wk_gather_finish(w, g);
}

/* The count is in: every gateway sends it to the group's members there. */
static void
wk_presence_push(struct worker *w, struct wk_gather *g)
{
	struct pstr group = {NULL, 0};
	if (g->asked.n > 0) {
		group.p = g->asked.bytes.p + g->asked.off[0];
		group.n = g->asked.len[0];
	}
	struct pstr_list uids = strvec_list(&g->found, true);
	json_t *o = NULL;
	if (g->answered > 0)
		o = json_pack("{s:s, s:s%, s:I, s:I}", "type", "online_count", "group", group.p,
			(size_t)group.n, "count", (json_int_t)uids.n, "connections",
			(json_int_t)g->count);
	free(uids.v);
	if (o != NULL) {
		char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		struct proto_cmd cmd;
		memset(&cmd, 0, sizeof cmd);
		cmd.type = CMD_SEND_TO_GROUP;
		cmd.groups.v = &group;
		cmd.groups.n = 1;
		cmd.data = pstr_c(text);
		cmd.has_data = true;
		for (size_t i = 0; i < peers_count(w->gateways); i++)
			if (peers_at(w->gateways, i)->up)
				worker_order(w, peers_at(w->gateways, i)->id, &cmd);
		free(text);
		json_decref(o);
	}
	presence_done(w->presence, group.p, group.n);
}

/* A gateway says a watched group changed. */
static void
wk_on_presence(struct worker *w, const struct proto_event *ev)
{
	uint64_t now = clock_ms();
	int rc = presence_touch(w->presence, ev->data.p, ev->data.n, now);
	if (rc == 1) {
		wk_presence_count(w, ev->data.p, ev->data.n);
	} else if (rc == -ENOSPC) {
		w->presence_dropped++;
		if (w->presence_logged == 0 || now - w->presence_logged >= WK_PRESENCE_LOG_MS) {
			w->presence_logged = now;
			log_warn("presence_full", "max_groups=%u dropped=%llu",
				w->cfg->worker_presence_max_groups,
				(unsigned long long)w->presence_dropped);
		}
	}
}

/* ---- inbox, view, sweep --------------------------------------------------------------- */

static void
wk_on_cluster_message(void *arg, struct proto_msg *pm)
{
	struct worker *w = arg;
	w->msgs_in++;
	switch (pm->type) {
	case PROTO_EVENT:
		w->events++;
		if (pm->u.event.kind == EVENT_PRESENCE)
			wk_on_presence(w, &pm->u.event);
		else
			w->app->on_event(w, &pm->u.event);
		break;
	case PROTO_REQUEST:
		wk_on_request(w, &pm->u.request);
		break;
	case PROTO_RESULT:
		wk_on_result(w, &pm->u.result);
		break;
	default:
		log_warn("unexpected_message", "type=%u", pm->type);
	}
}

/* One inbox message holds what a gateway sent in one loop turn (outlink.h),
 * back to back. msgs_in counts the messages, not the batches. */
static void
wk_on_inbox(void *arg, const void *msg, size_t n)
{
	struct worker *w = arg;
	size_t left;
	if (w->draining)
		w->last_rx = clock_ms();
	int rc = proto_decode_batch(msg, n, wk_on_cluster_message, w, &left);
	if (rc != 0)
		log_warn("bad_message", "err=%d len=%zu", rc, left);
}

static void
wk_on_peer(void *arg, const struct peer *p, enum peers_change what)
{
	struct worker *w = arg;
	if (what == PEER_UNKNOWN)
		member_poke(w->member);
	if (what == PEER_JOINED || what == PEER_LEFT)
		log_info(what == PEER_JOINED ? "gateway_joined" : "gateway_left", "gateway=%016llx",
			(unsigned long long)p->id);
}

static void
wk_on_view(void *arg, const struct member_view *view)
{
	struct worker *w = arg;
	peers_update(w->gateways, view);
}

/* Requests whose gathers are still open. */
static size_t
wk_in_flight(const struct worker *w)
{
	size_t n = 0;
	for (uint64_t op = w->low; op < w->next; op++)
		n += w->ring[op % WK_MAX_GATHERS].op == op;
	return n;
}

/* A draining worker exits once every member had a renew period to drop it
 * (the register told them it left), nothing arrived for
 * WK_DRAIN_QUIET_MS, no request waits for results and nothing waits to be
 * sent — or at its deadline. */
static void
wk_drain_check(struct worker *w, uint64_t now)
{
	bool settled = now - w->drain_from >= w->cfg->register_renew_ms + WK_DRAIN_QUIET_MS &&
		now - w->last_rx >= WK_DRAIN_QUIET_MS;
	/* A link to a gateway that is down (stopped before us) will not drain:
	 * only what can still be written counts. */
	size_t flying = wk_in_flight(w), queued = peers_queued_up(w->gateways);
	if ((settled && flying == 0 && queued == 0) || now >= w->drain_deadline) {
		if (flying > 0 || queued > 0)
			log_warn("drain_timeout", "in_flight=%zu queued=%zu", flying, queued);
		log_info("drained", "ms=%llu", (unsigned long long)(now - w->drain_from));
		event_base_loopexit(w->base, NULL);
	}
}

static void
wk_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = clock_ms();
	for (uint64_t op = w->low; op < w->next; op++) {
		struct wk_gather *g = &w->ring[op % WK_MAX_GATHERS];
		if (g->op != op)
			continue;
		if (g->deadline > now)
			break;
		wk_gather_finish(w, g);
	}
	presence_due(w->presence, now, wk_presence_count, w);
	if (w->draining)
		wk_drain_check(w, now);
}

static void
wk_stats(void *arg, struct proto_stats *st)
{
	struct worker *w = arg;
	st->msgs_in = w->msgs_in;
	st->msgs_out = w->msgs_out;
	st->pushes = w->requests;
	st->draining = w->draining;
}

/* ---- lifetime -------------------------------------------------------------------------- */

struct worker *
worker_new(struct event_base *base, const struct config *c, struct cluster *cl)
{
	struct worker *w = xcalloc(1, sizeof *w);
	int err = 0;
	w->base = base;
	w->cfg = c;
	w->app = app_find(c->worker_app);
	w->id = clientid_new_instance();
	w->ring = xcalloc(WK_MAX_GATHERS, sizeof *w->ring);
	w->low = w->next = 1;
	buf_init(&w->enc);
	w->presence = presence_new(c->worker_presence_max_groups);
	if (w->app == NULL) {
		log_error("unknown_app", "app=%s", c->worker_app);
		goto fail;
	}
	w->inbox_url = prog_inbox_url(c, c->worker_inbox, "worker", (unsigned long long)w->id);
	w->inbox = inbox_new(base, cl, w->inbox_url, wk_on_inbox, w, &err);
	if (w->inbox == NULL) {
		log_error("inbox_failed", "url=%s err=\"%s\"", w->inbox_url, strerror(-err));
		goto fail;
	}
	w->gateways = peers_new(base, cl, ROLE_GATEWAY, WK_OUTLINK_QUEUE,
		wk_on_peer, w);
	w->sweep_ev = event_new(base, -1, EV_PERSIST, wk_on_sweep, w);
	struct timeval tv = {0, WK_SWEEP_MS * 1000};
	event_add(w->sweep_ev, &tv);
	w->member = member_new(base, cl, c, ROLE_WORKER, w->id, w->inbox_url, wk_on_view,
		w, &err);
	if (w->member == NULL) {
		log_error("register_failed", "err=\"%s\"", strerror(-err));
		goto fail;
	}
	member_set_stats(w->member, wk_stats, w);
	log_info("ready", "id=%016llx app=%s inbox=%s", (unsigned long long)w->id, w->app->name,
		w->inbox_url);
	return w;
fail:
	worker_free(w);
	return NULL;
}

void
worker_stop(struct worker *w)
{
	if (w->draining) { /* asked twice: go now */
		log_info("drain_abandoned", "in_flight=%zu", wk_in_flight(w));
		event_base_loopexit(w->base, NULL);
		return;
	}
	/* Leave first: the register keeps us as "left", and every member drops
	 * us at its next renew. Until then, and until what reached us is
	 * answered, we keep working (wk_drain_check). */
	w->draining = true;
	w->drain_from = w->last_rx = clock_ms();
	w->drain_deadline = w->drain_from + w->cfg->register_lease_ms +
		w->cfg->worker_query_timeout_ms + 1000;
	member_leave(w->member);
	log_info("draining", "in_flight=%zu", wk_in_flight(w));
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	member_free(w->member);
	if (w->ring != NULL)
		for (size_t i = 0; i < WK_MAX_GATHERS; i++)
			if (w->ring[i].op != 0)
				wk_gather_free(w, &w->ring[i]);
	free(w->ring);
	presence_free(w->presence);
	peers_free(w->gateways);
	inbox_free(w->inbox);
	if (w->sweep_ev)
		event_free(w->sweep_ev);
	buf_fini(&w->enc);
	free(w->inbox_url);
	free(w);
}
