/*
 * http_reply — the one HTTP/1.1 response writer and the one table of
 * reason phrases, for every port that answers HTTP. Pure: appends bytes to
 * a buffer; no sockets.
 *
 * Not here: choosing a status or a body (the callers' policy), chunked
 * bodies (every response has a Content-Length, or none for 1xx/204/304).
 */
#ifndef GATECAST_HTTP_HTTP_REPLY_H
#define GATECAST_HTTP_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* The optional parts of a response head; zero-initialise and fill in what
 * applies. Strings are borrowed for the call. */
struct http_reply {
	const char *content_type;  /* Content-Type, NULL = none */
	const char *cache_control; /* Cache-Control, NULL = none */
	bool nosniff;              /* X-Content-Type-Options: nosniff */
	const char *connection;    /* Connection ("close"), NULL = none */
	const char *extra;         /* raw header lines, each ending in "\r\n", or NULL */
	bool head;                 /* a reply to HEAD: the length, not the body */
};

/* The reason phrase of status (RFC 9110 §15, RFC 6585, RFC 6455 for 101),
 * or NULL when the table has none. */
const char *http_reply_reason(int status);

/* Appends a whole response to out: the status line; Content-Type,
 * Content-Length (not for 1xx, 204 and 304, RFC 9110 §8.6), Cache-Control,
 * X-Content-Type-Options, Connection, extra — in that order, each only when
 * asked for; the blank line; and len bytes of body (borrowed) unless h->head
 * or the status has no body. A status without a reason phrase is a bug in
 * the caller: it becomes 500, so the client still gets a well-formed
 * response. h may be NULL (no optional parts). */
void http_reply_write(struct buf *out, int status, const struct http_reply *h, const void *body,
	size_t len);

/* Appends the JSON error body gatecast's HTTP endpoints answer with:
 * {"ok":false,"error":code,"message":message}. Both are plain ASCII without
 * quotes or backslashes (they are not escaped). */
void http_reply_error_body(struct buf *out, const char *code, const char *message);

#endif
