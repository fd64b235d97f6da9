/*
 * http_upgrade — parses the HTTP/1.1 request that opens a WebSocket
 * (RFC 6455 §4.2.1) and builds the responses (§4.2.2). It also tells a
 * plain GET or HEAD (no upgrade asked for: a browser fetching a static
 * file from the WebSocket port) from a bad upgrade, which still gets its
 * 400/426. Pure: bytes in, struct out; no sockets, no logging.
 *
 * Returned string fields point into the caller's input bytes and are NOT
 * NUL-terminated.
 */
#ifndef GATECAST_WS_HTTP_UPGRADE_H
#define GATECAST_WS_HTTP_UPGRADE_H

#include <stddef.h>

#include "common/buf.h"

struct http_span {
	const char *p;
	size_t n; /* 0 = absent */
};

struct http_upgrade {
	struct http_span method;  /* "GET" */
	struct http_span path;    /* "/" — the request target before '?' */
	struct http_span query;   /* after '?', without it; may be empty */
	struct http_span key;     /* Sec-WebSocket-Key, trimmed */
	struct http_span origin;  /* Origin, may be absent */
	struct http_span forwarded_for; /* X-Forwarded-For, may be absent */
	struct http_span user_agent;    /* may be absent */
	struct http_span if_none_match; /* If-None-Match (last one), may be absent */
	size_t head_len;          /* bytes of the request head incl. the blank line */
};

#define HTTP_UPGRADE_ACCEPT_LEN 28
/* http_upgrade_parse: a valid request that asks for no WebSocket. */
#define HTTP_UPGRADE_PLAIN 1

/* Parses the head at p (len bytes available so far). Returns:
 *   0        a complete, valid upgrade request; *req filled
 *   HTTP_UPGRADE_PLAIN (1)
 *            a complete, well-formed GET or HEAD with Host that has none
 *            of Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version or an
 *            "upgrade" Connection option: a plain HTTP request for the
 *            caller to answer. *req has method, path, query,
 *            if_none_match, forwarded_for, user_agent and head_len
 *   -EAGAIN  the head is not complete yet (and len < max_head)
 *   400      malformed request line/headers, missing or invalid
 *            Sec-WebSocket-Key (must be base64 of 16 bytes), missing
 *            "Upgrade: websocket" or "Connection: ... upgrade ..." (tokens,
 *            case-insensitive), Host missing, not HTTP/1.1
 *   405      method is neither GET nor HEAD, or HEAD on an upgrade request
 *   426      Sec-WebSocket-Version missing or not 13
 *   431      the head is longer than max_head bytes (also when no end is
 *            found within max_head bytes)
 * Header names are case-insensitive; header values may be spread over
 * several headers of the same name for Connection. */
int http_upgrade_parse(const char *p, size_t len, size_t max_head, struct http_upgrade *req);

/* Computes Sec-WebSocket-Accept for key (RFC 6455 §4.2.2 step 5.4): base64
 * of SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"). Writes 28 chars and
 * a NUL. */
void http_upgrade_accept(const char *key, size_t len, char out[HTTP_UPGRADE_ACCEPT_LEN + 1]);

/* Appends the 101 Switching Protocols response for req to out. */
void http_upgrade_response_101(const struct http_upgrade *req, struct buf *out);

/* Appends a complete error response (status 400, 401, 403, 405, 426, 429,
 * 431, 503) with a short text body and "Connection: close"; 426 carries
 * "Sec-WebSocket-Version: 13". */
void http_upgrade_response_error(int status, struct buf *out);

/* Finds a parameter in a query string ("uid=42&token=x"), percent-decoding
 * its value into out (size outlen, NUL-terminated). Returns the decoded
 * length, -ENOENT when absent, -EINVAL when malformed percent-encoding,
 * -ENOSPC when it does not fit. */
int http_query_param(struct http_span query, const char *name, char *out, size_t outlen);

#endif
