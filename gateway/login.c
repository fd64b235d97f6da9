/*
 * login — see login.h.
 */
#include "gateway/login.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/xmalloc.h"
#include "gateway/client.h"
#include "gateway/conn_index.h"
#include "gateway/exec.h"
#include "gateway/guard.h"
#include "gateway/ws_server.h"
#include "http/http_query.h"
#include "proto/name.h"

/* A connection that must log in by its deadline (auth.login_timeout). */
struct login_deadline {
	uint64_t seq;
	uint64_t deadline;
};

struct login {
	const struct config *cfg;
	struct guard *guard;
	struct exec_ctx *exec;
	struct conn_index *ix;
	struct ring pending; /* struct login_deadline: not logged in yet, oldest first */
	struct login_stats stats;
};

struct login *
login_new(const struct config *cfg, struct guard *guard, struct exec_ctx *exec,
	struct conn_index *ix)
{
	struct login *lg = xcalloc(1, sizeof *lg);
	lg->cfg = cfg;
	lg->guard = guard;
	lg->exec = exec;
	lg->ix = ix;
	ring_init(&lg->pending, sizeof(struct login_deadline));
	return lg;
}

void
login_free(struct login *lg)
{
	if (lg == NULL)
		return;
	ring_fini(&lg->pending);
	free(lg);
}

/* Is the parameter there at all (with any value, even one that does not
 * decode or fit)? */
static bool
login_query_has(struct http_span query, const char *name)
{
	return http_query_param(query, name, NULL, 0) != -ENOENT;
}

int
login_upgrade(struct login *lg, struct http_span query, struct jwt_claims *claims,
	bool *have_token)
{
	char *token = xmalloc(JWT_MAX_LEN + 1);
	int n = http_query_param(query, "token", token, JWT_MAX_LEN + 1);
	const char *why = "";
	int rc = n > 0 ? guard_token(lg->guard, token, (size_t)n, claims, &why) : 0;
	free(token);
	*have_token = false;
	if (n > 0 && rc == 0) {
		char uid[JWT_MAX_SUB + 1];
		int u = http_query_param(query, "uid", uid, sizeof uid);
		if (u >= 0 && strcmp(uid, claims->sub) != 0) {
			jwt_claims_fini(claims);
			rc = -EPERM;
			why = "uid does not match the token";
		}
	}
	/* Any token parameter — empty, undecodable or too long included —
	 * must verify; a uid without one is a claim nobody vouches for. */
	if ((n != -ENOENT && (n <= 0 || rc != 0)) ||
		(n == -ENOENT && login_query_has(query, "uid"))) {
		lg->stats.refused_token++;
		log_info("upgrade_refused", "status=401 why=\"%s\"",
			n > 0 ? why : n == -ENOENT ? "a uid needs a token" : "malformed token parameter");
		return -EPERM;
	}
	*have_token = n > 0;
	return 0;
}

void
login_bind(struct login *lg, struct client *cl, struct jwt_claims *claims)
{
	cl->authed = true;
	exec_bind(lg->exec, cl, claims->sub, strlen(claims->sub));
	client_set_claims(cl, claims);
}

void
login_start(struct login *lg, const struct client *cl, uint64_t now)
{
	if (cl->authed)
		return;
	struct login_deadline *d = ring_push(&lg->pending);
	d->seq = cl->seq;
	d->deadline = now + lg->cfg->auth_login_timeout_ms;
}

/* Does a uid given in a message (a string, or an integer as everywhere
 * else in the protocol) name the token's subject? */
static bool
login_uid_matches(json_t *uid, const char *sub)
{
	struct name nm;
	return name_from_json(uid, SIZE_MAX, &nm) == 0 && nm.n == strlen(sub) &&
	       memcmp(nm.p, sub, nm.n) == 0;
}

bool
login_message(struct login *lg, struct client *cl, const void *data, size_t len, bool binary)
{
	if (cl->authed && (binary || memmem(data, len, "login", 5) == NULL))
		return true;
	json_t *root = binary ? NULL : json_loadb(data, len, 0, NULL);
	const char *type = json_string_value(json_object_get(root, "type"));
	bool pass = false;
	if (type == NULL || strcmp(type, "login") != 0) {
		pass = cl->authed;
		if (!pass)
			client_send_error(cl, "unauthorized",
				"log in first: {\"type\":\"login\",\"token\":…}");
	} else {
		json_t *tok = json_object_get(root, "token");
		json_t *uid = json_object_get(root, "uid");
		struct jwt_claims claims;
		const char *why = "a login needs \"token\"";
		int rc = -EINVAL;
		if (json_is_string(tok))
			rc = guard_token(lg->guard, json_string_value(tok), json_string_length(tok),
				&claims, &why);
		if (rc == 0 && uid != NULL && !login_uid_matches(uid, claims.sub)) {
			jwt_claims_fini(&claims);
			rc = -EPERM;
			why = "uid does not match the token";
		}
		if (rc != 0) {
			lg->stats.refused_token++;
			lg->stats.closed_unauthorized++;
			client_send_error(cl, "unauthorized", why);
			ws_close(cl->ws, WS_CLOSE_UNAUTHORIZED, "unauthorized");
		} else {
			login_bind(lg, cl, &claims);
			pass = true; /* the worker answers the login */
		}
	}
	json_decref(root);
	return pass;
}

void
login_expire(struct login *lg, uint64_t now)
{
	struct login_deadline *d;
	while ((d = ring_front(&lg->pending)) != NULL && d->deadline <= now) {
		struct client *cl = conn_index_get(lg->ix, d->seq);
		ring_pop(&lg->pending);
		if (cl != NULL && !cl->authed) {
			if (ws_is_open(cl->ws))
				lg->stats.closed_unauthorized++;
			client_send_error(cl, "unauthorized", "no login within auth.login_timeout");
			ws_close(cl->ws, WS_CLOSE_UNAUTHORIZED, "login timeout");
		}
	}
}

struct login_stats
login_stats(const struct login *lg)
{
	return lg->stats;
}
