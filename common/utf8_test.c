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
