/*
 * ws_handshake_fuzz — libFuzzer target for the opening handshake as the
 * gateway judges a head: http1_parse, then ws_handshake_check. An upgrade
 * gets its 101 built and its "uid" query parameter looked up, as the
 * gateway does; a plain request gets its response from the compiled-in
 * files (assets.h), with the demo on and off; a refusal gets its response.
 * Builds with -fsanitize=fuzzer; any other driver that calls
 * LLVMFuzzerTestOneInput per input (corpus replay) works too.
 *
 * Aborts besides a sanitizer: a judged head longer than the input, a uid
 * that does not fit what was returned, an assets status outside
 * 200/301/304/404 or an empty response, a refusal status outside
 * 400/405/426.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gateway/assets.h"
#include "http/http1.h"
#include "http/http_query.h"
#include "ws/ws_handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ws_handshake_fuzz_uid(const struct ws_handshake *hs)
{
	char uid[64];
	int n = http_query_param(hs->query, "uid", uid, sizeof uid);
	if (n >= 0 && ((size_t)n >= sizeof uid || strlen(uid) != (size_t)n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_req hr;
	struct ws_handshake hs;

	/* a copy of exactly size bytes, so a read past len is caught */
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	if (size)
		memcpy(p, data, size);

	int hl = http1_parse(p, size, &hr);
	if (hl > 0 && ws_handshake_check(&hr, &hs) == 0) {
		if (hs.head_len == 0 || hs.head_len > size || hs.head_len > HTTP1_MAX_HEAD)
			abort();
		if (!hs.plain) {
			struct buf out = BUF_INIT;
			ws_handshake_reply_101(&hs, &out);
			buf_fini(&out);
		} else {
			for (int demo = 0; demo < 2; demo++) {
				struct buf out = BUF_INIT;
				int st = assets_respond(&hs, demo, &out);
				if ((st != 200 && st != 301 && st != 304 && st != 404) || out.len == 0)
					abort();
				buf_fini(&out);
			}
		}
		ws_handshake_fuzz_uid(&hs);
	} else if (hl > 0) {
		if (hs.status != 400 && hs.status != 405 && hs.status != 426)
			abort();
		struct buf out = BUF_INIT;
		ws_handshake_refuse(hs.status, &out);
		buf_fini(&out);
	} else if (hl < 0) {
		struct buf out = BUF_INIT;
		ws_handshake_refuse(hr.status, &out);
		buf_fini(&out);
	}
	free(p);
	return 0;
}
