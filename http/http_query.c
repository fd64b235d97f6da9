/*
 * http_query — see http_query.h.
 */
#include "http/http_query.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "common/hex.h"

/* Decodes a form value (percent-encoding, '+' for space) into out. A
 * decoded NUL is malformed: out is used as a C string and must not lie
 * about its length. */
static int
http_query_decode(const char *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return -EINVAL;
			int hi = hex_digit(p[i + 1]);
			int lo = hex_digit(p[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= outlen || o >= INT_MAX)
			return -ENOSPC;
		out[o++] = c;
	}
	if (outlen == 0)
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}

int
http_query_param(struct http_span query, const char *name, char *out, size_t outlen)
{
	const char *q = query.p;
	size_t qlen = query.n;
	size_t name_len = strlen(name);
	size_t i = 0;
	int rc = -ENOENT;

	/* names are compared as sent, not decoded; the first match wins */
	while (i < qlen) {
		const char *pair = q + i;
		const char *amp = memchr(pair, '&', qlen - i);
		size_t pair_len = amp != NULL ? (size_t)(amp - pair) : qlen - i;
		const char *eq = memchr(pair, '=', pair_len);
		size_t key_len = eq != NULL ? (size_t)(eq - pair) : pair_len;

		if (pair_len > 0 && key_len == name_len && memcmp(pair, name, name_len) == 0) {
			if (eq == NULL)
				rc = http_query_decode(NULL, 0, out, outlen);
			else
				rc = http_query_decode(eq + 1, pair_len - key_len - 1, out, outlen);
			break;
		}
		i += pair_len + 1;
	}
	if (rc < 0 && outlen > 0)
		out[0] = '\0';
	return rc;
}
