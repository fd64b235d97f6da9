/*
 * client — what the gateway keeps per WebSocket connection besides the
 * socket: its sequence number (the second half of its client id), the
 * session, a stamp that de-duplicates deliveries within one send, and what
 * the door policy (guard.h) needs: its IP slot, rate bucket and token.
 *
 * Its whole lifetime is here: client_new when an upgrade is accepted,
 * client_free when the connection has closed. Deliberately not here: the
 * indexes it is in (conn_index.h; the caller adds and removes it) and what
 * the connection may do (login.h, exec.h).
 */
#ifndef GATECAST_GATEWAY_CLIENT_H
#define GATECAST_GATEWAY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/jwt.h"
#include "gateway/guard.h"

struct ws_conn;

struct client {
	struct ws_conn *ws;
	uint64_t seq;
	uint64_t ip;      /* guard_client_ip key, 0 when no per-IP slot was taken */
	uint32_t stamp;   /* == the current send's stamp: already delivered/excluded */
	uint16_t limited; /* rate-limited messages in a row */
	bool authed;      /* auth.mode = token: logged in with a valid token */
	struct guard_bucket bucket;
	json_t *session;  /* NULL until set */
	struct jwt_claims *claims; /* the token's, when it had a groups claim */
};

/* A client for connection ws (borrowed: the connection outlives it) with
 * sequence number seq, holding the IP slot ip (guard_ip_acquire'd by the
 * caller; client_free releases it). Never fails. */
struct client *client_new(struct ws_conn *ws, uint64_t seq, uint64_t ip);
/* Releases cl's IP slot in guard, its session and claims, and frees cl.
 * The caller has removed it from every index first. NULL is fine. */
void client_free(struct client *cl, struct guard *guard);
/* Keeps the token's claims on cl when they have a groups claim (the only
 * part needed after the uid is bound: *claims is taken), else releases
 * them; the claims cl had before are released either way. */
void client_set_claims(struct client *cl, struct jwt_claims *claims);
/* Sends cl the error frame {"type":"error","error":code,"message":message}
 * (both borrowed for the call, JSON-escaped). */
void client_send_error(struct client *cl, const char *code, const char *message);

#endif
