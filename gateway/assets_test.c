/*
 * assets_test — the compiled-in files and the responses to plain requests:
 * which paths exist with the demo on and off, the heads (type, length,
 * ETag, cache, Connection: close), HEAD, If-None-Match and the redirects.
 * Requests go through http1_parse and ws_handshake_check, as in the gateway.
 */
#include "gateway/assets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/tap.h"

static struct buf req_text = BUF_INIT;

/* Parses "METHOD target" plus extra header lines; aborts unless plain. */
static struct ws_handshake
request(const char *method, const char *target, const char *headers)
{
	struct http1_req hr;
	struct ws_handshake req;
	buf_reset(&req_text);
	buf_printf(&req_text, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, target, headers);
	if (http1_parse(req_text.p, req_text.len, &hr) <= 0 || ws_handshake_check(&hr, &req) != 0 ||
		!req.plain)
		abort();
	return req;
}

static int
respond(const char *method, const char *target, const char *headers, bool demo, struct buf *out)
{
	struct ws_handshake req = request(method, target, headers);
	buf_reset(out);
	return assets_respond(&req, demo, out);
}

static const char *
body_of(const struct buf *out)
{
	const char *p = strstr(out->p, "\r\n\r\n");
	return p != NULL ? p + 4 : "";
}

static void
test_table(void)
{
	const struct asset *lib = assets_find("/gatecast.js", 12, false);
	tap_ok(lib != NULL, "/gatecast.js is compiled in");
	tap_eq_str(lib->content_type, "application/javascript; charset=utf-8",
		"the library is served as JavaScript");
	tap_ok(!lib->demo, "the library is not a demo file");
	tap_ok(assets_find("/demo/index.html", 16, false) == NULL, "demo files hide when the demo is off");
	const struct asset *index = assets_find("/demo/index.html", 16, true);
	tap_ok(index != NULL && index->demo, "the demo page is there when the demo is on");
	tap_ok(assets_find("/demo/", 6, true) == index, "/demo/ is the demo's index.html");
	const struct asset *app = assets_find("/demo/app.js", 12, true);
	const struct asset *css = assets_find("/demo/style.css", 15, true);
	tap_ok(app != NULL && css != NULL, "app.js and style.css are compiled in");
	tap_eq_str(index->content_type, "text/html; charset=utf-8", "html has its type");
	tap_eq_str(css->content_type, "text/css; charset=utf-8", "css has its type");
	tap_ok(assets_find("/demo/../gatecast.js", 20, true) == NULL, "paths are exact: no dot segments");
	tap_ok(assets_find("/gatecast.js/", 13, true) == NULL, "paths are exact: no trailing slash");
	bool etags = true;
	for (size_t i = 0; i < assets_count; i++) {
		const char *e = assets_table[i].etag;
		etags = etags && e[0] == '"' && e[strlen(e) - 1] == '"' && strlen(e) > 8;
		for (size_t j = 0; j < i; j++)
			etags = etags && strcmp(assets_table[j].path, assets_table[i].path) != 0;
	}
	tap_ok(etags, "every file has a quoted ETag and its own path");
}

static void
test_responses(void)
{
	struct buf out = BUF_INIT;
	const struct asset *lib = assets_find("/gatecast.js", 12, false);
	char want[256];

	tap_eq_int(respond("GET", "/gatecast.js?v=3", "", false, &out), 200,
		"GET /gatecast.js is 200, whatever the query");
	snprintf(want, sizeof want,
		"HTTP/1.1 200 OK\r\nContent-Type: application/javascript; charset=utf-8\r\n"
		"Content-Length: %zu\r\nCache-Control: public, max-age=60\r\n"
		"X-Content-Type-Options: nosniff\r\nConnection: close\r\nETag: %s\r\n\r\n",
		lib->len, lib->etag);
	tap_ok(strncmp(out.p, want, strlen(want)) == 0, "the head names type, length, cache and ETag");
	tap_eq_int(out.len, strlen(want) + lib->len, "the body follows the head");
	tap_eq_mem(body_of(&out), lib->len, lib->data, lib->len, "the body is the library");

	tap_eq_int(respond("HEAD", "/gatecast.js", "", false, &out), 200, "HEAD /gatecast.js is 200");
	tap_ok(strncmp(out.p, want, strlen(want)) == 0 && out.len == strlen(want),
		"HEAD gets the same head and no body");

	snprintf(want, sizeof want, "If-None-Match: %s\r\n", lib->etag);
	tap_eq_int(respond("GET", "/gatecast.js", want, false, &out), 304,
		"If-None-Match with the ETag is 304");
	tap_ok(strstr(out.p, "Content-Length") == NULL && strcmp(body_of(&out), "") == 0 &&
			strstr(out.p, lib->etag) != NULL,
		"a 304 has the ETag, no length and no body");
	snprintf(want, sizeof want, "If-None-Match: \"other\", W/%s\r\n", lib->etag);
	tap_eq_int(respond("GET", "/gatecast.js", want, false, &out), 304,
		"a weak tag in a list matches too");
	tap_eq_int(respond("GET", "/gatecast.js", "If-None-Match: \"other\"\r\n", false, &out), 200,
		"another ETag is 200");

	tap_eq_int(respond("GET", "/demo/", "", false, &out), 404, "/demo/ is 404 with the demo off");
	tap_ok(strncmp(out.p, "HTTP/1.1 404 Not Found\r\n", 24) == 0 &&
			strstr(out.p, "Connection: close\r\n") != NULL &&
			strcmp(body_of(&out), "Not Found\n") == 0,
		"a 404 is well-formed and closes");
	tap_eq_int(respond("GET", "/demo", "", false, &out), 404, "/demo is 404 with the demo off");
	tap_eq_int(respond("GET", "/", "", false, &out), 404, "/ is 404 with the demo off");
	tap_eq_int(respond("GET", "/nope", "", true, &out), 404, "an unknown path is 404");

	tap_eq_int(respond("GET", "/demo/", "", true, &out), 200, "/demo/ is 200 with the demo on");
	tap_ok(strstr(out.p, "Content-Type: text/html; charset=utf-8\r\n") != NULL &&
			strstr(out.p, "Cache-Control: no-cache\r\n") != NULL,
		"the demo page is html and revalidated every time");
	tap_eq_int(respond("GET", "/demo", "", true, &out), 301, "/demo redirects");
	tap_ok(strstr(out.p, "\r\nLocation: /demo/\r\n") != NULL, "to /demo/");
	tap_eq_int(respond("GET", "/", "", true, &out), 301, "/ redirects to the demo when it is on");
	buf_fini(&out);
}

static void
test_reply(void)
{
	struct buf out = BUF_INIT;
	assets_reply(&out, 299, "text/plain", NULL, NULL, "x", 1, true);
	tap_ok(strncmp(out.p, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0,
		"a status without a reason phrase goes out as 500");
	buf_fini(&out);
}

int
main(void)
{
	test_table();
	test_responses();
	test_reply();
	buf_fini(&req_text);
	return tap_done();
}
