/*
 * worker — see worker.h.
 *
 * Requests in flight are gathers (gather.h: the ring of them, the folding
 * of RESULTs and the REPLY they make); this file sends the ops and the
 * REPLYs.
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
#include "proto/error.h"
#include "proto/strvec.h"
#include "cluster/member.h"
#include "cluster/peers.h"
#include "worker/app.h"
#include "worker/gather.h"
#include "worker/presence.h"

#define WK_MAX_GATHERS 65536
#define WK_SWEEP_MS 100
#define WK_OUTLINK_QUEUE 65536
/* Draining: done once nothing arrived for this long (after every member
 * had a renew period to drop us) and nothing is in flight. */
#define WK_DRAIN_QUIET_MS 300
/* presence_full is logged at most this often. */
#define WK_PRESENCE_LOG_MS 60000

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
	struct gather_table gathers;
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
wk_reply_error(struct worker *w, uint64_t origin, uint64_t req, enum proto_error code,
	const char *msg)
{
	struct proto_msg pm;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_REPLY;
	pm.u.result.id = req;
	pm.u.result.error = pstr_c(proto_error_name(code));
	pm.u.result.message = pstr_c(msg);
	if (wk_send(w, origin, &pm) != 0)
		log_warn("reply_undeliverable", "gateway=%016llx", (unsigned long long)origin);
}


static void wk_presence_push(struct worker *w, struct gather *g);

/* All answers are in (or the deadline passed): send the REPLY (or, for an
 * online count, the count), and close g. */
static void
wk_gather_finish(struct worker *w, struct gather *g)
{
	struct proto_msg pm;
	if (g->presence) {
		wk_presence_push(w, g);
		gather_free(&w->gathers, g);
		return;
	}
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_REPLY;
	gather_reply(g, &pm.u.result);
	if (pm.u.result.partial)
		w->timeouts++;
	if (wk_send(w, g->origin, &pm) != 0)
		log_warn("reply_undeliverable", "gateway=%016llx", (unsigned long long)g->origin);
	free(pm.u.result.strs.v);
	gather_free(&w->gathers, g);
}

static void
wk_on_result(struct worker *w, const struct proto_result *r)
{
	struct gather *g = gather_get(&w->gathers, r->id);
	if (g == NULL)
		return; /* late: the request was already answered */
	if (gather_fold(g, r))
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
	if (gather_full(&w->gathers)) {
		wk_reply_error(w, rq->gateway, rq->req, PROTO_ERR_OVERLOADED,
			"too many requests in flight on the worker");
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
			wk_reply_error(w, rq->gateway, rq->req, PROTO_ERR_NOT_FOUND,
				"client is not connected");
			return;
		}
	} else {
		/* A gateway whose link broke is skipped: it died, and waiting
		 * for it would only turn the answer into a partial one later. */
		for (size_t i = 0; i < ng; i++)
			if (peers_at(w->gateways, i)->up)
				targets[nt++] = peers_at(w->gateways, i)->id;
	}

	struct gather *g = gather_new(&w->gathers, clock_ms() + w->cfg->worker_query_timeout_ms);
	uint64_t op = g->ie.id;
	g->origin = rq->gateway;
	g->req = rq->req;
	g->type = cmd->type;
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
	if (gather_full(&w->gathers)) {
		presence_done(w->presence, group, len); /* overloaded: this change is lost */
		w->presence_dropped++;
		return;
	}
	struct gather *g = gather_new(&w->gathers, clock_ms() + w->cfg->worker_query_timeout_ms);
	uint64_t op = g->ie.id;
	g->presence = true;
	g->type = CMD_GET_UID_COUNT_BY_GROUP;
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
wk_presence_push(struct worker *w, struct gather *g)
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
	return gather_open(&w->gathers);
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

/* The deadline passed: answer with what came in (gather_expire_fn). */
static void
wk_on_gather_expired(void *arg, struct gather *g)
{
	wk_gather_finish(arg, g);
}

static void
wk_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = clock_ms();
	gather_expire(&w->gathers, now, wk_on_gather_expired, w);
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
	gather_table_init(&w->gathers, WK_MAX_GATHERS);
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
	gather_table_fini(&w->gathers);
	presence_free(w->presence);
	peers_free(w->gateways);
	inbox_free(w->inbox);
	if (w->sweep_ev)
		event_free(w->sweep_ev);
	buf_fini(&w->enc);
	free(w->inbox_url);
	free(w);
}
