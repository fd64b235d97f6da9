/*
 * http_query — reads one parameter of a URL query string or form body
 * ("uid=42&token=x"), percent-decoding its value. Pure.
 */
#ifndef GATECAST_HTTP_HTTP_QUERY_H
#define GATECAST_HTTP_HTTP_QUERY_H

#include <stddef.h>

#include "http/http1.h"

/* Finds name in query (borrowed; names compared as sent; the first match
 * wins; "name" without '=' has an empty value) and decodes its value ('+' is
 * a space, %XX a byte, %00 refused) into out (size outlen, NUL-terminated).
 * Returns the decoded length, -ENOENT when absent, -EINVAL for malformed
 * percent-encoding, -ENOSPC when it does not fit. out is "" on failure. */
int http_query_param(struct http_span query, const char *name, char *out, size_t outlen);

#endif
