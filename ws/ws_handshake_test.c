/*
 * ws_handshake_test — the opening handshake against RFC 6455 §1.2 / §4.2.1
 * and the error statuses of ws_handshake.h, judged as the gateway judges a
 * head (http1_parse, then ws_handshake_check); the accept key against
 * §1.3's example; the response texts.
 *
 * Every parse runs on a heap copy of exactly the bytes offered, so ASan
 * catches a read past len.
 */
#include "ws/ws_handshake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "tests/tap.h"

/* parse_n's verdicts besides an HTTP status */
#define MORE (-1)  /* http1_parse wants more bytes */
#define PLAIN 1    /* a plain GET or HEAD */

#define GET "GET / HTTP/1.1\r\n"
#define HOST "Host: example.com\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define END "\r\n"

/* RFC 6455 §1.2, the client's handshake, with a query and extra headers. */
static const char rfc_request[] = "GET /chat?uid=42&token=a%2Fb+c HTTP/1.1\r\n"
				  "Host: server.example.com\r\n"
				  "Upgrade: websocket\r\n"
				  "Connection: Upgrade\r\n"
				  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Origin: http://example.com\r\n"
				  "Sec-WebSocket-Protocol: chat, superchat\r\n"
				  "Sec-WebSocket-Version: 13\r\n"
				  "User-Agent:  test/1.0 \t\r\n"
				  "X-Forwarded-For: 192.0.2.1\r\n"
				  "\r\n";

/* The head s (n bytes) as the gateway judges it: MORE, 0 (an upgrade),
 * PLAIN, or the status of the refusal, from http1_parse or from
 * ws_handshake_check. */
static int
parse_n(const char *s, size_t n, struct ws_handshake *req)
{
	char *copy = xmemdup(s, n);
	struct http1_req hr;
	int hl = http1_parse(copy, n, &hr);
	int rc;
	memset(req, 0, sizeof *req);
	if (hl == 0)
		rc = MORE;
	else if (hl < 0)
		rc = hr.status;
	else if (ws_handshake_check(&hr, req) < 0)
		rc = req->status;
	else
		rc = req->plain ? PLAIN : 0;
	/* spans point into copy; move them to s so the caller may use them */
	if (rc == 0 || rc == PLAIN) {
		struct http_span *spans[] = {&req->method, &req->path, &req->query, &req->key,
			&req->origin, &req->forwarded_for, &req->user_agent, &req->if_none_match};
		for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
			if (spans[i]->p != NULL)
				spans[i]->p = s + (spans[i]->p - copy);
	}
	free(copy);
	return rc;
}

static int
parse(const char *s)
{
	struct ws_handshake req;
	return parse_n(s, strlen(s), &req);
}

static int
span_is(struct http_span sp, const char *want)
{
	return sp.n == strlen(want) && memcmp(sp.p, want, sp.n) == 0;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
test_rfc_request(void)
{
	struct ws_handshake req;
	int rc = parse_n(rfc_request, strlen(rfc_request), &req);

	tap_eq_int(rc, 0, "the RFC 6455 example request parses");
	tap_ok(span_is(req.method, "GET"), "the method is GET");
	tap_ok(span_is(req.path, "/chat"), "the path stops before '?'");
	tap_ok(span_is(req.query, "uid=42&token=a%2Fb+c"), "the query is the rest, without '?'");
	tap_ok(span_is(req.key, "dGhlIHNhbXBsZSBub25jZQ=="), "the key is reported");
	tap_ok(span_is(req.origin, "http://example.com"), "the origin is reported");
	tap_ok(span_is(req.user_agent, "test/1.0"), "the user agent is trimmed of OWS");
	tap_ok(span_is(req.forwarded_for, "192.0.2.1"), "X-Forwarded-For is reported");
	tap_eq_int(req.head_len, strlen(rfc_request), "head_len covers the blank line");
}

static void
test_minimal_request(void)
{
	static const char s[] = GET HOST UPG CONN KEY VER END "\x81\x05hello";
	struct ws_handshake req;

	tap_eq_int(parse_n(s, sizeof s - 1, &req), 0, "a minimal request parses");
	tap_eq_int(req.head_len, sizeof s - 1 - 7, "bytes after the head are not part of it");
	tap_ok(span_is(req.path, "/"), "the path is /");
	tap_eq_int(req.query.n, 0, "without '?' the query is absent");
	tap_eq_int(req.origin.n, 0, "a missing Origin is absent");
	tap_eq_int(req.forwarded_for.n, 0, "a missing X-Forwarded-For is absent");
	tap_eq_int(req.user_agent.n, 0, "a missing User-Agent is absent");

	tap_eq_int(parse_n("GET /?  HTTP/1.1", 0, &req), MORE,
		"no bytes at all is incomplete");
	tap_eq_int(parse("GET /ws? HTTP/1.1\r\n" HOST UPG CONN KEY VER END), 0,
		"an empty query parses");
}

static void
test_incremental(void)
{
	const size_t n = strlen(rfc_request);
	struct ws_handshake req;
	int all_again = 1;

	for (size_t i = 0; i < n; i++)
		if (parse_n(rfc_request, i, &req) != MORE)
			all_again = 0;
	tap_ok(all_again, "every proper prefix of the request is MORE");
	tap_eq_int(parse_n(rfc_request, n, &req), 0, "the whole request then parses");
	tap_eq_int(parse_n("GET / HTTP/1.1\r\nHost: x\n", 24, &req), 400,
		"a bare LF is rejected before the head is complete");
	tap_eq_int(parse_n("GET / HTTP/1.1\rHost", 19, &req), 400,
		"a bare CR is rejected before the head is complete");
	tap_eq_int(parse_n("GET / HTTP/1.1\r", 15, &req), MORE,
		"a CR at the end of the bytes may still be followed by LF");
}

struct bad_case {
	const char *request;
	int status;
	const char *name;
};

static const struct bad_case bad_cases[] = {
	{GET HOST UPG CONN VER END, 400, "a missing Sec-WebSocket-Key is 400"},
	{GET HOST UPG CONN "Sec-WebSocket-Key: not base64 at all!!!!!==\r\n" VER END, 400,
		"a key that is not base64 is 400"},
	{GET HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" VER END, 400,
		"a key of 15 decoded bytes is 400"},
	{GET HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=\r\n" VER END, 400,
		"a key of 17 decoded bytes is 400"},
	{GET HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZ==\r\n" VER END, 400,
		"a key with embedded whitespace is 400"},
	{GET HOST UPG CONN "Sec-WebSocket-Key:\r\n" VER END, 400, "an empty key is 400"},
	{GET HOST UPG CONN KEY KEY VER END, 400, "a repeated Sec-WebSocket-Key is 400"},
	{GET HOST CONN KEY VER END, 400, "a missing Upgrade is 400"},
	{GET HOST "Upgrade: h2c\r\n" CONN KEY VER END, 400, "an Upgrade without websocket is 400"},
	{GET HOST "Upgrade: websocket/13\r\n" CONN KEY VER END, 400,
		"Upgrade must name websocket exactly"},
	{GET HOST UPG KEY VER END, 400, "a missing Connection is 400"},
	{GET HOST UPG "Connection: keep-alive\r\n" KEY VER END, 400,
		"a Connection without the upgrade token is 400"},
	{GET HOST UPG "Connection: Upgraded\r\n" KEY VER END, 400,
		"Connection must carry upgrade as a whole token"},
	{GET UPG CONN KEY VER END, 400, "a missing Host is 400"},
	{GET HOST HOST UPG CONN KEY VER END, 400, "a repeated Host is 400"},
	{GET HOST UPG CONN KEY VER "Origin: a\r\nOrigin: b\r\n" END, 400,
		"a repeated Origin is 400"},
	{"GET / HTTP/1.0\r\n" HOST UPG CONN KEY VER END, 400, "HTTP/1.0 is 400"},
	{"GET / HTTP/2.0\r\n" HOST UPG CONN KEY VER END, 505, "HTTP/2.0 is 505 (as on every port)"},
	{"GET /\r\n" HOST UPG CONN KEY VER END, 400, "a request line without version is 400"},
	{"GET  / HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
		"two spaces in the request line are 400"},
	{"GET http://example.com/ HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
		"an absolute-form target is 400"},
	{"GET /a#frag HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400, "a fragment is 400"},
	{"\r\n" GET HOST UPG CONN KEY VER END, 400, "an empty line before the request is 400"},
	{GET HOST "Upgrade websocket\r\n" CONN KEY VER END, 400, "a header without colon is 400"},
	{GET HOST "Upgrade : websocket\r\n" CONN KEY VER END, 400,
		"whitespace before the colon is 400"},
	{GET HOST UPG CONN " folded\r\n" KEY VER END, 400, "an obs-fold line is 400"},
	{GET " Host: x\r\n" UPG CONN KEY VER END, 400, "whitespace before the first header is 400"},
	{GET HOST "X-Bad: a\x01z\r\n" UPG CONN KEY VER END, 400,
		"a control character in a value is 400"},
	{GET HOST "X-Bad: a\x7fz\r\n" UPG CONN KEY VER END, 400, "DEL in a value is 400"},
	{GET HOST ": empty name\r\n" UPG CONN KEY VER END, 400, "an empty header name is 400"},
	{"POST / HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 405, "POST is 405"},
	{"get / HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 405, "methods are case-sensitive"},
	{GET HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" END, 426, "version 8 is 426"},
	{GET HOST UPG CONN KEY END, 426, "a missing version is 426"},
	{GET HOST UPG CONN KEY "Sec-WebSocket-Version: 13, 8\r\n" END, 426,
		"a version list is 426"},
	{GET HOST UPG CONN VER VER KEY END, 400, "a repeated version is 400"},
	{GET HOST UPG CONN "Sec-WebSocket-Key: bad\r\n" "Sec-WebSocket-Version: 8\r\n" END, 426,
		"an unsupported version wins over a bad key"},
};

static void
test_bad_requests(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const char *s = bad_cases[i].request;
		struct ws_handshake req;
		int rc = parse_n(s, strlen(s), &req);
		tap_eq_int(rc, bad_cases[i].status, bad_cases[i].name);
	}
}

static void
test_lenient_where_allowed(void)
{
	tap_eq_int(parse(GET HOST UPG "Connection: keep-alive, Upgrade\r\n" KEY VER END), 0,
		"Connection: keep-alive, Upgrade is accepted");
	tap_eq_int(parse(GET HOST UPG "Connection: keep-alive\r\nConnection: upgrade\r\n" KEY VER
			END),
		0, "the upgrade token may come in a second Connection header");
	tap_eq_int(parse(GET HOST "Upgrade: h2c,  WebSocket \r\n" CONN KEY VER END), 0,
		"websocket may be anywhere in the Upgrade list, in any case");
	tap_eq_int(parse(GET "hOST: x\r\nUPGRADE: WEBSOCKET\r\nconnection: UPGRADE\r\n"
			     "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			     "SEC-WEBSOCKET-VERSION: 13\r\n" END),
		0, "header names in odd case are accepted");
	tap_eq_int(parse(GET HOST UPG CONN "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\t \r\n" VER
			END),
		0, "the key may come without OWS or with trailing OWS");
	tap_eq_int(parse(GET HOST UPG CONN KEY VER "X-Utf8: caf\xc3\xa9\r\n" END), 0,
		"obs-text in a value is accepted");

	struct ws_handshake req;
	static const char two_xff[] = GET HOST UPG CONN KEY VER
		"X-Forwarded-For: 10.0.0.1\r\n"
		"X-Forwarded-For: 192.0.2.7\r\n" END;
	tap_eq_int(parse_n(two_xff, strlen(two_xff), &req), 0,
		"two X-Forwarded-For headers are accepted");
	tap_ok(span_is(req.forwarded_for, "192.0.2.7"), "the last X-Forwarded-For wins");
}

/* A request that asks for no upgrade is the caller's to answer (static
 * files); one that asks for an upgrade, however badly, is still refused. */
static void
test_plain_requests(void)
{
	struct ws_handshake req;
	static const char get[] = "GET /demo/token?uid=7 HTTP/1.1\r\n" HOST
		"Connection: keep-alive\r\nIf-None-Match: \"abc\"\r\nAccept: */*\r\n" END "extra";
	tap_eq_int(parse_n(get, sizeof get - 1, &req), PLAIN,
		"a GET without upgrade headers is plain");
	tap_ok(span_is(req.method, "GET") && span_is(req.path, "/demo/token") &&
			span_is(req.query, "uid=7"),
		"a plain request has its method, path and query");
	tap_ok(span_is(req.if_none_match, "\"abc\""), "a plain request has its If-None-Match");
	tap_eq_int(req.head_len, sizeof get - 1 - 5, "a plain request's head ends at the blank line");

	static const char head[] = "HEAD /gatecast.js HTTP/1.1\r\n" HOST END;
	tap_eq_int(parse_n(head, sizeof head - 1, &req), PLAIN,
		"a HEAD without upgrade headers is plain");
	tap_ok(span_is(req.method, "HEAD") && span_is(req.path, "/gatecast.js"),
		"a plain HEAD has its method and path");

	tap_eq_int(parse("GET /x HTTP/1.1\r\n" END), 400, "a plain request without Host is 400");
	tap_eq_int(parse("GET /x HTTP/1.0\r\n" HOST END), 400, "a plain HTTP/1.0 request is 400");
	tap_eq_int(parse("POST /x HTTP/1.1\r\n" HOST END), 405, "a plain POST is 405");
	tap_eq_int(parse("HEAD / HTTP/1.1\r\n" HOST UPG CONN KEY VER END), 405,
		"HEAD on an upgrade request is 405");
	tap_eq_int(parse(GET HOST "Upgrade: h2c\r\n" END), 400,
		"an Upgrade header alone asks for an upgrade: 400");
	tap_eq_int(parse(GET HOST CONN END), 400,
		"a Connection upgrade option alone asks for an upgrade: 400");
	tap_eq_int(parse(GET HOST KEY END), 400, "a Sec-WebSocket-Key alone is a bad upgrade: 400");
	tap_eq_int(parse(GET HOST VER END), 400,
		"a Sec-WebSocket-Version alone is a bad upgrade: 400");
	tap_eq_int(parse(GET HOST "X-Bad: a\x01z\r\n" END), 400,
		"a plain request with a control character in a value is 400");
	tap_eq_int(parse(GET HOST "Origin: a\r\nOrigin: b\r\n" END), 400,
		"a plain request with two Origins is 400");
}

static void
test_accept(void)
{
	char out[WS_HANDSHAKE_ACCEPT_LEN + 1];
	static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";

	/* RFC 6455 §1.3 */
	ws_handshake_accept(key, strlen(key), out);
	tap_eq_str(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "the accept key matches RFC 6455 §1.3");
}

static void
test_responses(void)
{
	struct ws_handshake req;
	struct buf b = BUF_INIT;

	parse_n(rfc_request, strlen(rfc_request), &req);
	ws_handshake_reply_101(&req, &b);
	tap_eq_str(b.p,
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"\r\n",
		"the 101 response is exact");

	buf_reset(&b);
	ws_handshake_refuse(400, &b);
	tap_eq_str(b.p,
		"HTTP/1.1 400 Bad Request\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: 12\r\n"
		"Connection: close\r\n"
		"\r\n"
		"Bad Request\n",
		"the 400 response is exact");

	buf_reset(&b);
	ws_handshake_refuse(426, &b);
	tap_ok(has_prefix(b.p, "HTTP/1.1 426 Upgrade Required\r\n"),
		"426 has its reason phrase");
	tap_ok(strstr(b.p, "\r\nSec-WebSocket-Version: 13\r\n") != NULL,
		"426 names the supported version");
	tap_ok(strstr(b.p, "\r\nUpgrade: websocket\r\n") != NULL, "426 names the protocol");

	buf_reset(&b);
	ws_handshake_refuse(405, &b);
	tap_ok(has_prefix(b.p, "HTTP/1.1 405 Method Not Allowed\r\n"),
		"405 has its reason phrase");
	tap_ok(strstr(b.p, "\r\nAllow: GET\r\n") != NULL, "405 lists the allowed method");

	static const struct {
		int status;
		const char *line;
		const char *name;
	} lines[] = {
		{401, "HTTP/1.1 401 Unauthorized\r\n", "401 has its reason phrase"},
		{403, "HTTP/1.1 403 Forbidden\r\n", "403 has its reason phrase"},
		{431, "HTTP/1.1 431 Request Header Fields Too Large\r\n",
			"431 has its reason phrase"},
		{503, "HTTP/1.1 503 Service Unavailable\r\n", "503 has its reason phrase"},
		{999, "HTTP/1.1 500 Internal Server Error\r\n", "an unknown status becomes 500"},
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		buf_reset(&b);
		ws_handshake_refuse(lines[i].status, &b);
		tap_ok(has_prefix(b.p, lines[i].line), lines[i].name);
		/* the body is what follows the blank line; Content-Length must match */
		const char *body = strstr(b.p, "\r\n\r\n");
		const char *cl = strstr(b.p, "Content-Length: ");
		tap_ok(body != NULL && cl != NULL &&
				strtoul(cl + 16, NULL, 10) == strlen(body + 4) &&
				strstr(b.p, "\r\nConnection: close") != NULL,
			"the error response has a matching Content-Length and closes");
	}
	buf_fini(&b);
}

int
main(void)
{
	test_rfc_request();
	test_minimal_request();
	test_incremental();
	test_bad_requests();
	test_lenient_where_allowed();
	test_plain_requests();
	test_accept();
	test_responses();
	return tap_done();
}
