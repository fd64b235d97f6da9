/*
 * demo — see demo.h.
 */
#include "gateway/demo.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/jwt.h"
#include "gateway/assets.h"
#include "http/http_query.h"
#include "http/http_reply.h"

/* ---- /demo/token ---------------------------------------------------------- */

static void
demo_json(struct buf *out, int status, json_t *o, bool body)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	buf_reset(out);
	assets_reply(out, status, "application/json", "no-store", NULL, text, strlen(text), body);
	free(text);
	json_decref(o);
}

void
demo_token(const struct config *cfg, bool token_mode, const struct ws_handshake *req,
	struct buf *out)
{
	bool body = req->method.n == 3; /* GET, not HEAD */
	char uid[JWT_MAX_SUB + 1];
	int n = http_query_param(req->query, "uid", uid, sizeof uid);
	size_t max = cfg->gateway_max_uid_len < JWT_MAX_SUB ? cfg->gateway_max_uid_len : JWT_MAX_SUB;
	json_t *o = NULL;
	if (n > 0 && (size_t)n <= max && strlen(uid) == (size_t)n) {
		if (token_mode) {
			static const char *const groups[] = {DEMO_GROUPS};
			int64_t now = (int64_t)(clock_wall_ms() / 1000);
			char *token = jwt_sign(cfg->auth_secret, uid, now, now + DEMO_TOKEN_TTL, groups, 1);
			if (token != NULL)
				o = json_pack("{s:s, s:s}", "token", token, "uid", uid);
			free(token);
		} else {
			o = json_pack("{s:n, s:s}", "token", "uid", uid);
		}
	}
	if (o == NULL) {
		char msg[128];
		snprintf(msg, sizeof msg, "?uid= must be 1 to %zu bytes of UTF-8", max);
		demo_json(out, 400, json_pack("{s:s, s:s}", "error", "bad_request", "message", msg), body);
		return;
	}
	demo_json(out, 200, o, body);
}

/* ---- /demo/push ----------------------------------------------------------- */

void
demo_reply(struct buf *out, int status, const char *json, size_t len)
{
	struct http_reply h = {
		.content_type = "application/json",
		.cache_control = "no-store",
		.nosniff = true,
		.connection = "close",
	};
	http_reply_write(out, status, &h, json, len);
}

bool
demo_push_path(struct http_span path)
{
	return path.n == 10 && memcmp(path.p, "/demo/push", 10) == 0;
}

/* "application/json", any case, alone or before parameters (RFC 9110
 * §8.3.1: type "/" subtype *( OWS ";" OWS parameter )). */
static bool
demo_is_json(struct http_span ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;
	if (ct.n < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = ct.p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return ct.n == n || ct.p[n] == ';' || ct.p[n] == ' ' || ct.p[n] == '\t';
}

int
demo_push_check(struct http_span content_type, struct buf *out)
{
	static const char body[] = "{\"ok\":false,\"error\":\"unsupported_media_type\","
				   "\"message\":\"the body must be a JSON command with "
				   "Content-Type: application/json\"}";
	if (demo_is_json(content_type))
		return 0;
	demo_reply(out, 415, body, sizeof body - 1);
	return 415;
}

int
demo_push_filter(void *arg, const struct proto_cmd *cmd, enum proto_error *error_code,
	const char **message)
{
	static const char prefix[] = DEMO_GROUPS;
	const size_t plen = sizeof prefix - 2; /* "company:" without the '*' */
	bool ok = false;
	if (cmd->type == CMD_SEND_TO_UID) {
		ok = cmd->uids.n == 1;
	} else if (cmd->type == CMD_SEND_TO_GROUP && cmd->groups.n == 1) {
		const struct pstr *g = &cmd->groups.v[0];
		ok = g->n > plen && memcmp(g->p, prefix, plen) == 0;
	}
	if (ok)
		return 0;
	*error_code = PROTO_ERR_FORBIDDEN;
	*message = "the demo pushes only send_to_uid to one uid and send_to_group to one "
		   DEMO_GROUPS " group; use the push port or the HTTP API for the rest";
	return -1;
}

void
demo_push_reply(struct buf *out, const struct push_reply *rep)
{
	size_t len = rep->len;
	if (len > 0 && rep->line[len - 1] == '\n')
		len--;
	demo_reply(out, push_reply_status(rep->error), rep->line, len);
}
