/*
 * base64 — RFC 4648 base64, the standard (§4) and the URL-safe (§5)
 * alphabets, encode and decode, for the push API's data_base64, tokens
 * (RFC 7515 §2: base64url without padding) and the WebSocket handshake
 * (RFC 6455 §4.2.2).
 *
 * Pure: no allocation; the caller gives room (base64_encoded_len,
 * BASE64_DECODED_MAX). Whitespace and line breaks (RFC 2045's MIME form) are
 * never accepted. Not constant-time: nothing secret is decoded here (a
 * token's signature is compared in constant time after decoding).
 */
#ifndef GATECAST_COMMON_BASE64_H
#define GATECAST_COMMON_BASE64_H

#include <stddef.h>

#include "common/attr.h"

/* Flags, or'ed together; 0 is the standard alphabet with '=' padding on
 * encode, and on decode padding optional and leftover bits ignored. */
enum base64_flags {
	BASE64_URL = 1 << 0,       /* RFC 4648 §5 alphabet ("-_" for "+/") */
	BASE64_NOPAD = 1 << 1,     /* encode: no '='; decode: any '=' is an error */
	BASE64_CANONICAL = 1 << 2, /* decode: the bits after the last whole byte must be 0 */
};

/* Room for decoding n characters (a constant expression, for arrays): at
 * most 3 bytes per 4 characters, rounded up. */
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3 + 3)

/* The number of characters base64_encode writes for n bytes (without the
 * NUL it adds). */
size_t base64_encoded_len(size_t n, unsigned flags);

/* Encodes the n bytes at p (borrowed) into out, which has room for
 * base64_encoded_len(n, flags) + 1 characters, and NUL-terminates it.
 * Returns the length written (without the NUL). Cannot fail. */
size_t base64_encode(const void *p, size_t n, unsigned flags, char *out);

/* Decodes the n characters at s (borrowed; need not be NUL-terminated) into
 * out, which has room for BASE64_DECODED_MAX(n) bytes. Padding, when
 * present and allowed, must make the length a multiple of 4 and be at most
 * two '='; a length of 4k + 1 characters is never valid. Returns 0 with
 * *outlen set, or -EINVAL for anything that is not base64 under flags (out
 * may then hold partial output). */
MUST_CHECK int base64_decode(const char *s, size_t n, unsigned flags, unsigned char *out,
	size_t *outlen);

#endif
