/*
 * exec — see exec.h.
 */
#include "gateway/exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/xmalloc.h"
#include "gateway/client.h"
#include "gateway/conn_index.h"
#include "ws/ws_frame.h"
#include "proto/client_frame.h"
#include "proto/clientid.h"
#include "proto/strvec.h"

struct exec_ctx {
	struct conn_index *ix;
	const struct config *cfg;
	const struct exec_ops *ops;
	void *ops_arg;
	bool token_mode; /* auth.mode = token: client joins need the token's groups */
	uint64_t self;   /* our member id (first half of our client ids) */
	uint32_t stamp;  /* grows per send */
	struct exec_stats stats;
	exec_group_fn *group_changed; /* NULL: nobody listens */
	void *group_arg;
};

struct exec_ctx *
exec_new(struct conn_index *ix, const struct config *cfg, uint64_t self, bool token_mode,
	const struct exec_ops *ops, void *arg)
{
	struct exec_ctx *x = xcalloc(1, sizeof *x);
	x->ix = ix;
	x->cfg = cfg;
	x->self = self;
	x->token_mode = token_mode;
	x->ops = ops;
	x->ops_arg = arg;
	return x;
}

void
exec_free(struct exec_ctx *x)
{
	free(x);
}

void
exec_on_group_change(struct exec_ctx *x, exec_group_fn *fn, void *arg)
{
	x->group_changed = fn;
	x->group_arg = arg;
}

struct exec_stats
exec_stats(const struct exec_ctx *x)
{
	return x->stats;
}

static void
exec_strs_name(void *arg, const char *name, size_t len)
{
	strvec_add(arg, name, len);
}

struct exec_send {
	struct exec_ctx *x;
	struct ws_out *f;
	int64_t delivered;
};

static void
exec_send_one(void *arg, uint64_t id, void *conn)
{
	struct exec_send *es = arg;
	struct client *cl = conn;
	if (cl->stamp == es->x->stamp)
		return;
	cl->stamp = es->x->stamp;
	if (es->x->ops->send(es->x->ops_arg, cl, es->f) == 0)
		es->delivered++;
}

static struct client *
exec_client(struct exec_ctx *x, struct pstr id)
{
	uint64_t gw, seq;
	if (!clientid_parse(id.p, id.n, &gw, &seq) || gw != x->self)
		return NULL;
	return conn_index_get(x->ix, seq);
}

struct exec_ids {
	struct strvec *out;
	uint64_t self;
};

static void
exec_client_id(void *arg, uint64_t id, void *conn)
{
	struct exec_ids *ids = arg;
	char cid[CLIENTID_LEN + 1];
	clientid_format(ids->self, id, cid);
	strvec_add(ids->out, cid, CLIENTID_LEN);
}

static void
exec_fail(struct proto_result *r, const char *code, const char *message)
{
	r->ok = false;
	r->error = pstr_c(code);
	r->message = pstr_c(message);
}

/* Sends cl one frame of data; pushed_us as in exec_op. */
static void
exec_frame_to(struct exec_ctx *x, struct client *cl, const void *data, size_t len, bool binary,
	uint64_t pushed_us)
{
	struct ws_out *f = ws_frame_new(binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
	f->pushed_us = pushed_us;
	x->ops->send(x->ops_arg, cl, f);
	ws_out_unref(f);
}

static void
exec_client_error(struct exec_ctx *x, struct client *cl, const char *code, const char *message)
{
	struct buf b = BUF_INIT;
	client_frame_error(&b, code, message);
	exec_frame_to(x, cl, b.p, b.len, false, 0);
	buf_fini(&b);
}

struct exec_oldest {
	struct exec_ctx *x;
	uint64_t seq;
	struct client *cl;
};

static void
exec_find_oldest(void *arg, uint64_t id, void *conn)
{
	struct exec_oldest *o = arg;
	struct client *cl = conn;
	/* Already closing ones do not count: they are on their way out. */
	if (o->x->ops->is_open(o->x->ops_arg, cl) && (o->cl == NULL || id < o->seq)) {
		o->seq = id;
		o->cl = cl;
	}
}

/* A connection's uid changes its groups' distinct uids. */
static void
exec_groups_changed(struct exec_ctx *x, uint64_t seq)
{
	if (x->group_changed != NULL)
		conn_index_each_group_of(x->ix, seq, x->group_changed, x->group_arg);
}

static void
exec_group_changed(struct exec_ctx *x, const struct pstr *group)
{
	if (x->group_changed != NULL)
		x->group_changed(x->group_arg, group->p, group->n);
}

void
exec_bind(struct exec_ctx *x, struct client *cl, const char *uid, size_t len)
{
	uint32_t max = x->cfg != NULL ? x->cfg->gateway_max_connections_per_uid : 0;
	size_t have = conn_index_count_of_uid(x->ix, uid, len);
	size_t cur_len;
	const char *cur = conn_index_uid(x->ix, cl->seq, &cur_len);
	bool same = cur != NULL && cur_len == len && memcmp(cur, uid, len) == 0;
	if (max != 0 && !same && have >= max) {
		/* The oldest tab makes room for the new one: a user who opens
		 * one tab too many keeps the tab in front of them. */
		struct exec_oldest o = {x, 0, NULL};
		conn_index_each_of_uid(x->ix, uid, len, exec_find_oldest, &o);
		if (o.cl != NULL && o.cl != cl) {
			x->stats.closed_too_many++;
			x->ops->close(x->ops_arg, o.cl, EXEC_CLOSE_TOO_MANY_TABS);
		}
	}
	if (!same)
		x->stats.logins++;
	conn_index_bind(x->ix, cl->seq, uid, len);
	if (!same)
		exec_groups_changed(x, cl->seq);
}

/* join_group; see exec.h for the rules. Returns false when it failed (r is
 * then set). */
static bool
exec_join(struct exec_ctx *x, struct client *cl, const struct proto_cmd *cmd,
	const struct pstr *group, struct proto_result *r)
{
	const char *code = NULL, *message = NULL;
	bool member = false;
	if (x->token_mode && cmd->from_client &&
		(cl->claims == NULL || !jwt_group_allowed(cl->claims, group->p, group->n))) {
		code = "forbidden";
		message = "the token does not allow this group";
	} else if (conn_index_group_count_of(x->ix, cl->seq) >= x->cfg->gateway_max_groups) {
		/* Joining a group it is already in is fine even at the limit. */
		member = conn_index_leave(x->ix, cl->seq, group->p, group->n) == 0;
		if (member) {
			conn_index_join(x->ix, cl->seq, group->p, group->n);
		} else {
			code = "too_many_groups";
			message = "this connection is in gateway.max_groups groups already";
		}
	}
	if (code != NULL) {
		exec_fail(r, code, message);
		if (cmd->from_client)
			exec_client_error(x, cl, code, message);
		return false;
	}
	if (!member) {
		size_t had = conn_index_group_count_of(x->ix, cl->seq);
		conn_index_join(x->ix, cl->seq, group->p, group->n);
		if (conn_index_group_count_of(x->ix, cl->seq) > had) /* not a member yet */
			exec_group_changed(x, group);
	}
	if (cmd->has_data)
		exec_frame_to(x, cl, cmd->data.p, cmd->data.n, cmd->binary, 0);
	return true;
}

/* Marks excluded clients as already served by this send. */
static void
exec_exclude(struct exec_ctx *x, const struct pstr_list *ex)
{
	for (uint32_t i = 0; i < ex->n; i++) {
		struct client *cl = exec_client(x, ex->v[i]);
		if (cl != NULL)
			cl->stamp = x->stamp;
	}
}

void
exec_op(struct exec_ctx *x, const struct proto_cmd *cmd, uint64_t pushed_us,
	struct proto_result *r, struct strvec *scratch)
{
	struct exec_send es = {x, NULL, 0};
	struct exec_ids ids = {scratch, x->self};
	struct client *cl = NULL;
	const struct pstr *uid = cmd->uids.n ? &cmd->uids.v[0] : NULL;
	const struct pstr *group = cmd->groups.n ? &cmd->groups.v[0] : NULL;
	bool gather = false;

	r->ok = true;
	switch (cmd->type) {
	case CMD_SEND_TO_UID:
	case CMD_SEND_TO_GROUP:
	case CMD_SEND_TO_ALL:
	case CMD_SEND_TO_CLIENT:
		es.f = ws_frame_new(cmd->binary ? WS_OP_BINARY : WS_OP_TEXT, cmd->data.p, cmd->data.n);
		es.f->pushed_us = pushed_us;
		x->stamp++;
		break;
	default:
		if (!cmd_is_single_client((enum cmd_type)cmd->type))
			break;
		if (cmd->clients.n == 0 || (cl = exec_client(x, cmd->clients.v[0])) == NULL) {
			exec_fail(r, "not_found", "client is not connected");
			return;
		}
		break;
	}

	switch (cmd->type) {
	case CMD_SEND_TO_UID:
		gather = true;
		for (uint32_t i = 0; i < cmd->uids.n; i++) {
			const struct pstr *u = &cmd->uids.v[i];
			if (conn_index_each_of_uid(x->ix, u->p, u->n, exec_send_one, &es) > 0)
				strvec_add(scratch, u->p, u->n);
		}
		break;
	case CMD_SEND_TO_GROUP:
		exec_exclude(x, &cmd->exclude);
		for (uint32_t i = 0; i < cmd->groups.n; i++)
			conn_index_each_of_group(x->ix, cmd->groups.v[i].p, cmd->groups.v[i].n,
				exec_send_one, &es);
		break;
	case CMD_SEND_TO_ALL:
		exec_exclude(x, &cmd->exclude);
		conn_index_each(x->ix, exec_send_one, &es);
		break;
	case CMD_SEND_TO_CLIENT:
		for (uint32_t i = 0; i < cmd->clients.n; i++) {
			struct client *t = exec_client(x, cmd->clients.v[i]);
			if (t != NULL)
				exec_send_one(&es, t->seq, t);
		}
		break;
	case CMD_CLOSE_CLIENT:
		if (cmd->has_data)
			exec_frame_to(x, cl, cmd->data.p, cmd->data.n, cmd->binary, pushed_us);
		x->ops->close(x->ops_arg, cl, EXEC_CLOSE_BY_APP);
		break;
	case CMD_BIND_UID:
		if (uid == NULL) {
			exec_fail(r, "bad_request", "uid missing");
			return;
		}
		exec_bind(x, cl, uid->p, uid->n);
		break;
	case CMD_UNBIND_UID: {
		size_t len;
		const char *cur = conn_index_uid(x->ix, cl->seq, &len);
		/* With a uid given, unbind only that uid (GatewayWorker semantics). */
		if (cur != NULL && (uid == NULL || (uid->n == len && memcmp(uid->p, cur, len) == 0))) {
			conn_index_unbind(x->ix, cl->seq);
			exec_groups_changed(x, cl->seq);
		}
		break;
	}
	case CMD_JOIN_GROUP:
	case CMD_LEAVE_GROUP:
		if (group == NULL) {
			exec_fail(r, "bad_request", "group missing");
			return;
		}
		if (cmd->type == CMD_LEAVE_GROUP) {
			if (conn_index_leave(x->ix, cl->seq, group->p, group->n) == 0)
				exec_group_changed(x, group);
			break;
		}
		if (!exec_join(x, cl, cmd, group, r))
			return;
		break;
	case CMD_UNGROUP:
		if (group != NULL && (r->count = (int64_t)conn_index_ungroup(x->ix, group->p,
						      group->n)) > 0)
			exec_group_changed(x, group);
		break;
	case CMD_IS_UID_ONLINE:
		if (uid != NULL)
			r->count = (int64_t)conn_index_count_of_uid(x->ix, uid->p, uid->n);
		break;
	case CMD_GET_CLIENT_ID_BY_UID:
		gather = true;
		if (uid != NULL)
			conn_index_each_of_uid(x->ix, uid->p, uid->n, exec_client_id, &ids);
		break;
	case CMD_GET_UID_BY_CLIENT_ID: {
		size_t len;
		const char *cur = conn_index_uid(x->ix, cl->seq, &len);
		gather = true;
		if (cur != NULL)
			strvec_add(scratch, cur, len);
		break;
	}
	case CMD_GET_CLIENT_COUNT_BY_GROUP:
		if (group != NULL)
			r->count = (int64_t)conn_index_count_of_group(x->ix, group->p, group->n);
		break;
	case CMD_GET_UID_LIST_BY_GROUP:
	case CMD_GET_UID_COUNT_BY_GROUP:
		gather = true;
		if (group != NULL)
			conn_index_each_uid_of_group(x->ix, group->p, group->n, exec_strs_name, scratch);
		/* The worker counts the distinct uids itself; the connections
		 * ride along for online counts (msg.h, struct proto_result). */
		if (group != NULL && cmd->type == CMD_GET_UID_COUNT_BY_GROUP)
			r->count = (int64_t)conn_index_count_of_group(x->ix, group->p, group->n);
		break;
	case CMD_GET_ALL_UID_COUNT:
		gather = true;
		conn_index_each_uid_name(x->ix, exec_strs_name, scratch);
		break;
	case CMD_GET_ALL_CLIENT_COUNT:
		r->count = (int64_t)conn_index_count(x->ix);
		break;
	case CMD_GET_ALL_GROUP_ID_LIST:
		gather = true;
		conn_index_each_group_name(x->ix, exec_strs_name, scratch);
		break;
	case CMD_SET_SESSION:
	case CMD_UPDATE_SESSION: {
		json_t *v = json_loadb(cmd->session.p, cmd->session.n, 0, NULL);
		if (!json_is_object(v)) {
			json_decref(v);
			exec_fail(r, "bad_request", "session must be a JSON object");
			return;
		}
		if (cmd->type == CMD_SET_SESSION || cl->session == NULL) {
			json_decref(cl->session);
			cl->session = v;
		} else {
			json_object_update(cl->session, v);
			json_decref(v);
		}
		break;
	}
	case CMD_GET_SESSION:
		if (cl->session != NULL) {
			char *s = json_dumps(cl->session, JSON_COMPACT | JSON_PRESERVE_ORDER);
			strvec_add(scratch, s, strlen(s));
			free(s);
			r->session.p = scratch->bytes.p + scratch->off[scratch->n - 1];
			r->session.n = scratch->len[scratch->n - 1];
		}
		break;
	default:
		exec_fail(r, "unknown_type", "this gateway does not know the command");
		return;
	}
	if (es.f != NULL) {
		r->delivered = es.delivered;
		x->stats.delivered += (uint64_t)es.delivered;
		ws_out_unref(es.f);
	}
	if (gather) {
		r->strs = strvec_list(scratch, false);
		r->count = r->count ? r->count : (int64_t)r->strs.n;
	}
}
