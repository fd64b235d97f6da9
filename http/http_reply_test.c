/*
 * http_reply_test — the one response writer (its header order, what a HEAD,
 * a 1xx and a 304 leave out, an unknown status) and the one reason table.
 */
#include "http/http_reply.h"

#include <string.h>

#include "tests/tap.h"

static void
test_reasons(void)
{
	static const struct {
		int status;
		const char *reason;
	} table[] = {
		{100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"},
		{301, "Moved Permanently"}, {304, "Not Modified"}, {400, "Bad Request"},
		{401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
		{405, "Method Not Allowed"}, {408, "Request Timeout"}, {409, "Conflict"},
		{411, "Length Required"}, {413, "Content Too Large"},
		{415, "Unsupported Media Type"}, {426, "Upgrade Required"},
		{429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
		{500, "Internal Server Error"}, {503, "Service Unavailable"},
		{504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
	};
	bool all = true;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		const char *r = http_reply_reason(table[i].status);
		if (r == NULL || strcmp(r, table[i].reason) != 0)
			all = false;
	}
	tap_ok(all, "every status gatecast sends has its RFC 9110 reason phrase");
	tap_ok(http_reply_reason(299) == NULL && http_reply_reason(0) == NULL,
		"a status outside the table has none");
}

static void
test_write(void)
{
	struct buf b = BUF_INIT;
	http_reply_write(&b, 404, &(struct http_reply){.content_type = "text/plain",
		.connection = "close", .extra = "Allow: GET\r\n"}, "no", 2);
	tap_eq_str(b.p, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
			"Connection: close\r\nAllow: GET\r\n\r\nno",
		"a response has its status line, headers and body");

	buf_reset(&b);
	http_reply_write(&b, 200, &(struct http_reply){.content_type = "a/b",
		.cache_control = "no-store", .nosniff = true, .connection = "close",
		.extra = "ETag: \"x\"\r\n"}, "body", 4);
	tap_eq_str(b.p, "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 4\r\n"
			"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			"Connection: close\r\nETag: \"x\"\r\n\r\nbody",
		"every optional header comes in one fixed order");

	buf_reset(&b);
	http_reply_write(&b, 200, NULL, "{}", 2);
	tap_eq_str(b.p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"no options: only the length (a kept-alive connection)");

	buf_reset(&b);
	http_reply_write(&b, 200, &(struct http_reply){.head = true}, "body", 4);
	tap_eq_str(b.p, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
		"a reply to HEAD has the length of the body it leaves out");

	buf_reset(&b);
	http_reply_write(&b, 304, &(struct http_reply){.extra = "ETag: \"x\"\r\n"}, "body", 4);
	tap_eq_str(b.p, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
		"a 304 has neither length nor body");

	buf_reset(&b);
	http_reply_write(&b, 100, NULL, NULL, 0);
	tap_eq_str(b.p, "HTTP/1.1 100 Continue\r\n\r\n", "100 Continue is a bare status line");

	buf_reset(&b);
	http_reply_write(&b, 299, &(struct http_reply){.content_type = "text/plain"}, "x", 1);
	tap_eq_str(b.p, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
			"Content-Length: 1\r\n\r\nx",
		"a status without a reason phrase goes out as 500");

	buf_reset(&b);
	http_reply_error_body(&b, "not_found", "no such route");
	tap_eq_str(b.p, "{\"ok\":false,\"error\":\"not_found\",\"message\":\"no such route\"}",
		"the JSON error body has ok, error and message");
	buf_fini(&b);
}

int
main(void)
{
	test_reasons();
	test_write();
	return tap_done();
}
