/*
 * http_api — the pure parts of the gateway's HTTP port (http.listen): the
 * request head parser, splitting a JSON array body into its elements and the
 * status of a push reply (responses are http_reply.h's). No sockets, no logging;
 * push_port.c does the I/O and owns the connections.
 *
 * Deliberately small: HTTP/1.0 and 1.1 requests with a Content-Length body or
 * none. Transfer-Encoding (chunked) is refused with 411, obsolete line
 * folding, blanks before a colon, bad or conflicting Content-Length with 400
 * (RFC 9112 §6.3 and §11.2: these are what request smuggling is made of).
 */
#ifndef GATECAST_HTTP_HTTP_API_H
#define GATECAST_HTTP_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#define HTTP_API_MAX_HEAD 8192   /* longer heads get 431 */
#define HTTP_API_MAX_BATCH 1000  /* commands in one /api/batch; more get 413 */

enum http_api_method { HTTP_API_OTHER = 0, HTTP_API_GET, HTTP_API_POST, HTTP_API_HEAD };

/* A parsed request head. Pointers point into the parsed bytes (borrowed). */
struct http_api_req {
	enum http_api_method method;
	const char *path;  /* the target up to '?' */
	size_t path_len;
	const char *query; /* after '?' ("" when none) */
	size_t query_len;
	uint64_t content_length; /* 0 when absent */
	bool keep_alive;         /* HTTP/1.1 unless "close"; 1.0 only with "keep-alive" */
	bool expect_continue;    /* "Expect: 100-continue" */
	const char *authorization; /* the header's value, NULL when absent */
	size_t authorization_len;
	int error_status;        /* on -EBADMSG: 400, 411, 431 or 505 */
};

/* Parses the request head at p (n bytes, not necessarily NUL-terminated).
 * Returns the head's length including its blank line (> 0), 0 when more bytes
 * are needed, or -EBADMSG with r->error_status set (431 when no head ends
 * within HTTP_API_MAX_HEAD bytes). Lines may end in CRLF or LF. */
int http_api_parse_head(const char *p, size_t n, struct http_api_req *r);

/* Splits the text of a JSON array (already known to be valid JSON) into the
 * spans of its elements: up to max (off, len) pairs into off[]/len[].
 * Returns the element count (which may exceed max: then only max are
 * filled), or -EINVAL when the text is not an array. */
long http_api_split_array(const char *p, size_t n, size_t *off, size_t *len, size_t max);

/* The HTTP status for a push reply line (JSON): 200 when "ok" is true,
 * otherwise by its "error" code (400, 401, 404, 409, 413, 503, 504; 500 for
 * anything else). */
int http_api_reply_status(const char *json, size_t len);

#endif
