/*
 * app_builtin — the built-in browser protocol (docs/browser.md):
 *
 *   connect            → {"type":"welcome","client_id":…}, or with ?uid=…
 *                        the login below
 *   {"type":"login","uid":"42"}   → bind; {"type":"login","ok":true,"uid","client_id"}
 *   {"type":"logout"}             → unbind; {"type":"logout","ok":true}
 *   {"type":"join"|"leave","group":"g"} → {"type":"join","ok":true,"group":"g"}
 *   {"type":"ping"}               → {"type":"pong"}
 *   anything else      → {"type":"error","error":code,"message":…}; the
 *                        connection stays open
 *
 * Authentication is the gateway's: with auth.mode = token it verifies the
 * token (in ?token= before the 101, or in the login message), binds the
 * token's uid, and passes a login on only when it succeeded — so here a
 * login is answered with the uid the event carries. With auth.mode = none a
 * client declares its uid and this app binds it. Joins go to the gateway
 * with their reply attached: the gateway checks the token's groups and
 * gateway.max_groups and sends either the reply or an error (exec.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "http/http_query.h"
#include "proto/client_frame.h"
#include "proto/clientid.h"
#include "proto/name.h"
#include "worker/app.h"
#include "worker/worker.h"

static void
builtin_send_json(struct worker *w, const struct proto_event *ev, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	worker_send_to_client(w, ev->gateway, ev->client_id, s, strlen(s), false);
	free(s);
	json_decref(obj);
}

static void
builtin_error(struct worker *w, const struct proto_event *ev, const char *code, const char *msg)
{
	struct buf b = BUF_INIT;
	client_frame_error(&b, code, msg);
	worker_send_to_client(w, ev->gateway, ev->client_id, b.p, b.len, false);
	buf_fini(&b);
}

static json_t *
builtin_client_id(const struct proto_event *ev)
{
	return json_stringn(ev->client_id.p, ev->client_id.n);
}

/* Reads a uid or group: a non-empty string or an integer, within max bytes.
 * Returns 0 with the text in out, or -EINVAL. */
static int
builtin_name(json_t *v, size_t max, struct buf *out)
{
	struct name nm;
	buf_reset(out);
	if (name_from_json(v, max, &nm) != 0)
		return -EINVAL;
	buf_append(out, nm.p, nm.n);
	return 0;
}

static bool
builtin_token_mode(struct worker *w)
{
	return worker_config(w)->auth_mode == CONFIG_AUTH_TOKEN;
}

/* Orders the client's gateway to do type for this client; reply (may be
 * NULL) rides along for joins, to be sent only if the join is allowed. */
static void
builtin_order(struct worker *w, const struct proto_event *ev, uint8_t type, const struct buf *name,
	json_t *reply)
{
	struct proto_cmd cmd;
	char *text = reply != NULL ? json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct pstr n = {name ? name->p : NULL, name ? (uint32_t)name->len : 0};
	struct pstr cid = ev->client_id;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = type;
	cmd.clients.v = &cid;
	cmd.clients.n = 1;
	cmd.from_client = true; /* the client asked for it (exec.h: joins) */
	if (type == CMD_BIND_UID) {
		cmd.uids.v = &n;
		cmd.uids.n = 1;
	} else if (type == CMD_JOIN_GROUP || type == CMD_LEAVE_GROUP) {
		cmd.groups.v = &n;
		cmd.groups.n = 1;
	}
	if (text != NULL) {
		cmd.data = pstr_c(text);
		cmd.has_data = true;
	}
	worker_order(w, ev->gateway, &cmd);
	free(text);
	json_decref(reply);
}

static void
builtin_login(struct worker *w, const struct proto_event *ev, const struct buf *uid)
{
	/* With tokens the gateway has bound the uid already. */
	if (!builtin_token_mode(w))
		builtin_order(w, ev, CMD_BIND_UID, uid, NULL);
	builtin_send_json(w, ev, json_pack("{s:s, s:b, s:s%, s:o}", "type", "login", "ok", 1, "uid",
					 uid->p, uid->len, "client_id", builtin_client_id(ev)));
}

static void
builtin_on_connect(struct worker *w, const struct proto_event *ev)
{
	const struct config *c = worker_config(w);
	char uid[1024];
	if (builtin_token_mode(w)) {
		/* The gateway verified ?token= before the 101 and bound its uid. */
		if (ev->uid.n > 0) {
			struct buf b = BUF_INIT;
			buf_append(&b, ev->uid.p, ev->uid.n);
			builtin_login(w, ev, &b);
			buf_fini(&b);
		} else {
			builtin_send_json(w, ev, json_pack("{s:s, s:o}", "type", "welcome", "client_id",
							 builtin_client_id(ev)));
		}
		return;
	}
	int n = http_query_param((struct http_span){ev->data.p, ev->data.n}, "uid", uid, sizeof uid);
	if (n > 0 && (size_t)n <= c->gateway_max_uid_len) {
		struct buf b = BUF_INIT;
		buf_append(&b, uid, (size_t)n);
		builtin_login(w, ev, &b);
		buf_fini(&b);
		return;
	}
	if (n != -ENOENT && n != 0) {
		builtin_error(w, ev, "bad_request", "uid in the query is empty, malformed or too long");
		return;
	}
	builtin_send_json(w, ev, json_pack("{s:s, s:o}", "type", "welcome", "client_id",
					 builtin_client_id(ev)));
}

static void
builtin_on_message(struct worker *w, const struct proto_event *ev)
{
	const struct config *c = worker_config(w);
	json_error_t jerr;
	char msg[256];
	struct buf name = BUF_INIT;

	if (ev->binary) {
		builtin_error(w, ev, "bad_request", "binary messages are not part of the protocol");
		return;
	}
	json_t *root = json_loadb(ev->data.p, ev->data.n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(msg, sizeof msg, "column %d: %s", jerr.column, jerr.text);
		builtin_error(w, ev, "bad_json", msg);
		return;
	}
	const char *type = json_string_value(json_object_get(root, "type"));
	if (!json_is_object(root) || type == NULL) {
		builtin_error(w, ev, "bad_request", "a message is a JSON object with a string \"type\"");
	} else if (strcmp(type, "ping") == 0) {
		builtin_send_json(w, ev, json_pack("{s:s}", "type", "pong"));
	} else if (strcmp(type, "login") == 0 && builtin_token_mode(w)) {
		/* Only logins the gateway verified reach us; it bound the uid. */
		buf_append(&name, ev->uid.p, ev->uid.n);
		if (ev->uid.n > 0)
			builtin_login(w, ev, &name);
		else
			builtin_error(w, ev, "unauthorized", "log in with a token");
	} else if (strcmp(type, "login") == 0) {
		if (builtin_name(json_object_get(root, "uid"), c->gateway_max_uid_len, &name) != 0)
			builtin_error(w, ev, "bad_request",
				"login needs \"uid\": a non-empty string or integer");
		else
			builtin_login(w, ev, &name);
	} else if (strcmp(type, "logout") == 0) {
		builtin_order(w, ev, CMD_UNBIND_UID, NULL, NULL);
		builtin_send_json(w, ev, json_pack("{s:s, s:b}", "type", "logout", "ok", 1));
	} else if (strcmp(type, "join") == 0 || strcmp(type, "leave") == 0) {
		bool join = type[0] == 'j';
		if (builtin_name(json_object_get(root, "group"), c->gateway_max_group_len, &name) != 0) {
			builtin_error(w, ev, "bad_request",
				"join/leave need \"group\": a non-empty string or integer");
		} else {
			json_t *reply = json_pack("{s:s, s:b, s:s%}", "type", type, "ok", 1, "group",
				name.p, name.len);
			if (join) {
				builtin_order(w, ev, CMD_JOIN_GROUP, &name, reply);
			} else {
				builtin_order(w, ev, CMD_LEAVE_GROUP, &name, NULL);
				builtin_send_json(w, ev, reply);
			}
		}
	} else {
		snprintf(msg, sizeof msg, "unknown message type \"%.64s\"", type);
		builtin_error(w, ev, "unknown_type", msg);
	}
	buf_fini(&name);
	json_decref(root);
}

static void
builtin_on_event(struct worker *w, const struct proto_event *ev)
{
	if (ev->kind == EVENT_CONNECT)
		builtin_on_connect(w, ev);
	else if (ev->kind == EVENT_MESSAGE)
		builtin_on_message(w, ev);
	/* EVENT_CLOSE: the gateway already forgot the client; nothing to do. */
}

const struct app app_builtin = {"builtin", builtin_on_event};
