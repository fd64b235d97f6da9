/*
 * client — what the gateway keeps per WebSocket connection besides the
 * socket: its sequence number (the second half of its client id), the
 * session, and a stamp that de-duplicates deliveries within one send.
 */
#ifndef GATECAST_GATEWAY_CLIENT_H
#define GATECAST_GATEWAY_CLIENT_H

#include <jansson.h>
#include <stdint.h>

struct ws_conn;

struct client {
	struct ws_conn *ws;
	uint64_t seq;
	uint32_t stamp;   /* == the current send's stamp: already delivered/excluded */
	json_t *session;  /* NULL until set */
};

#endif
