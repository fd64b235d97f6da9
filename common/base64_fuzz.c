/*
 * base64_fuzz — libFuzzer target for base64_decode.
 *
 * Each input is decoded under every combination of flags into a buffer of
 * exactly BASE64_DECODED_MAX(n) bytes (so a sanitizer sees any overrun).
 * Whatever decodes must encode back to something that decodes to the same
 * bytes, and under BASE64_NOPAD | BASE64_CANONICAL (the tokens' rule) must
 * encode back to the input itself: that form is unique. Any broken rule
 * aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
base64_fuzz_one(const char *s, size_t n, unsigned flags)
{
	unsigned char *out = malloc(BASE64_DECODED_MAX(n));
	size_t len = 0;
	if (out == NULL)
		abort();
	if (base64_decode(s, n, flags, out, &len) == 0) {
		if (len > BASE64_DECODED_MAX(n) || len > n)
			abort();
		char *enc = malloc(base64_encoded_len(len, flags) + 1);
		unsigned char *back = malloc(BASE64_DECODED_MAX(base64_encoded_len(len, flags)));
		size_t k = base64_encode(out, len, flags, enc), blen = 0;
		if (enc == NULL || back == NULL || k != base64_encoded_len(len, flags) || enc[k] != '\0')
			abort();
		if (base64_decode(enc, k, flags | BASE64_CANONICAL, back, &blen) != 0 || blen != len ||
			memcmp(back, out, len) != 0)
			abort();
		if ((flags & BASE64_NOPAD) && (flags & BASE64_CANONICAL) &&
			(k != n || memcmp(enc, s, n) != 0))
			abort();
		free(back);
		free(enc);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so reading past the input is caught. */
	char *s = malloc(size ? size : 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	for (unsigned flags = 0; flags < 8; flags++)
		base64_fuzz_one(s, size, flags);
	free(s);
	return 0;
}
