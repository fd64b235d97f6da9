/*
 * utf8_test — the RFC 3629 edge cases, whole and split across calls.
 */
#include "common/utf8.h"
#include "tests/tap.h"

static int
split_ok(const char *s, size_t n)
{
	/* Every split point must give the same verdict as the whole. */
	for (size_t k = 0; k <= n; k++) {
		uint32_t st = utf8_feed(UTF8_ACCEPT, s, k);
		st = utf8_feed(st, s + k, n - k);
		if ((st == UTF8_ACCEPT) != utf8_valid(s, n))
			return 0;
	}
	return 1;
}

int
main(void)
{
	tap_ok(utf8_char_len("", 0) == 0, "no character starts an empty buffer");
	tap_ok(utf8_char_len("ab", 2) == 1, "an ASCII character is one byte");
	tap_ok(utf8_char_len("\xce\xba\xce", 3) == 2, "a 2-byte character is measured alone");
	tap_ok(utf8_char_len("\xf0\x9f\x98\x80\x80", 5) == 4, "a 4-byte character ignores what follows");
	tap_ok(utf8_char_len("\xe2\x82", 2) == 0, "a truncated sequence has no length");
	tap_ok(utf8_char_len("\xc0\xaf", 2) == 0 && utf8_char_len("\xed\xa0\x80", 3) == 0,
		"overlongs and surrogates have no length");
	tap_ok(utf8_char_len("\x80", 1) == 0, "a lone continuation byte has no length");
	int agree = 1;
	for (unsigned a = 0x80; a < 0x100; a++)
		for (unsigned b = 0; b < 0x100; b++) {
			unsigned char s2[2] = {(unsigned char)a, (unsigned char)b};
			size_t k = utf8_char_len(s2, 2);
			agree &= (k == 2) == utf8_valid(s2, 2);
		}
	tap_ok(agree, "every two-byte pair is a 2-byte character exactly when it is valid UTF-8");
	tap_ok(utf8_valid("", 0), "the empty string is valid");
	tap_ok(utf8_valid("hello", 5), "ASCII is valid");
	tap_ok(utf8_valid("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11), "Greek kosme is valid");
	tap_ok(utf8_valid("\xf0\x9f\x98\x80", 4), "a 4-byte emoji is valid");
	tap_ok(utf8_valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF is valid");
	tap_ok(!utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF is invalid");
	tap_ok(!utf8_valid("\xc0\xaf", 2), "an overlong 2-byte slash is invalid");
	tap_ok(!utf8_valid("\xe0\x80\xaf", 3), "an overlong 3-byte slash is invalid");
	tap_ok(!utf8_valid("\xf0\x80\x80\xaf", 4), "an overlong 4-byte slash is invalid");
	tap_ok(!utf8_valid("\xed\xa0\x80", 3), "a UTF-16 surrogate is invalid");
	tap_ok(!utf8_valid("\x80", 1), "a lone continuation byte is invalid");
	tap_ok(!utf8_valid("\xce", 1), "a truncated sequence is not complete");
	tap_ok(utf8_feed(UTF8_ACCEPT, "\xce", 1) != UTF8_REJECT,
		"a truncated sequence is not rejected before its end");
	tap_ok(!utf8_valid("\xff", 1), "0xff is invalid");
	tap_ok(!utf8_valid("a\xf5\x80\x80\x80", 5), "0xf5 lead bytes are invalid");
	tap_ok(utf8_feed(UTF8_ACCEPT, "\xce\xba\xf4\x90", 4) == UTF8_REJECT,
		"an invalid byte is rejected as soon as it arrives");
	tap_ok(split_ok("\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80", 9),
		"valid text splits anywhere with the same verdict");
	tap_ok(split_ok("\xce\xba\xed\xa0\x80", 5), "invalid text splits anywhere with the same verdict");
	return tap_done();
}
