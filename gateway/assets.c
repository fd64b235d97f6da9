/*
 * assets — see assets.h. HTTP/1.1 semantics from RFC 7231 (status codes,
 * HEAD §4.3.2), RFC 7232 (ETag, If-None-Match §3.2: weak comparison, so
 * W/"x" matches "x") and RFC 7234 (Cache-Control).
 */
#include "gateway/assets.h"

#include "http/http_reply.h"

#include <string.h>

#define ASSETS_LIB_CACHE "public, max-age=60"
#define ASSETS_DEMO_CACHE "no-cache"

static bool
assets_span_is(struct http_span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

const struct asset *
assets_find(const char *path, size_t len, bool demo)
{
	static const char index[] = "/demo/index.html";
	if (len == 6 && memcmp(path, "/demo/", 6) == 0) {
		path = index;
		len = sizeof index - 1;
	}
	for (size_t i = 0; i < assets_count; i++) {
		const struct asset *a = &assets_table[i];
		if ((demo || !a->demo) && strlen(a->path) == len && memcmp(a->path, path, len) == 0)
			return a;
	}
	return NULL;
}

void
assets_reply(struct buf *out, int status, const char *content_type, const char *cache_control,
	const char *extra, const void *body, size_t len, bool with_body)
{
	struct http_reply h = {
		.content_type = content_type,
		.cache_control = cache_control,
		.nosniff = true,
		.connection = "close",
		.extra = extra,
		.head = !with_body,
	};
	http_reply_write(out, status, &h, body, len);
}

/* If-None-Match (RFC 7232 §3.2): "*", or a list of entity tags compared
 * weakly — the quoted tag anywhere in the list is a match. */
static bool
assets_not_modified(const struct ws_handshake *req, const struct asset *a)
{
	struct http_span v = req->if_none_match;
	size_t n = strlen(a->etag);
	if (v.n == 0)
		return false;
	if (assets_span_is(v, "*"))
		return true;
	for (size_t i = 0; i + n <= v.n; i++)
		if (memcmp(v.p + i, a->etag, n) == 0)
			return true;
	return false;
}

int
assets_respond(const struct ws_handshake *req, bool demo, struct buf *out)
{
	static const char missing[] = "Not Found\n";
	bool body = !assets_span_is(req->method, "HEAD");
	if (demo && (assets_span_is(req->path, "/demo") || assets_span_is(req->path, "/"))) {
		assets_reply(out, 301, "text/plain; charset=utf-8", NULL, "Location: /demo/\r\n",
			"/demo/\n", 7, body);
		return 301;
	}
	const struct asset *a = assets_find(req->path.p, req->path.n, demo);
	if (a == NULL) {
		assets_reply(out, 404, "text/plain; charset=utf-8", NULL, NULL, missing,
			sizeof missing - 1, body);
		return 404;
	}
	struct buf extra = BUF_INIT;
	buf_printf(&extra, "ETag: %s\r\n", a->etag);
	int status = assets_not_modified(req, a) ? 304 : 200;
	assets_reply(out, status, status == 200 ? a->content_type : NULL,
		a->demo ? ASSETS_DEMO_CACHE : ASSETS_LIB_CACHE, extra.p, a->data, a->len, body);
	buf_fini(&extra);
	return status;
}
