/*
 * json_out — writing JSON text by hand into a struct buf: strings with
 * escaping that always yields valid JSON, reals in their shortest form, and
 * any jansson value compactly with object keys in their parsed order.
 *
 * Why not json_dumps: jansson prints reals with 17 significant digits (0.1
 * becomes 0.10000000000000001), and an application's payload should reach
 * the browser as it was written; and a string that is not UTF-8 makes
 * json_pack fail, where a writer can replace the bad bytes.
 *
 * It does not parse, pretty-print or sort keys.
 */
#ifndef GATECAST_COMMON_JSON_OUT_H
#define GATECAST_COMMON_JSON_OUT_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

/* Appends the n bytes at s (borrowed; any bytes, NULs included) to b as one
 * JSON string. '"' and '\\' are escaped, control characters become \b \f
 * \n \r \t or \u00xx (lowercase hex), and each byte that is not part of
 * well-formed UTF-8 becomes \ufffd, so the result is always valid JSON and
 * never holds a raw newline. Everything else is copied as is. */
void json_out_str(struct buf *b, const char *s, size_t n);

/* Appends d as the shortest text that reads back as the same double, with
 * ".0" added when it would otherwise look like an integer (as jansson
 * does); NaN and the infinities, which JSON cannot say, as null. */
void json_out_real(struct buf *b, double d);

/* Appends v (borrowed; not NULL) as compact JSON: no spaces, object keys in
 * the order they were parsed, strings through json_out_str, reals through
 * json_out_real. */
void json_out_value(struct buf *b, const json_t *v);

#endif
