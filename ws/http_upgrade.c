/*
 * http_upgrade — see http_upgrade.h. The server side of the WebSocket
 * opening handshake (RFC 6455 §4.2) on HTTP/1.1 message syntax (RFC 7230
 * §3).
 *
 * The parser is deliberately strict, because everything it accepts is
 * handed on as trusted structure:
 *   - lines end in CRLF only. RFC 7230 §3.5 lets a recipient accept a bare
 *     LF; we do not, and reject a bare LF (or a CR not followed by LF) with
 *     400 as soon as it is seen, even before the head is complete, since
 *     such a client would otherwise wait for a CRLF CRLF that never comes;
 *   - no empty lines before the request line, exactly one SP between its
 *     parts, and the target in origin-form (RFC 7230 §5.3.1) without a
 *     fragment (RFC 6455 §3);
 *   - obs-fold, whitespace before the colon and control characters in
 *     values are rejected with 400 (RFC 7230 §3.2.4);
 *   - a missing Sec-WebSocket-Version gets 426 like an unsupported one, so
 *     the client learns from the response which version to speak;
 *   - Host, Origin, Sec-WebSocket-Key and Sec-WebSocket-Version must not
 *     repeat (RFC 7230 §5.4 for Host; for the others a second value would
 *     make the request ambiguous). Upgrade and Connection are lists and may
 *     be spread over several headers (RFC 7230 §3.2.2); of several
 *     X-Forwarded-For or User-Agent headers the last one wins, because a
 *     proxy in front of us appends its own X-Forwarded-For last.
 *
 * Not done here: subprotocols and extensions are not negotiated
 * (Sec-WebSocket-Protocol/-Extensions are ignored, RFC 6455 §4.2.2 lets the
 * server select none); Origin is only reported, checking it is the
 * caller's policy. No state is kept between calls: each call rescans from
 * the start, which is cheap for heads bounded by max_head.
 */
#include "ws/http_upgrade.h"

#include "common/base64.h"
#include "http/query.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <mbedtls/sha1.h>
#include <mbedtls/version.h>

/* RFC 6455 §1.3 */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of 16 bytes, with "==" */

/* What the header lines have told us so far. */
struct http_upgrade_seen {
	int host;
	int key;
	int version;
	int origin;
	bool version_13;
	bool upgrade;            /* an Upgrade header, whatever its value */
	bool upgrade_websocket;
	bool connection_upgrade;
};

/* tchar, RFC 7230 §3.2.6. */
static bool
http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
http_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
http_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Whether p[0..n) equals the literal s, ignoring ASCII case (locale-free,
 * unlike strncasecmp). */
static bool
http_span_ieq(const char *p, size_t n, const char *s)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char a = http_lower((unsigned char)p[i]);
		if (s[i] == '\0' || a != http_lower((unsigned char)s[i]))
			return false;
	}
	return s[i] == '\0';
}

/* Whether the comma-separated list p[0..n) (RFC 7230 §7, empty elements
 * allowed) has an element equal to token, ignoring ASCII case. */
static bool
http_list_has(const char *p, size_t n, const char *token)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && http_is_ows(p[i]))
			i++;
		size_t start = i;
		while (i < n && p[i] != ',')
			i++;
		size_t end = i;
		while (end > start && http_is_ows(p[end - 1]))
			end--;
		if (http_span_ieq(p + start, end - start, token))
			return true;
		i++; /* the comma */
	}
	return false;
}

/* Looks for the blank line that ends the head in p[0..len). Returns 0 and
 * sets *end just past it, -EAGAIN when it is not there yet, or 400 on a bare
 * CR or LF (see the file comment). Afterwards every CR in p[0..*end) is
 * followed by LF and every LF preceded by CR. */
static int
http_head_end(const char *p, size_t len, size_t *end)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r') {
			if (i + 1 < len && p[i + 1] != '\n')
				return 400;
		} else if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				return 400;
			if (i >= 3 && p[i - 2] == '\n') {
				*end = i + 1;
				return 0;
			}
		}
	}
	return -EAGAIN;
}

/* request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1),
 * given without its CRLF. */
static int
http_parse_request_line(const char *p, size_t n, struct http_upgrade *req)
{
	size_t i = 0;
	while (i < n && http_is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ')
		return 400;
	size_t method_len = i++;

	size_t t = i;
	while (i < n && (unsigned char)p[i] > ' ' && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == t || i == n || p[i] != ' ')
		return 400;
	const char *target = p + t;
	size_t target_len = i - t;
	i++;

	if (n - i != 8 || memcmp(p + i, "HTTP/1.1", 8) != 0)
		return 400;
	/* origin-form only; absolute-form and "*" are for proxies and OPTIONS */
	if (target[0] != '/' || memchr(target, '#', target_len) != NULL)
		return 400;
	/* methods are case-sensitive (RFC 7231 §4.1); HEAD only for plain
	 * requests, which is checked once the headers are known */
	bool get = method_len == 3 && memcmp(p, "GET", 3) == 0;
	bool head = method_len == 4 && memcmp(p, "HEAD", 4) == 0;
	if (!get && !head)
		return 405;

	req->method = (struct http_span){p, method_len};
	const char *q = memchr(target, '?', target_len);
	if (q == NULL) {
		req->path = (struct http_span){target, target_len};
	} else {
		req->path = (struct http_span){target, (size_t)(q - target)};
		req->query = (struct http_span){q + 1, target_len - (size_t)(q - target) - 1};
	}
	return 0;
}

/* header-field = field-name ":" OWS field-value OWS (RFC 7230 §3.2), given
 * without its CRLF. */
static int
http_parse_header(const char *p, size_t n, struct http_upgrade *req, struct http_upgrade_seen *seen)
{
	size_t i = 0;
	while (i < n && http_is_tchar((unsigned char)p[i]))
		i++;
	/* also rejects obs-fold (a line starting with SP/HTAB) and whitespace
	 * before the colon, RFC 7230 §3.2.4 */
	if (i == 0 || i == n || p[i] != ':')
		return 400;
	const char *name = p;
	size_t name_len = i++;

	for (size_t j = i; j < n; j++) {
		unsigned char c = (unsigned char)p[j];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return 400;
	}
	while (i < n && http_is_ows(p[i]))
		i++;
	while (n > i && http_is_ows(p[n - 1]))
		n--;
	struct http_span v = {p + i, n - i};

	if (http_span_ieq(name, name_len, "Host")) {
		seen->host++;
	} else if (http_span_ieq(name, name_len, "Upgrade")) {
		seen->upgrade = true;
		if (http_list_has(v.p, v.n, "websocket"))
			seen->upgrade_websocket = true;
	} else if (http_span_ieq(name, name_len, "Connection")) {
		if (http_list_has(v.p, v.n, "upgrade"))
			seen->connection_upgrade = true;
	} else if (http_span_ieq(name, name_len, "Sec-WebSocket-Key")) {
		seen->key++;
		req->key = v;
	} else if (http_span_ieq(name, name_len, "Sec-WebSocket-Version")) {
		seen->version++;
		seen->version_13 = v.n == 2 && memcmp(v.p, "13", 2) == 0;
	} else if (http_span_ieq(name, name_len, "Origin")) {
		seen->origin++;
		req->origin = v;
	} else if (http_span_ieq(name, name_len, "X-Forwarded-For")) {
		req->forwarded_for = v;
	} else if (http_span_ieq(name, name_len, "User-Agent")) {
		req->user_agent = v;
	} else if (http_span_ieq(name, name_len, "If-None-Match")) {
		req->if_none_match = v;
	}
	return 0;
}

/* Sec-WebSocket-Key must be base64 of 16 bytes (RFC 6455 §4.2.1 item 5):
 * 22 characters of the alphabet and "==" (base64_decode refuses anything
 * else, whitespace included). */
static bool
http_key_valid(struct http_span key)
{
	unsigned char raw[BASE64_DECODED_MAX(WS_KEY_LEN)];
	size_t olen = 0;

	if (key.n != WS_KEY_LEN || key.p[22] != '=' || key.p[23] != '=')
		return false;
	if (base64_decode(key.p, key.n, 0, raw, &olen) != 0)
		return false;
	return olen == 16;
}

int
http_upgrade_parse(const char *p, size_t len, size_t max_head, struct http_upgrade *req)
{
	struct http_upgrade_seen seen = {0};
	size_t end = 0;
	int rc;

	memset(req, 0, sizeof *req);
	/* the blank line must end within max_head bytes */
	rc = http_head_end(p, len < max_head ? len : max_head, &end);
	if (rc == -EAGAIN)
		return len >= max_head ? 431 : -EAGAIN;
	if (rc != 0)
		return rc;

	/* from here on lines are CRLF-terminated and the last one is empty */
	const char *eol = memchr(p, '\r', end);
	rc = http_parse_request_line(p, (size_t)(eol - p), req);
	if (rc != 0)
		goto fail;
	for (const char *line = eol + 2;; line = eol + 2) {
		eol = memchr(line, '\r', end - (size_t)(line - p));
		if (eol == line)
			break;
		rc = http_parse_header(line, (size_t)(eol - line), req, &seen);
		if (rc != 0)
			goto fail;
	}

	/* Host per RFC 7230 §5.4, for every HTTP/1.1 request */
	rc = 400;
	if (seen.host != 1 || seen.origin > 1 || seen.version > 1)
		goto fail;
	/* Nothing in it asks for a WebSocket: a plain request, the caller's
	 * to answer (static files). Anything that does is held to §4.2.1. */
	if (!seen.upgrade && !seen.connection_upgrade && seen.key == 0 && seen.version == 0) {
		req->head_len = end;
		return HTTP_UPGRADE_PLAIN;
	}
	rc = 405;
	if (req->method.n != 3)
		goto fail;
	/* RFC 6455 §4.2.1 */
	rc = 400;
	if (!seen.upgrade_websocket || !seen.connection_upgrade)
		goto fail;
	/* RFC 6455 §4.2.2 item 4: tell the client which version we speak */
	rc = 426;
	if (seen.version == 0 || !seen.version_13)
		goto fail;
	rc = 400;
	if (seen.key != 1 || !http_key_valid(req->key))
		goto fail;

	req->head_len = end;
	return 0;

fail:
	memset(req, 0, sizeof *req);
	return rc;
}

void
http_upgrade_accept(const char *key, size_t len, char out[HTTP_UPGRADE_ACCEPT_LEN + 1])
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
http_upgrade_response_101(const struct http_upgrade *req, struct buf *out)
{
	char accept[HTTP_UPGRADE_ACCEPT_LEN + 1];

	/* RFC 6455 §4.2.2 item 5 */
	http_upgrade_accept(req->key.p, req->key.n, accept);
	buf_printf(out,
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: %s\r\n"
		"\r\n",
		accept);
}

/* Reason phrases from RFC 7231 §6.1 and RFC 6585 §5. */
static const char *
http_reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return NULL;
	}
}

void
http_upgrade_response_error(int status, struct buf *out)
{
	const char *reason = http_reason(status);
	const char *extra = "";
	const char *connection = "close";

	/* a status we have no text for is a bug in the caller, but the client
	 * still deserves a well-formed response */
	if (reason == NULL) {
		status = 500;
		reason = "Internal Server Error";
	}
	if (status == 405) {
		/* RFC 7231 §6.5.5: a 405 MUST list the allowed methods */
		extra = "Allow: GET\r\n";
	} else if (status == 426) {
		/* RFC 6455 §4.2.2 item 4 names the version we speak; RFC 7231
		 * §6.5.15 requires Upgrade in a 426, and RFC 7230 §6.7 then
		 * requires the "upgrade" connection option */
		extra = "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n";
		connection = "close, Upgrade";
	}
	buf_printf(out,
		"HTTP/1.1 %d %s\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: %zu\r\n"
		"Connection: %s\r\n"
		"%s"
		"\r\n"
		"%s\n",
		status, reason, strlen(reason) + 1, connection, extra, reason);
}

int
http_query_param(struct http_span query, const char *name, char *out, size_t outlen)
{
	return query_param(query.p, query.n, name, out, outlen);
}
