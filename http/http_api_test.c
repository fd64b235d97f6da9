/*
 * http_api_test — the HTTP port's request head parser, batch splitting,
 * reply status mapping (responses: http_reply_test).
 */
#include <errno.h>
#include <string.h>

#include "http/http_api.h"
#include "tests/tap.h"

static int
parse(const char *s, struct http_api_req *r)
{
	return http_api_parse_head(s, strlen(s), r);
}

static int
status_of(const char *s)
{
	struct http_api_req r;
	int rc = parse(s, &r);
	return rc == -EBADMSG ? r.error_status : rc > 0 ? 200 : rc;
}

static int
reply_status(const char *json)
{
	return http_api_reply_status(json, strlen(json));
}

int
main(void)
{
	struct http_api_req r;
	const char *req = "POST /api/send_to_uid?x=1 HTTP/1.1\r\nHost: a\r\ncontent-length: 12\r\n"
			  "Authorization:  Bearer s3cret \r\n\r\n{\"uid\":\"42\"}";
	int n = parse(req, &r);
	tap_eq_int(n, (int)(strstr(req, "\r\n\r\n") - req) + 4, "a complete head returns its length");
	tap_ok(r.method == HTTP_API_POST, "the method is POST");
	tap_eq_mem(r.path, r.path_len, "/api/send_to_uid", 16, "the path stops at '?'");
	tap_eq_mem(r.query, r.query_len, "x=1", 3, "the query follows '?'");
	tap_eq_int(r.content_length, 12, "content-length is case-insensitive");
	tap_eq_mem(r.authorization, r.authorization_len, "Bearer s3cret", 13,
		"header values are trimmed");
	tap_ok(r.keep_alive, "HTTP/1.1 keeps the connection by default");

	tap_eq_int(parse("GET /healthz HTTP/1.1\r\nHost: a\r\n", &r), 0,
		"a head without its blank line needs more bytes");
	tap_eq_int(parse("GET /healthz HTTP/1.1\n\n", &r), 23, "bare LF line ends are accepted");
	tap_ok(r.method == HTTP_API_GET && r.query_len == 0, "no query is an empty query");
	parse("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &r);
	tap_ok(!r.keep_alive, "Connection: close ends keep-alive");
	parse("GET / HTTP/1.0\r\n\r\n", &r);
	tap_ok(!r.keep_alive, "HTTP/1.0 closes by default");
	parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
	tap_ok(r.keep_alive, "HTTP/1.0 keeps alive when asked");
	parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &r);
	tap_ok(r.expect_continue, "Expect: 100-continue is noticed");
	parse("DELETE / HTTP/1.1\r\n\r\n", &r);
	tap_ok(r.method == HTTP_API_OTHER, "other methods parse as OTHER");

	tap_eq_int(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411,
		"chunked bodies get 411");
	tap_eq_int(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
		400, "conflicting Content-Length is 400");
	tap_eq_int(status_of("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"),
		200, "a repeated equal Content-Length is fine");
	tap_eq_int(status_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400,
		"a negative Content-Length is 400");
	tap_eq_int(status_of("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n"), 413,
		"an absurd Content-Length is 413");
	tap_eq_int(status_of("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), 400, "folded lines are 400");
	tap_eq_int(status_of("GET / HTTP/1.1\r\nX : a\r\n\r\n"), 400, "a blank before ':' is 400");
	tap_eq_int(status_of("GET / HTTP/2.0\r\n\r\n"), 505, "other versions are 505");
	tap_eq_int(status_of("GET x HTTP/1.1\r\n\r\n"), 400, "a target must start with '/'");
	tap_eq_int(status_of("\x01\x02 / HTTP/1.1\r\n\r\n"), 400, "a bad method is 400");
	tap_eq_int(status_of("GET /\r\n\r\n"), 400, "a request line needs a version");

	char big[HTTP_API_MAX_HEAD + 64];
	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	tap_eq_int(http_api_parse_head(big, sizeof big, &r), -EBADMSG, "an endless head fails");
	tap_eq_int(r.error_status, 431, "with 431");
	tap_eq_int(http_api_parse_head(big, HTTP_API_MAX_HEAD - 1, &r), 0,
		"a shorter one may still end");

	size_t off[4], len[4];
	const char *arr = " [ {\"a\":\"],\\\"\"} , 1,[2,3] ,\"x\" ] ";
	tap_eq_int(http_api_split_array(arr, strlen(arr), off, len, 4), 4,
		"an array splits into its elements");
	tap_eq_mem(arr + off[0], len[0], "{\"a\":\"],\\\"\"}", 12, "strings hide brackets and commas");
	tap_eq_mem(arr + off[2], len[2], "[2,3]", 5, "nested arrays stay whole");
	tap_eq_mem(arr + off[3], len[3], "\"x\"", 3, "the last element is trimmed");
	tap_eq_int(http_api_split_array("[]", 2, off, len, 4), 0, "an empty array has no elements");
	tap_eq_int(http_api_split_array("{}", 2, off, len, 4), -EINVAL, "an object is not an array");
	tap_eq_int(http_api_split_array("[1,2,3,4,5,6]", 13, off, len, 4), 6,
		"the count goes past max");

	tap_eq_int(reply_status("{\"ok\":true,\"delivered\":0}"), 200, "ok is 200");
	tap_eq_int(reply_status("{\"ok\":false,\"error\":\"timeout\"}"), 504,
		"timeout is 504");
	tap_eq_int(reply_status("{\"ok\":false,\"error\":\"too_many_groups\"}"), 409,
		"too_many_groups is 409");
	tap_eq_int(reply_status("{\"ok\":false,\"error\":\"no_worker\"}"), 503,
		"no_worker is 503");
	tap_eq_int(reply_status("junk"), 500, "a reply that is not JSON is 500");

	return tap_done();
}
