/*
 * client — what the gateway keeps per WebSocket connection besides the
 * socket: its sequence number (the second half of its client id), the
 * session, a stamp that de-duplicates deliveries within one send, and what
 * the door policy (guard.h) needs: its IP slot, rate bucket and token.
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

#endif
