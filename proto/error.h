/*
 * proto/error — the error codes of gatecast's APIs: the "error" field of a
 * push reply, an HTTP API answer and a client's error frame. On the wire
 * (cluster messages, replies) an error is its name; inside a process it is
 * this enum, so nothing compares strings to learn what went wrong. Not
 * here: the HTTP status an error maps to (push/push_reply.h), and messages.
 */
#ifndef GATECAST_PROTO_ERROR_H
#define GATECAST_PROTO_ERROR_H

#include <stddef.h>

enum proto_error {
	PROTO_ERR_NONE = 0,
	PROTO_ERR_BAD_JSON,        /* not JSON */
	PROTO_ERR_BAD_REQUEST,     /* JSON, but not a valid request */
	PROTO_ERR_UNKNOWN_TYPE,    /* no such command or message type */
	PROTO_ERR_UNAUTHORIZED,    /* push.secret or a login is missing or wrong */
	PROTO_ERR_FORBIDDEN,       /* a policy refused it (the demo's filter) */
	PROTO_ERR_NOT_FOUND,       /* no such client, route */
	PROTO_ERR_TOO_LARGE,       /* a line, body, field or list over its limit */
	PROTO_ERR_LENGTH_REQUIRED, /* HTTP: a body without Content-Length */
	PROTO_ERR_TOO_MANY_GROUPS, /* gateway.max_groups_per_client */
	PROTO_ERR_NO_WORKER,       /* no worker within gateway.worker_wait */
	PROTO_ERR_OVERLOADED,      /* a queue or table of requests is full */
	PROTO_ERR_TIMEOUT,         /* no answer in time */
	PROTO_ERR_INTERNAL,        /* a refusal without a code of its own */
	PROTO_ERR_OTHER,           /* a name this table does not know (from the wire) */
	PROTO_ERR__COUNT
};

/* The code's name ("bad_request"), a static string; "" for PROTO_ERR_NONE
 * and PROTO_ERR_OTHER, NULL for a value out of range. */
const char *proto_error_name(enum proto_error e);
/* The code named by the n bytes at p: PROTO_ERR_NONE for n == 0,
 * PROTO_ERR_OTHER for a name not in the table. */
enum proto_error proto_error_from_name(const char *p, size_t n);

#endif
