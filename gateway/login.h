/*
 * login — auth.mode = token: who may connect and what a connection may do
 * before it has logged in. A token comes either in the upgrade's query
 * (?token=…) or in a login message ({"type":"login","token":…}); a uid
 * given beside it must be the token's subject. A connection that has not
 * logged in may send nothing but a login, and is closed (4001) when it
 * has not logged in within auth.login_timeout.
 *
 * Tokens are verified by guard.h; binding the uid is exec's (exec_bind,
 * which also enforces gateway.max_connections_per_uid). Deliberately not
 * here: auth.mode = none (nothing to check) and the worker's answer to a
 * login, which the message goes on to.
 */
#ifndef GATECAST_GATEWAY_LOGIN_H
#define GATECAST_GATEWAY_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/jwt.h"
#include "http/http1.h"

struct client;
struct config;
struct conn_index;
struct exec_ctx;
struct guard;
struct login;

/* Counted where they happen, read by /metrics. */
struct login_stats {
	uint64_t refused_token;       /* upgrades and logins with a bad token */
	uint64_t closed_unauthorized; /* closed for a bad login or none in time */
};

/* cfg (auth.login_timeout, read at each use), guard, exec and ix are
 * borrowed for the login's life. Never fails. */
struct login *login_new(const struct config *cfg, struct guard *guard, struct exec_ctx *exec,
	struct conn_index *ix);
/* NULL is fine. */
void login_free(struct login *lg);

/* The upgrade's part: any token parameter (empty, undecodable or too long
 * included) must verify, and a uid parameter needs a token that names it.
 * Returns 0 with *have_token false (no token: the connection must log in)
 * or true (*claims filled: hand them to login_bind or jwt_claims_fini);
 * -EPERM when refused (logged, counted: the caller answers 401). */
int login_upgrade(struct login *lg, struct http_span query, struct jwt_claims *claims,
	bool *have_token);
/* cl logged in with verified claims: marks it so, binds the token's uid
 * (exec_bind) and keeps the claims on it (client_set_claims; *claims is
 * taken). */
void login_bind(struct login *lg, struct client *cl, struct jwt_claims *claims);
/* cl's connection is open: when cl has not logged in, it must by now
 * (clock_ms) + auth.login_timeout (login_expire). */
void login_start(struct login *lg, const struct client *cl, uint64_t now);
/* A message from cl (data borrowed for the call). A login is verified here
 * (a bad one closes the connection, 4001); anything else passes only once
 * cl has logged in (the client gets an error frame otherwise). Returns true
 * when the message goes on to the worker (a good login does: the worker
 * answers it). */
bool login_message(struct login *lg, struct client *cl, const void *data, size_t len,
	bool binary);
/* Closes (4001) the connections that have not logged in by their deadline
 * (at or before now, clock_ms). */
void login_expire(struct login *lg, uint64_t now);
struct login_stats login_stats(const struct login *lg);

#endif
