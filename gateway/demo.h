/*
 * demo — the demo's own endpoints on the WebSocket port, served only with
 * demo.enabled = on (SECURITY.md: never in production):
 *
 *   GET /demo/token?uid=U   a token for any uid (demo_token)
 *   POST /demo/push         one push command from the demo page's form,
 *                           through the same path as the HTTP API's
 *                           POST /api/<command> (push_table_submit), but
 *                           only send_to_uid to one uid and send_to_group
 *                           to one DEMO_GROUPS group, and without
 *                           push.secret
 *
 * Pure: requests in, responses out, no sockets or state. gateway.c does the
 * wiring: the IP slots, the Origin check, the push port.
 */
#ifndef GATECAST_GATEWAY_DEMO_H
#define GATECAST_GATEWAY_DEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "http/http1.h"
#include "ws/ws_handshake.h"
#include "proto/error.h"
#include "proto/msg.h"
#include "push/push_reply.h"

struct config;

#define DEMO_TOKEN_TTL 3600 /* seconds */
/* The groups a demo token may join, and the only ones /demo/push sends to:
 * the ones the demo page joins by itself. */
#define DEMO_GROUPS "company:*"

/* GET (or HEAD) /demo/token?uid=U: {"token":"<JWT>","uid":"U"} signed with
 * auth.secret, valid DEMO_TOKEN_TTL and allowed into DEMO_GROUPS, or
 * "token":null when !token_mode; a bad uid gets a JSON 400. Appends the
 * complete response to out. */
void demo_token(const struct config *cfg, bool token_mode, const struct ws_handshake *req,
	struct buf *out);

/* Is a POST to path (borrowed) for /demo/push? */
bool demo_push_path(struct http_span path);
/* POST /demo/push before its command is looked at: the body must say it is
 * JSON (Content-Type: application/json, parameters allowed). That is also
 * what keeps other sites' pages out: a cross-site form or no-cors fetch
 * cannot send that type, and a CORS one needs a preflight (OPTIONS), which
 * this port refuses. Returns 0, or appends a complete 415 to out and
 * returns 415. */
int demo_push_check(struct http_span content_type, struct buf *out);
/* push_filter_fn for /demo/push: send_to_uid to exactly one uid, or
 * send_to_group to exactly one DEMO_GROUPS group; anything else is refused
 * with "forbidden" (HTTP 403). */
int demo_push_filter(void *arg, const struct proto_cmd *cmd, enum proto_error *error_code,
	const char **message);
/* Appends the response to /demo/push for a push reply (borrowed; its line
 * is JSON, newline optional): the line is the body, and the status is the
 * HTTP API's for its error code (push_reply_status: 200 when ok, 403 for
 * "forbidden"). */
void demo_push_reply(struct buf *out, const struct push_reply *rep);
/* Appends a complete JSON response (http_reply_write): status,
 * Content-Type: application/json, Cache-Control: no-store,
 * X-Content-Type-Options: nosniff, Connection: close, the body (borrowed). */
void demo_reply(struct buf *out, int status, const char *json, size_t len);

#endif
