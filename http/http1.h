/*
 * http1 — the one HTTP/1.x request-head parser (RFC 9112 message syntax,
 * RFC 9110 fields), used by every port that speaks HTTP: the WebSocket
 * port (upgrades, static files, POSTs) and the push service's HTTP API.
 * Pure: bytes in, a struct of spans out; no sockets, no logging, no state
 * kept between calls (each call rescans from the start, which is cheap for
 * heads bounded by HTTP1_MAX_HEAD).
 *
 * One policy, deliberately strict, because what it accepts is handed on as
 * trusted structure:
 *   - lines end in CRLF only: RFC 9112 §2.2 lets a recipient accept a bare
 *     LF; we refuse a bare LF, or a CR not followed by LF, with 400 as soon
 *     as it is seen, even before the head is complete, since such a client
 *     would otherwise wait for a CRLF CRLF that never comes;
 *   - no empty line before the request line, exactly one SP between its
 *     parts, the target in origin-form (RFC 9112 §3.2.1), HTTP/1.0 or 1.1
 *     (another HTTP/x.y gets 505);
 *   - obs-fold, whitespace before the colon and control characters in
 *     values get 400 (RFC 9112 §5.1–5.2);
 *   - the body is framed by Content-Length only: Transfer-Encoding gets
 *     411, a malformed or conflicting Content-Length 400, one of more than
 *     18 digits 413 (RFC 9112 §6.3 and §11.2: these are what request
 *     smuggling is made of); a repeated Authorization gets 400.
 *
 * Not here: what a method, path or header means to an application (the
 * WebSocket handshake is ws/ws_handshake.h; the push API is push/), reading
 * the body, and writing responses (http_reply.h).
 */
#ifndef GATECAST_HTTP_HTTP1_H
#define GATECAST_HTTP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD 8192 /* longer heads get 431 */

/* Bytes inside the caller's input, NOT NUL-terminated; n == 0 = absent. */
struct http_span {
	const char *p;
	size_t n;
};

enum http1_method { HTTP1_OTHER = 0, HTTP1_GET, HTTP1_HEAD, HTTP1_POST };

/* A parsed request head. Spans point into the parsed bytes (borrowed). */
struct http1_req {
	enum http1_method method;
	struct http_span method_name; /* as sent ("GET") */
	struct http_span target;      /* the whole request target */
	struct http_span path;        /* the target up to '?' */
	struct http_span query;       /* after '?', without it; may be empty */
	int minor;                    /* HTTP/1.<minor>: 0 or 1 */
	uint64_t content_length;      /* 0 when absent */
	bool has_content_length;
	bool keep_alive;       /* HTTP/1.1 unless "close"; 1.0 only with "keep-alive" */
	bool expect_continue;  /* "Expect: 100-continue" */
	struct http_span authorization; /* the header's value; n == 0 when absent */
	struct http_span head;          /* the whole head incl. its blank line */
	/* Set when the call returns -EBADMSG: 400, 411, 413, 431 or 505. When
	 * the request line was read before the error, method and method_name
	 * are set too (so a caller can answer a POST in its own shape). */
	int status;
};

/* Parses the request head at p (n bytes so far; NUL not needed). Returns
 * the head's length including its blank line (> 0), 0 when more bytes are
 * needed (no error seen yet and n < HTTP1_MAX_HEAD), or -EBADMSG with
 * r->status set (431 when no head ends within HTTP1_MAX_HEAD bytes). *r is
 * always overwritten. */
int http1_parse(const char *p, size_t n, struct http1_req *r);

/* Walks the header fields of a head http1_parse accepted: *pos starts at 0;
 * each call returns true with the next field's name and value (trimmed of
 * OWS), false after the last one. */
bool http1_header_next(const struct http1_req *r, size_t *pos, struct http_span *name,
	struct http_span *value);

/* The value of header name (case-insensitive, without the colon): the last
 * one when it repeats ({NULL, 0} when absent); *count (may be NULL) gets
 * how many there were. */
struct http_span http1_header(const struct http1_req *r, const char *name, int *count);

/* Whether the n bytes at p equal the NUL-terminated s, ignoring ASCII case
 * (locale-free, unlike strncasecmp). */
bool http1_ieq(const char *p, size_t n, const char *s);

/* Whether the comma-separated list p[0..n) (RFC 9110 §5.6.1, empty
 * elements allowed) has an element equal to token, ignoring ASCII case. */
bool http1_list_has(const char *p, size_t n, const char *token);

#endif
