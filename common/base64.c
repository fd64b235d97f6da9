/*
 * base64 — see base64.h. One bit accumulator for both directions: encode
 * takes 8 bits in and gives 6 out, decode the reverse.
 */
#include "common/base64.h"

#include <errno.h>
#include <stdint.h>

static const char base64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of character c in the alphabet flags choose, or -1. */
static int
base64_value(unsigned char c, unsigned flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == ((flags & BASE64_URL) ? '-' : '+'))
		return 62;
	if (c == ((flags & BASE64_URL) ? '_' : '/'))
		return 63;
	return -1;
}

size_t
base64_encoded_len(size_t n, unsigned flags)
{
	if (flags & BASE64_NOPAD)
		return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
	return (n + 2) / 3 * 4;
}

size_t
base64_encode(const void *p, size_t n, unsigned flags, char *out)
{
	const char *alphabet = (flags & BASE64_URL) ? base64_url : base64_std;
	const unsigned char *s = p;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | s[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = alphabet[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (6 - bits)) & 63];
	if (!(flags & BASE64_NOPAD))
		while (o % 4 != 0)
			out[o++] = '=';
	out[o] = '\0';
	return o;
}

int
base64_decode(const char *s, size_t n, unsigned flags, unsigned char *out, size_t *outlen)
{
	size_t pad = 0, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (!(flags & BASE64_NOPAD))
		while (pad < 2 && n - pad > 0 && s[n - pad - 1] == '=')
			pad++;
	if ((pad > 0 && n % 4 != 0) || (n - pad) % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n - pad; i++) {
		int v = base64_value((unsigned char)s[i], flags);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if ((flags & BASE64_CANONICAL) && acc != 0)
		return -EINVAL;
	*outlen = o;
	return 0;
}
