/*
 * ws_handshake — see ws_handshake.h. Everything about message syntax
 * (line endings, fields, framing) was settled by http1_parse; what is left
 * is what RFC 6455 adds on top, judged from one walk over the fields.
 *
 * Host, Origin, Sec-WebSocket-Key and Sec-WebSocket-Version must not
 * repeat (RFC 9112 §3.2 for Host; for the others a second value would make
 * the request ambiguous). Upgrade and Connection are lists and may be
 * spread over several headers (RFC 9110 §5.3); of several X-Forwarded-For
 * or User-Agent headers the last one wins, because a proxy in front of us
 * appends its own X-Forwarded-For last. A missing Sec-WebSocket-Version
 * gets 426 like an unsupported one, so the client learns from the response
 * which version to speak.
 */
#include "ws/ws_handshake.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/sha1.h>
#include <mbedtls/version.h>

#include "common/base64.h"
#include "http/http_reply.h"

/* RFC 6455 §1.3 */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of 16 bytes, with "==" */

/* What the header lines have told us. */
struct ws_handshake_seen {
	int host;
	int key;
	int version;
	int origin;
	bool version_13;
	bool upgrade;            /* an Upgrade header, whatever its value */
	bool upgrade_websocket;
	bool connection_upgrade;
};

static void
ws_handshake_field(struct http_span k, struct http_span v, struct ws_handshake *hs,
	struct ws_handshake_seen *seen)
{
	if (http1_ieq(k.p, k.n, "Host")) {
		seen->host++;
	} else if (http1_ieq(k.p, k.n, "Upgrade")) {
		seen->upgrade = true;
		if (http1_list_has(v.p, v.n, "websocket"))
			seen->upgrade_websocket = true;
	} else if (http1_ieq(k.p, k.n, "Connection")) {
		if (http1_list_has(v.p, v.n, "upgrade"))
			seen->connection_upgrade = true;
	} else if (http1_ieq(k.p, k.n, "Sec-WebSocket-Key")) {
		seen->key++;
		hs->key = v;
	} else if (http1_ieq(k.p, k.n, "Sec-WebSocket-Version")) {
		seen->version++;
		seen->version_13 = v.n == 2 && memcmp(v.p, "13", 2) == 0;
	} else if (http1_ieq(k.p, k.n, "Origin")) {
		seen->origin++;
		hs->origin = v;
	} else if (http1_ieq(k.p, k.n, "X-Forwarded-For")) {
		hs->forwarded_for = v;
	} else if (http1_ieq(k.p, k.n, "User-Agent")) {
		hs->user_agent = v;
	} else if (http1_ieq(k.p, k.n, "If-None-Match")) {
		hs->if_none_match = v;
	}
}

/* Sec-WebSocket-Key must be base64 of 16 bytes (§4.2.1 item 5): 22
 * characters of the alphabet and "==" (base64_decode refuses anything
 * else, whitespace included). */
static bool
ws_handshake_key_valid(struct http_span key)
{
	unsigned char raw[BASE64_DECODED_MAX(WS_KEY_LEN)];
	size_t olen = 0;

	if (key.n != WS_KEY_LEN || key.p[22] != '=' || key.p[23] != '=')
		return false;
	if (base64_decode(key.p, key.n, 0, raw, &olen) != 0)
		return false;
	return olen == 16;
}

static int
ws_handshake_fail(struct ws_handshake *hs, int status)
{
	memset(hs, 0, sizeof *hs);
	hs->status = status;
	return -EBADMSG;
}

int
ws_handshake_check(const struct http1_req *r, struct ws_handshake *hs)
{
	struct ws_handshake_seen seen = {0};

	memset(hs, 0, sizeof *hs);
	/* the opening handshake is HTTP/1.1 (§4.1), and a ws URI has no
	 * fragment (§3) */
	if (r->minor != 1 || memchr(r->target.p, '#', r->target.n) != NULL)
		return ws_handshake_fail(hs, 400);
	if (r->method != HTTP1_GET && r->method != HTTP1_HEAD)
		return ws_handshake_fail(hs, 405);
	hs->method = r->method_name;
	hs->path = r->path;
	hs->query = r->query;

	struct http_span k, v;
	size_t pos = 0;
	while (http1_header_next(r, &pos, &k, &v))
		ws_handshake_field(k, v, hs, &seen);

	if (seen.host != 1 || seen.origin > 1 || seen.version > 1)
		return ws_handshake_fail(hs, 400);
	hs->head_len = r->head.n;
	/* Nothing in it asks for a WebSocket: a plain request, the caller's
	 * to answer (static files). Anything that does is held to §4.2.1. */
	if (!seen.upgrade && !seen.connection_upgrade && seen.key == 0 && seen.version == 0) {
		hs->plain = true;
		return 0;
	}
	if (r->method != HTTP1_GET)
		return ws_handshake_fail(hs, 405);
	if (!seen.upgrade_websocket || !seen.connection_upgrade)
		return ws_handshake_fail(hs, 400);
	/* §4.2.2 item 4: tell the client which version we speak */
	if (seen.version == 0 || !seen.version_13)
		return ws_handshake_fail(hs, 426);
	if (seen.key != 1 || !ws_handshake_key_valid(hs->key))
		return ws_handshake_fail(hs, 400);
	return 0;
}

void
ws_handshake_accept(const char *key, size_t len, char out[WS_HANDSHAKE_ACCEPT_LEN + 1])
{
	mbedtls_sha1_context ctx;
	unsigned char digest[20];

	/* SHA-1 in software cannot fail; the return values carry nothing */
	mbedtls_sha1_init(&ctx);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	mbedtls_sha1_starts(&ctx);
	mbedtls_sha1_update(&ctx, (const unsigned char *)key, len);
	mbedtls_sha1_update(&ctx, (const unsigned char *)WS_GUID, sizeof WS_GUID - 1);
	mbedtls_sha1_finish(&ctx, digest);
#else
	mbedtls_sha1_starts_ret(&ctx);
	mbedtls_sha1_update_ret(&ctx, (const unsigned char *)key, len);
	mbedtls_sha1_update_ret(&ctx, (const unsigned char *)WS_GUID, sizeof WS_GUID - 1);
	mbedtls_sha1_finish_ret(&ctx, digest);
#endif
	mbedtls_sha1_free(&ctx);
	/* 20 bytes encode to exactly 28 characters; the NUL makes 29 */
	base64_encode(digest, sizeof digest, 0, out);
}

void
ws_handshake_reply_101(const struct ws_handshake *hs, struct buf *out)
{
	char accept[WS_HANDSHAKE_ACCEPT_LEN + 1];

	/* §4.2.2 item 5 */
	ws_handshake_accept(hs->key.p, hs->key.n, accept);
	buf_printf(out,
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: %s\r\n"
		"\r\n",
		accept);
}

void
ws_handshake_refuse(int status, struct buf *out)
{
	struct http_reply h = {.content_type = "text/plain", .connection = "close"};
	const char *reason = http_reply_reason(status);

	/* a status we have no text for is a bug in the caller, but the client
	 * still deserves a well-formed response */
	if (reason == NULL) {
		status = 500;
		reason = http_reply_reason(500);
	}
	if (status == 405) {
		/* RFC 9110 §15.5.6: a 405 MUST list the allowed methods */
		h.extra = "Allow: GET\r\n";
	} else if (status == 426) {
		/* §4.2.2 item 4 names the version we speak; RFC 9110 §15.5.22
		 * requires Upgrade in a 426, and §7.8 then requires the
		 * "upgrade" connection option */
		h.extra = "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n";
		h.connection = "close, Upgrade";
	}
	struct buf body = BUF_INIT;
	buf_printf(&body, "%s\n", reason);
	http_reply_write(out, status, &h, body.p, body.len);
	buf_fini(&body);
}
