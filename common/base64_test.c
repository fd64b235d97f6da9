/*
 * base64_test — RFC 4648 §10's test vectors both ways, the URL alphabet,
 * and the three decode policies the callers rely on: the push API's
 * lenient one, tokens' canonical unpadded one (RFC 7515 §2), and the
 * WebSocket key (RFC 6455 §4.2.1).
 */
#include "common/base64.h"

#include <errno.h>

#include "tests/tap.h"

static const char *const rfc_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const rfc_b64url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

/* Does s decode under flags to exactly want (wn bytes)? */
static int
decodes_to(const char *s, unsigned flags, const void *want, size_t wn)
{
	unsigned char out[BASE64_DECODED_MAX(64)];
	size_t n = 999;
	return base64_decode(s, strlen(s), flags, out, &n) == 0 && n == wn && memcmp(out, want, wn) == 0;
}

static int
refused(const char *s, unsigned flags)
{
	unsigned char out[BASE64_DECODED_MAX(64)];
	size_t n = 0;
	return base64_decode(s, strlen(s), flags, out, &n) == -EINVAL;
}

int
main(void)
{
	char enc[64];
	int all_enc = 1, all_dec = 1, all_url = 1, all_len = 1;

	for (size_t i = 0; i < sizeof rfc_plain / sizeof rfc_plain[0]; i++) {
		size_t n = strlen(rfc_plain[i]);
		size_t k = base64_encode(rfc_plain[i], n, 0, enc);
		all_enc &= k == strlen(rfc_b64[i]) && strcmp(enc, rfc_b64[i]) == 0;
		all_len &= base64_encoded_len(n, 0) == strlen(rfc_b64[i]);
		all_dec &= decodes_to(rfc_b64[i], 0, rfc_plain[i], n);
		all_dec &= decodes_to(rfc_b64[i], BASE64_CANONICAL, rfc_plain[i], n);
		k = base64_encode(rfc_plain[i], n, BASE64_URL | BASE64_NOPAD, enc);
		all_url &= k == strlen(rfc_b64url[i]) && strcmp(enc, rfc_b64url[i]) == 0;
		all_len &= base64_encoded_len(n, BASE64_NOPAD) == strlen(rfc_b64url[i]);
		all_url &= decodes_to(rfc_b64url[i], BASE64_URL | BASE64_NOPAD | BASE64_CANONICAL,
			rfc_plain[i], n);
	}
	tap_ok(all_enc, "the RFC 4648 §10 vectors encode with padding");
	tap_ok(all_dec, "the RFC 4648 §10 vectors decode, padded, leniently and canonically");
	tap_ok(all_url, "the RFC 4648 §10 vectors round-trip as unpadded base64url");
	tap_ok(all_len, "base64_encoded_len matches what is written, padded or not");

	static const unsigned char hi[] = {0xfb, 0xff, 0xbf};
	base64_encode(hi, 3, 0, enc);
	tap_eq_str(enc, "+/+/", "the standard alphabet uses + and /");
	base64_encode(hi, 3, BASE64_URL, enc);
	tap_eq_str(enc, "-_-_", "the URL alphabet uses - and _");
	tap_ok(decodes_to("+/+/", 0, hi, 3) && refused("-_-_", 0), "standard decode refuses - and _");
	tap_ok(decodes_to("-_-_", BASE64_URL, hi, 3) && refused("+/+/", BASE64_URL),
		"URL decode refuses + and /");

	tap_ok(decodes_to("Zm8", 0, "fo", 2), "padding may be left out by default");
	tap_ok(refused("Zm8=", BASE64_NOPAD) && refused("Zg==", BASE64_URL | BASE64_NOPAD),
		"NOPAD refuses any '='");
	tap_ok(refused("Zm8", BASE64_NOPAD) == 0 && decodes_to("Zm8", BASE64_NOPAD, "fo", 2),
		"NOPAD accepts the unpadded form");
	tap_ok(refused("Zg=", 0), "padding must complete a multiple of four");
	tap_ok(refused("Z===", 0) && refused("Zg===", 0), "at most two '=' are padding");
	tap_ok(refused("Zm9vY", 0) && refused("Z", 0), "4k + 1 characters are never base64");
	tap_ok(refused("Zm=v", 0), "'=' inside the text is refused");
	tap_ok(refused("Zm9v\n", 0) && refused("Zm 9v", 0), "whitespace is refused");
	unsigned char out[8];
	size_t on = 0;
	tap_ok(base64_decode("Zm9v\0Yg", 7, 0, out, &on) == -EINVAL, "an embedded NUL is refused");

	tap_ok(decodes_to("Zh==", 0, "f", 1), "leftover bits are ignored by default (the push API's rule)");
	tap_ok(refused("Zh==", BASE64_CANONICAL) && refused("Zh", BASE64_NOPAD | BASE64_CANONICAL),
		"CANONICAL refuses nonzero leftover bits");

	/* RFC 6455 §1.3's sample key */
	tap_ok(decodes_to("dGhlIHNhbXBsZSBub25jZQ==", 0, "the sample nonce", 16),
		"the RFC 6455 sample key decodes to its 16 bytes");
	static const unsigned char digest[20] = {0xb3, 0x7a, 0x4f, 0x2c, 0xc0, 0x62, 0x4f, 0x16, 0x90,
		0xf6, 0x46, 0x06, 0xcf, 0x38, 0x59, 0x45, 0xb2, 0xbe, 0xc4, 0xea};
	tap_ok(base64_encode(digest, 20, 0, enc) == 28 && strcmp(enc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
		"the RFC 6455 sample accept value encodes to its 28 characters");
	return tap_done();
}
