/*
 * push_reply — the answer to a push command: its reply line (JSON + '\n',
 * the push port's wire format and the HTTP API's body), and what a framing
 * needs to know about it without reading the line back: the error code
 * (the HTTP status follows from it, push_reply_status) and, for the send_*
 * commands, the delivered count. Pure: no sockets, no logging.
 */
#ifndef GATECAST_PUSH_PUSH_REPLY_H
#define GATECAST_PUSH_PUSH_REPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/error.h"
#include "proto/msg.h"

/* One answer as the framings take it: all borrowed from whoever made it. */
struct push_reply {
	const char *line; /* the reply line, '\n' included */
	size_t len;
	enum proto_error error; /* PROTO_ERR_NONE: "ok":true */
	int64_t delivered;      /* send_* commands that succeeded: "delivered"; else 0 */
};

/* Appends the reply line for a request of type with the given id (borrowed,
 * may be NULL) and result r (borrowed), and fills *rep (may be NULL) with
 * its error code and delivered count; rep->line and rep->len are left for
 * the caller to point at the line. */
void push_reply_render(enum cmd_type type, const json_t *id, const struct proto_result *r,
	struct buf *out, struct push_reply *rep);
/* Appends an error reply line: {"id":…,"ok":false,"error":code,"message":…}
 * (message NULL: ""). */
void push_reply_error(const json_t *id, enum proto_error code, const char *message,
	struct buf *out);
/* The HTTP status of an answer with this code: 200 for PROTO_ERR_NONE, 4xx
 * for the client's errors, 503 and 504 for the cluster's, 500 for any other
 * (PROTO_ERR_INTERNAL, PROTO_ERR_OTHER). */
int push_reply_status(enum proto_error code);

#endif
