/*
 * ws_handshake — the server side of the WebSocket opening handshake
 * (RFC 6455 §4.2) on a request head http1_parse already accepted: the
 * §4.2.1 checks, Sec-WebSocket-Accept, the 101 and the refusals (§4.2.2).
 * It also tells a plain GET or HEAD (no upgrade asked for: a browser
 * fetching a static file from the WebSocket port) from a bad upgrade,
 * which still gets its 400/426. Pure: no sockets, no logging.
 *
 * Not done here: subprotocols and extensions are not negotiated
 * (Sec-WebSocket-Protocol/-Extensions are ignored, §4.2.2 lets the server
 * select none); Origin is only reported, checking it is the caller's
 * policy.
 */
#ifndef GATECAST_WS_WS_HANDSHAKE_H
#define GATECAST_WS_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "http/http1.h"

/* What the gateway needs of a GET or HEAD on the WebSocket port. Spans
 * point into the parsed head (borrowed, not NUL-terminated); n == 0 when
 * absent. */
struct ws_handshake {
	struct http_span method;  /* "GET" (or "HEAD" for a plain request) */
	struct http_span path;    /* the request target before '?' */
	struct http_span query;   /* after '?', without it; may be empty */
	struct http_span key;     /* Sec-WebSocket-Key (upgrades only) */
	struct http_span origin;  /* Origin */
	struct http_span forwarded_for; /* X-Forwarded-For, the last one */
	struct http_span user_agent;    /* User-Agent, the last one */
	struct http_span if_none_match; /* If-None-Match, the last one */
	size_t head_len;          /* bytes of the request head incl. the blank line */
	bool plain;               /* no upgrade asked for: the caller answers it */
	int status;               /* on -EBADMSG: 400, 405 or 426 */
};

#define WS_HANDSHAKE_ACCEPT_LEN 28

/* Judges the head r (borrowed; spans in *hs point where r's do). Returns 0
 * for a valid upgrade request (hs->plain false) or a well-formed GET or
 * HEAD with Host that has none of Upgrade, Sec-WebSocket-Key,
 * Sec-WebSocket-Version or an "upgrade" Connection option (hs->plain
 * true). Otherwise -EBADMSG with hs->status:
 *   400  not HTTP/1.1, a fragment in the target (§3), Host missing or
 *        repeated (RFC 9112 §3.2), Origin, Sec-WebSocket-Key or -Version
 *        repeated, no "Upgrade: websocket" or no "upgrade" Connection
 *        option (tokens, case-insensitive; lists may be spread over
 *        several headers), a key that is not base64 of 16 bytes
 *   405  a method other than GET and HEAD (checked right after the two
 *        above: a POST needs no Host here), or HEAD asking for an upgrade
 *   426  Sec-WebSocket-Version missing or not 13
 * On failure only status is meaningful. */
int ws_handshake_check(const struct http1_req *r, struct ws_handshake *hs);

/* Computes Sec-WebSocket-Accept for key (§4.2.2 step 5.4): base64 of
 * SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"). Writes 28 chars and
 * a NUL. */
void ws_handshake_accept(const char *key, size_t len, char out[WS_HANDSHAKE_ACCEPT_LEN + 1]);

/* Appends the 101 Switching Protocols response for hs to out. */
void ws_handshake_reply_101(const struct ws_handshake *hs, struct buf *out);

/* Appends a complete refusal of a handshake or plain request: status (400,
 * 401, 403, 405, 411, 413, 426, 429, 431, 503, 505; another becomes 500)
 * with its reason phrase as a text body and "Connection: close"; a 405
 * carries "Allow: GET" (RFC 9110 §15.5.6), a 426 "Sec-WebSocket-Version:
 * 13" and "Upgrade: websocket" (§4.2.2 item 4, RFC 9110 §15.5.22). */
void ws_handshake_refuse(int status, struct buf *out);

#endif
