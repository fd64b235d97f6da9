/*
 * http_upgrade_fuzz — libFuzzer target for the opening handshake parser.
 *
 * Feeds arbitrary bytes to http_upgrade_parse and, when they parse, builds
 * the 101 response and looks up the "uid" query parameter, as the gateway
 * does; a plain request gets its response from the compiled-in files
 * (assets.h), with the demo on and off. Builds with -fsanitize=fuzzer; any other driver that calls
 * LLVMFuzzerTestOneInput per input (corpus replay) works too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gateway/assets.h"
#include "ws/http_upgrade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_upgrade req;
	char uid[64];

	/* a copy of exactly size bytes, so a read past len is caught */
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	if (size)
		memcpy(p, data, size);

	int rc = http_upgrade_parse(p, size, 8192, &req);
	if (rc == 0) {
		if (req.head_len == 0 || req.head_len > size || req.head_len > 8192)
			abort();
		struct buf out = BUF_INIT;
		http_upgrade_response_101(&req, &out);
		buf_fini(&out);
		int n = http_query_param(req.query, "uid", uid, sizeof uid);
		if (n >= 0 && ((size_t)n >= sizeof uid || strlen(uid) != (size_t)n))
			abort();
	} else if (rc == HTTP_UPGRADE_PLAIN) {
		if (req.head_len == 0 || req.head_len > size || req.head_len > 8192)
			abort();
		for (int demo = 0; demo < 2; demo++) {
			struct buf out = BUF_INIT;
			int st = assets_respond(&req, demo, &out);
			if ((st != 200 && st != 301 && st != 304 && st != 404) || out.len == 0)
				abort();
			buf_fini(&out);
		}
		int n = http_query_param(req.query, "uid", uid, sizeof uid);
		if (n >= 0 && ((size_t)n >= sizeof uid || strlen(uid) != (size_t)n))
			abort();
	} else if (rc > 0) {
		struct buf out = BUF_INIT;
		http_upgrade_response_error(rc, &out);
		buf_fini(&out);
	}
	free(p);
	return 0;
}
