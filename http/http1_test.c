/*
 * http1_test — the one request-head parser: the request line, fields as
 * spans, Content-Length and the other framing rules, keep-alive, Expect,
 * the single line-ending policy (CRLF only, on every port) and the head
 * size limit. The cases come from the two parsers it replaced (the HTTP
 * API's and the upgrade's), with the LF ones turned into refusals.
 *
 * Every parse runs on a heap copy of exactly the bytes offered, so ASan
 * catches a read past n.
 */
#include "http/http1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "tests/tap.h"

static char *copy;

/* Parses the n bytes at s from a fresh exact-size copy; the copy stays
 * alive (spans point into it) until the next call. */
static int
parse_n(const char *s, size_t n, struct http1_req *r)
{
	free(copy);
	copy = xmemdup(s, n ? n : 1);
	return http1_parse(copy, n, r);
}

static int
parse(const char *s, struct http1_req *r)
{
	return parse_n(s, strlen(s), r);
}

/* The verdict on s as a status: 200 for a whole head, 0 for "more". */
static int
status_of(const char *s)
{
	struct http1_req r;
	int rc = parse(s, &r);
	return rc == -EBADMSG ? r.status : rc > 0 ? 200 : rc;
}

static bool
span_is(struct http_span sp, const char *want)
{
	return sp.n == strlen(want) && memcmp(sp.p, want, sp.n) == 0;
}

static void
test_a_whole_head(void)
{
	struct http1_req r;
	const char *req = "POST /api/send_to_uid?x=1 HTTP/1.1\r\nHost: a\r\ncontent-length: 12\r\n"
			  "Authorization:  Bearer s3cret \r\n\r\n{\"uid\":\"42\"}";
	int n = parse(req, &r);
	tap_eq_int(n, (int)(strstr(req, "\r\n\r\n") - req) + 4, "a complete head returns its length");
	tap_ok(r.method == HTTP1_POST && span_is(r.method_name, "POST"), "the method is POST");
	tap_ok(span_is(r.target, "/api/send_to_uid?x=1"), "the target is the whole of it");
	tap_ok(span_is(r.path, "/api/send_to_uid"), "the path stops at '?'");
	tap_ok(span_is(r.query, "x=1"), "the query follows '?'");
	tap_eq_int(r.minor, 1, "the version is 1.1");
	tap_ok(r.has_content_length && r.content_length == 12, "content-length is case-insensitive");
	tap_ok(span_is(r.authorization, "Bearer s3cret"), "header values are trimmed");
	tap_ok(r.keep_alive, "HTTP/1.1 keeps the connection by default");
	tap_ok(r.head.p == copy && r.head.n == (size_t)n, "the head span covers the head");

	tap_eq_int(parse("GET /healthz HTTP/1.1\r\nHost: a\r\n", &r), 0,
		"a head without its blank line needs more bytes");
	tap_eq_int(parse_n("", 0, &r), 0, "no bytes at all need more");
	tap_eq_int(parse("GET /healthz HTTP/1.1\r\n\r\n", &r), 25, "a head without fields parses");
	tap_ok(r.method == HTTP1_GET && r.query.n == 0 && !r.has_content_length,
		"no query is an empty query, no Content-Length a zero one");
	tap_eq_int(parse("GET /x? HTTP/1.1\r\n\r\n", &r), 20, "an empty query parses");
	tap_ok(span_is(r.path, "/x") && r.query.n == 0, "and is empty");
	tap_eq_int(parse("HEAD / HTTP/1.1\r\n\r\n", &r), 19, "HEAD parses");
	tap_ok(r.method == HTTP1_HEAD, "as HEAD");
	parse("DELETE / HTTP/1.1\r\n\r\n", &r);
	tap_ok(r.method == HTTP1_OTHER && span_is(r.method_name, "DELETE"),
		"other methods parse as OTHER, with their name");
	parse("get / HTTP/1.1\r\n\r\n", &r);
	tap_ok(r.method == HTTP1_OTHER, "methods are case-sensitive");
	tap_eq_int(parse("GET / HTTP/1.1\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", &r) > 0, 1,
		"obs-text in a value is accepted");
}

static void
test_connection_and_expect(void)
{
	struct http1_req r;
	parse("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &r);
	tap_ok(!r.keep_alive, "Connection: close ends keep-alive");
	parse("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", &r);
	tap_ok(!r.keep_alive, "close counts in a second Connection header");
	parse("GET / HTTP/1.0\r\n\r\n", &r);
	tap_ok(!r.keep_alive && r.minor == 0, "HTTP/1.0 closes by default");
	parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
	tap_ok(r.keep_alive, "HTTP/1.0 keeps alive when asked");
	parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &r);
	tap_ok(r.expect_continue, "Expect: 100-continue is noticed");
	parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &r);
	tap_ok(r.expect_continue, "in any case");
	parse("POST / HTTP/1.1\r\nExpect: something-else\r\n\r\n", &r);
	tap_ok(!r.expect_continue, "another expectation is not 100-continue");
}

static void
test_line_endings(void)
{
	struct http1_req r;
	/* one policy: what the upgrade parser did, now on every port */
	tap_eq_int(status_of("GET /healthz HTTP/1.1\n\n"), 400, "bare LF line ends are refused");
	tap_eq_int(status_of("POST /api/x HTTP/1.1\nContent-Length: 2\n\n{}"), 400,
		"bare LF is refused for a POST too");
	tap_eq_int(status_of("GET / HTTP/1.1\r\nHost: x\n"), 400,
		"a bare LF is refused before the head is complete");
	tap_eq_int(status_of("GET / HTTP/1.1\r\nHost: x\r\n\n"), 400,
		"a bare LF as the blank line is refused");
	tap_eq_int(status_of("\nGET / HTTP/1.1\r\n\r\n"), 400, "a LF as the first byte is refused");
	tap_eq_int(status_of("GET / HTTP/1.1\rHost"), 400,
		"a bare CR is refused before the head is complete");
	tap_eq_int(status_of("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400, "a CR inside a value is refused");
	tap_eq_int(status_of("GET / HTTP/1.1\r"), 0,
		"a CR at the end of the bytes may still be followed by LF");
	tap_eq_int(parse("GET / HTTP/1.1\r\nHost: x\n", &r), -EBADMSG, "the refusal is -EBADMSG");
	tap_eq_int(r.method, HTTP1_OTHER, "before the request line was judged");

	static const char full[] = "GET /chat?uid=42 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";
	bool all_more = true;
	for (size_t i = 0; i < sizeof full - 1; i++)
		if (parse_n(full, i, &r) != 0)
			all_more = false;
	tap_ok(all_more, "every proper prefix of a head needs more bytes");
	tap_eq_int(parse_n(full, sizeof full - 1, &r), (int)sizeof full - 1, "the whole head parses");
}

struct bad_case {
	const char *request;
	int status;
	const char *name;
};

static const struct bad_case bad_cases[] = {
	{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "chunked bodies get 411"},
	{"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 411,
		"any Transfer-Encoding gets 411, on a GET too"},
	{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
		"conflicting Content-Length is 400"},
	{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "a negative Content-Length is 400"},
	{"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "a Content-Length with a blank is 400"},
	{"POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n", 400, "a Content-Length list is 400"},
	{"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "an empty Content-Length is 400"},
	{"POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", 413,
		"an absurd Content-Length is 413"},
	{"GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400,
		"a repeated Authorization is 400"},
	{"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "folded lines are 400"},
	{"GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, "whitespace before the first field is 400"},
	{"GET / HTTP/1.1\r\nX : a\r\n\r\n", 400, "a blank before ':' is 400"},
	{"GET / HTTP/1.1\r\nX a\r\n\r\n", 400, "a field without a colon is 400"},
	{"GET / HTTP/1.1\r\n: a\r\n\r\n", 400, "an empty field name is 400"},
	{"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400, "a control character in a value is 400"},
	{"GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n", 400, "DEL in a value is 400"},
	{"GET / HTTP/2.0\r\n\r\n", 505, "other HTTP versions are 505"},
	{"GET / HTTP/1.1x\r\n\r\n", 505, "a version with junk after it is 505"},
	{"GET / FTP/1.1\r\n\r\n", 400, "a version that is not HTTP is 400"},
	{"GET x HTTP/1.1\r\n\r\n", 400, "a target must start with '/'"},
	{"GET http://example.com/ HTTP/1.1\r\n\r\n", 400, "an absolute-form target is 400"},
	{"\x01\x02 / HTTP/1.1\r\n\r\n", 400, "a bad method is 400"},
	{"GET /\r\n\r\n", 400, "a request line needs a version"},
	{"GET  / HTTP/1.1\r\n\r\n", 400, "two spaces in the request line are 400"},
	{"GET / a HTTP/1.1\r\n\r\n", 400, "a space inside the target is 400"},
	{"\r\nGET / HTTP/1.1\r\n\r\n", 400, "an empty line before the request is 400"},
};

static void
test_refusals(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
		tap_eq_int(status_of(bad_cases[i].request), bad_cases[i].status, bad_cases[i].name);
	tap_eq_int(status_of("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"),
		200, "a repeated equal Content-Length is fine");
	tap_eq_int(status_of("POST / HTTP/1.1\r\nContent-Length: 000000000000000012\r\n\r\n"), 200,
		"18 digits are still a length");

	struct http1_req r;
	parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r);
	tap_ok(r.method == HTTP1_POST && span_is(r.target, "/x"),
		"a refused field leaves the request line known");
}

/* A head of exactly len bytes: a request line, one padding field, the
 * blank line. */
static char *
head_of(size_t len)
{
	static const char line[] = "GET / HTTP/1.1\r\nX: ";
	char *p = xmalloc(len);
	memcpy(p, line, sizeof line - 1);
	memset(p + sizeof line - 1, 'a', len - (sizeof line - 1) - 4);
	memcpy(p + len - 4, "\r\n\r\n", 4);
	return p;
}

static void
test_head_limit(void)
{
	struct http1_req r;
	char *p = head_of(HTTP1_MAX_HEAD);
	tap_eq_int(parse_n(p, HTTP1_MAX_HEAD, &r), HTTP1_MAX_HEAD,
		"a head of exactly HTTP1_MAX_HEAD bytes parses");
	tap_eq_int(parse_n(p, HTTP1_MAX_HEAD - 1, &r), 0,
		"a head that may still end within the limit needs more");
	free(p);
	p = head_of(HTTP1_MAX_HEAD + 1);
	tap_eq_int(parse_n(p, HTTP1_MAX_HEAD + 1, &r), -EBADMSG,
		"a complete head one byte over the limit is refused");
	tap_eq_int(r.status, 431, "with 431");
	tap_eq_int(parse_n(p, HTTP1_MAX_HEAD, &r), -EBADMSG,
		"an incomplete head of HTTP1_MAX_HEAD bytes is refused");
	tap_eq_int(r.status, 431, "with 431 too");
	free(p);

	char *big = xmalloc(3 * HTTP1_MAX_HEAD);
	memset(big, 'a', 3 * HTTP1_MAX_HEAD);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	tap_eq_int(parse_n(big, 3 * HTTP1_MAX_HEAD, &r), -EBADMSG, "an endless head fails");
	tap_eq_int(r.status, 431, "with 431 as well");
	free(big);
}

static void
test_fields(void)
{
	struct http1_req r;
	parse("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n"
	      "x-forwarded-for:192.0.2.7 \t\r\nEmpty:\r\n\r\nbody", &r);
	int count = -1;
	struct http_span v = http1_header(&r, "X-Forwarded-For", &count);
	tap_ok(span_is(v, "192.0.2.7") && count == 2,
		"a repeated field gives its last value and how many there were");
	v = http1_header(&r, "Empty", &count);
	tap_ok(v.p != NULL && v.n == 0 && count == 1, "an empty value is there, and empty");
	v = http1_header(&r, "Origin", &count);
	tap_ok(v.p == NULL && v.n == 0 && count == 0, "an absent field is {NULL, 0}");
	tap_ok(span_is(http1_header(&r, "host", NULL), "a"), "names are case-insensitive");

	struct http_span k;
	size_t pos = 0;
	int n = 0;
	bool in_order = true;
	static const char *const names[] = {"Host", "X-Forwarded-For", "x-forwarded-for", "Empty"};
	while (http1_header_next(&r, &pos, &k, &v)) {
		if (n >= 4 || !span_is(k, names[n]))
			in_order = false;
		n++;
	}
	tap_ok(n == 4 && in_order, "the walk gives every field once, in order, and stops at the body");

	struct http1_req failed;
	parse("GET / HTTP/1.1\r\nX : a\r\n\r\n", &failed);
	pos = 0;
	tap_ok(!http1_header_next(&failed, &pos, &k, &v), "a refused head has no fields to walk");
}

static void
test_token_helpers(void)
{
	tap_ok(http1_ieq("Upgrade", 7, "upGRADE"), "ieq ignores ASCII case");
	tap_ok(!http1_ieq("Upgrade", 6, "Upgrade"), "ieq compares the whole length");
	tap_ok(!http1_ieq("Upgraded", 8, "Upgrade"), "ieq does not match a prefix");
	tap_ok(http1_list_has("keep-alive, Upgrade", 19, "upgrade"), "a list has a later token");
	tap_ok(http1_list_has(",, h2c ,\tWebSocket ", 19, "websocket"),
		"empty elements and OWS are skipped");
	tap_ok(!http1_list_has("Upgraded", 8, "upgrade"), "a list token matches whole");
	tap_ok(!http1_list_has("", 0, "upgrade"), "an empty list has nothing");
}

int
main(void)
{
	test_a_whole_head();
	test_connection_and_expect();
	test_line_endings();
	test_refusals();
	test_head_limit();
	test_fields();
	test_token_helpers();
	free(copy);
	return tap_done();
}
