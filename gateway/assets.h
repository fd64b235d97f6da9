/*
 * assets — what the gateway serves over plain HTTP on its WebSocket port:
 * the browser library at /gatecast.js (always) and the demo page under
 * /demo/ (only with demo.enabled = on). The files are compiled in
 * (assets_gen.py writes the table at build time from clients/js/gatecast.js
 * and demo/), so a deployed gateway needs no file paths.
 *
 * Pure: a parsed request in, a complete response out; no sockets, no
 * logging. Deliberately not here: /demo/token (it needs the secret and the
 * clock: gateway.c), keep-alive (every answer ends its connection: a page
 * loads four small files once, and one request per connection keeps the
 * WebSocket port's bounds simple), ranges and compression.
 */
#ifndef GATECAST_GATEWAY_ASSETS_H
#define GATECAST_GATEWAY_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "ws/ws_handshake.h"

struct asset {
	const char *path;         /* "/gatecast.js", "/demo/app.js" */
	const char *content_type; /* from the extension */
	const char *etag;         /* quoted: "\"3f2a…\"" */
	const unsigned char *data;
	size_t len;
	bool demo;                /* served only with demo.enabled = on */
};

/* The generated table (assets_data.c). */
extern const struct asset assets_table[];
extern const size_t assets_count;

/* The asset at path (len bytes, borrowed), or NULL. "/demo/" names
 * "/demo/index.html". With demo false, demo assets are not found. */
const struct asset *assets_find(const char *path, size_t len, bool demo);

/* Appends to out the complete response to a plain request (req as
 * ws_handshake_check judged it plain; borrowed).
 * Returns its status:
 *   200  an asset, with Content-Type, Content-Length, ETag and a short
 *        Cache-Control (/gatecast.js: max-age=60; demo files: no-cache)
 *   304  If-None-Match names the asset's ETag (or is "*")
 *   301  /demo → /demo/, and / → /demo/ when demo is on
 *   404  anything else
 * A HEAD gets the same head without the body. Every response carries
 * "Connection: close". */
int assets_respond(const struct ws_handshake *req, bool demo, struct buf *out);

/* Appends a response of one's own to out in the static files' shape
 * (X-Content-Type-Options: nosniff, Connection: close; written by
 * http_reply_write): status (one http_reply_reason knows; anything else is
 * sent as 500), content_type and
 * cache_control (NULL: none), extra header lines (each ending in CRLF; NULL
 * or "" for none), and the body (len bytes, borrowed; left out when
 * with_body is false, as for HEAD, but still counted in Content-Length). */
void assets_reply(struct buf *out, int status, const char *content_type, const char *cache_control,
	const char *extra, const void *body, size_t len, bool with_body);

#endif
