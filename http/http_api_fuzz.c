/*
 * http_api_fuzz — libFuzzer target for the HTTP port's request parsing: the
 * head parser, then (as the port does for /api/batch) the array splitter on
 * the body, and the reply status mapping on the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so a read past len is caught */
	char *p = calloc(1, size ? size : 1);
	if (p == NULL)
		return 0;
	if (size)
		memcpy(p, data, size);

	struct http_api_req r;
	int rc = http_api_parse_head(p, size, &r);
	if (rc > 0) {
		if ((size_t)rc > size || rc > HTTP_API_MAX_HEAD)
			abort();
		if (r.path_len == 0 || r.path < p || r.path + r.path_len > p + rc)
			abort();
		if (r.query_len > 0 && (r.query < p || r.query + r.query_len > p + rc))
			abort();
		if (r.authorization != NULL && r.authorization + r.authorization_len > p + rc)
			abort();
		const char *body = p + rc;
		size_t blen = size - (size_t)rc;
		size_t off[8], len[8];
		long n = http_api_split_array(body, blen, off, len, 8);
		for (long i = 0; i < n && i < 8; i++)
			if (off[i] + len[i] > blen || len[i] == 0)
				abort();
	} else if (rc < 0 && r.error_status < 400) {
		abort();
	}
	free(p);
	return 0;
}
