/*
 * push_reply — see push_reply.h. The lines are written by hand
 * (common/json_out.h says why).
 */
#include "push/push_reply.h"

#include <inttypes.h>
#include <string.h>

#include "common/json_out.h"

static void
put_pstr(struct buf *b, struct pstr s)
{
	json_out_str(b, s.p != NULL ? s.p : "", s.p != NULL ? s.n : 0);
}

static void
reply_begin(struct buf *out, const json_t *id)
{
	buf_append_char(out, '{');
	if (id != NULL) {
		buf_append_str(out, "\"id\":");
		json_out_value(out, id);
		buf_append_char(out, ',');
	}
}

static void
reply_strs(struct buf *out, const char *key, const struct pstr_list *l)
{
	buf_printf(out, ",\"%s\":[", key);
	for (uint32_t i = 0; i < l->n; i++) {
		if (i > 0)
			buf_append_char(out, ',');
		put_pstr(out, l->v[i]);
	}
	buf_append_char(out, ']');
}

/* The session text comes from another process: embed it only when it is a
 * JSON object, re-written compactly if it would break the line. */
static void
reply_session(struct buf *out, struct pstr s)
{
	json_error_t je;
	json_t *v = NULL;

	buf_append_str(out, ",\"session\":");
	if (s.p != NULL && s.n > 0)
		v = json_loadb(s.p, s.n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(v))
		buf_append_str(out, "null");
	else if (memchr(s.p, '\n', s.n) == NULL && memchr(s.p, '\r', s.n) == NULL)
		buf_append(out, s.p, s.n);
	else
		json_out_value(out, v);
	json_decref(v);
}

void
push_reply_render(enum cmd_type type, const json_t *id, const struct proto_result *r,
	struct buf *out, struct push_reply *rep)
{
	if (rep != NULL) {
		rep->error = PROTO_ERR_NONE;
		rep->delivered = 0;
		if (!r->ok) {
			rep->error = proto_error_from_name(r->error.p, r->error.n);
			if (rep->error == PROTO_ERR_NONE)
				rep->error = PROTO_ERR_OTHER; /* failed, without a code */
		} else if (type == CMD_SEND_TO_UID || type == CMD_SEND_TO_GROUP ||
			type == CMD_SEND_TO_ALL || type == CMD_SEND_TO_CLIENT) {
			rep->delivered = r->delivered;
		}
	}
	reply_begin(out, id);
	if (!r->ok) {
		buf_append_str(out, "\"ok\":false,\"error\":");
		put_pstr(out, r->error);
		buf_append_str(out, ",\"message\":");
		put_pstr(out, r->message);
	} else {
		buf_append_str(out, "\"ok\":true");
		switch (type) {
		case CMD_SEND_TO_UID:
			buf_printf(out, ",\"delivered\":%" PRId64, r->delivered);
			reply_strs(out, "offline", &r->strs);
			break;
		case CMD_SEND_TO_GROUP:
		case CMD_SEND_TO_ALL:
		case CMD_SEND_TO_CLIENT:
			buf_printf(out, ",\"delivered\":%" PRId64, r->delivered);
			break;
		case CMD_IS_UID_ONLINE:
			buf_printf(out, ",\"online\":%s", r->count > 0 ? "true" : "false");
			break;
		case CMD_GET_CLIENT_ID_BY_UID:
			reply_strs(out, "client_ids", &r->strs);
			break;
		case CMD_GET_UID_BY_CLIENT_ID:
			buf_append_str(out, ",\"uid\":");
			if (r->strs.n > 0)
				put_pstr(out, r->strs.v[0]);
			else
				buf_append_str(out, "null");
			break;
		case CMD_GET_CLIENT_COUNT_BY_GROUP:
		case CMD_GET_UID_COUNT_BY_GROUP:
		case CMD_GET_ALL_UID_COUNT:
		case CMD_GET_ALL_CLIENT_COUNT:
			buf_printf(out, ",\"count\":%" PRId64, r->count);
			break;
		case CMD_GET_UID_LIST_BY_GROUP:
			reply_strs(out, "uids", &r->strs);
			break;
		case CMD_GET_ALL_GROUP_ID_LIST:
			reply_strs(out, "groups", &r->strs);
			break;
		case CMD_GET_SESSION:
			reply_session(out, r->session);
			break;
		default:
			break;
		}
	}
	if (r->partial)
		buf_printf(out, ",\"partial\":true,\"answered\":%" PRIu32 ",\"expected\":%" PRIu32,
			r->answered, r->expected);
	buf_append_str(out, "}\n");
}

void
push_reply_error(const json_t *id, enum proto_error code, const char *message, struct buf *out)
{
	const char *name = proto_error_name(code);
	if (name == NULL)
		name = "";
	reply_begin(out, id);
	buf_append_str(out, "\"ok\":false,\"error\":");
	json_out_str(out, name, strlen(name));
	buf_append_str(out, ",\"message\":");
	json_out_str(out, message != NULL ? message : "", message != NULL ? strlen(message) : 0);
	buf_append_str(out, "}\n");
}

/* 0: 500. */
static const int push_reply_statuses[PROTO_ERR__COUNT] = {
	[PROTO_ERR_NONE] = 200,
	[PROTO_ERR_BAD_JSON] = 400,
	[PROTO_ERR_BAD_REQUEST] = 400,
	[PROTO_ERR_UNKNOWN_TYPE] = 400,
	[PROTO_ERR_UNAUTHORIZED] = 401,
	[PROTO_ERR_FORBIDDEN] = 403,
	[PROTO_ERR_NOT_FOUND] = 404,
	[PROTO_ERR_TOO_MANY_GROUPS] = 409,
	[PROTO_ERR_LENGTH_REQUIRED] = 411,
	[PROTO_ERR_TOO_LARGE] = 413,
	[PROTO_ERR_NO_WORKER] = 503,
	[PROTO_ERR_OVERLOADED] = 503,
	[PROTO_ERR_TIMEOUT] = 504,
};

int
push_reply_status(enum proto_error code)
{
	if ((int)code < 0 || code >= PROTO_ERR__COUNT || push_reply_statuses[code] == 0)
		return 500;
	return push_reply_statuses[code];
}
