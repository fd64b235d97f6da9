/*
 * http_api — the JSON parts of the push service's HTTP API (http.listen)
 * that need no connection: splitting a JSON array body into its elements
 * and the HTTP status of a push reply. Pure. The head is parsed by http1.h
 * and the response written by http_reply.h; push/push_http.c does the I/O.
 */
#ifndef GATECAST_HTTP_HTTP_API_H
#define GATECAST_HTTP_HTTP_API_H

#include <stddef.h>

#define HTTP_API_MAX_BATCH 1000  /* commands in one /api/batch; more get 413 */

/* Splits the text of a JSON array (already known to be valid JSON) into the
 * spans of its elements: up to max (off, len) pairs into off[]/len[].
 * Returns the element count (which may exceed max: then only max are
 * filled), or -EINVAL when the text is not an array. */
long http_api_split_array(const char *p, size_t n, size_t *off, size_t *len, size_t max);

/* The HTTP status for a push reply line (JSON): 200 when "ok" is true,
 * otherwise by its "error" code (400, 401, 404, 409, 413, 503, 504; 500 for
 * anything else). */
int http_api_reply_status(const char *json, size_t len);

#endif
