/*
 * utf8 — see utf8.h. A small explicit state machine: the state encodes how
 * many continuation bytes are still expected and the allowed range of the
 * next one (which is how overlongs, surrogates and > U+10FFFF are refused
 * at their second byte, as RFC 3629 §4's table prescribes).
 */
#include "common/utf8.h"

/* state layout: 0 = accept, 1 = reject, otherwise
 * (remaining << 16) | (lo << 8) | hi for the next byte's range. */
static uint32_t
utf8_expect(uint32_t remaining, uint32_t lo, uint32_t hi)
{
	return (remaining << 16) | (lo << 8) | hi;
}

uint32_t
utf8_feed(uint32_t state, const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		if (state == UTF8_REJECT)
			return UTF8_REJECT;
		if (state == UTF8_ACCEPT) {
			if (c < 0x80)
				continue;
			if (c >= 0xc2 && c <= 0xdf)
				state = utf8_expect(1, 0x80, 0xbf);
			else if (c == 0xe0)
				state = utf8_expect(2, 0xa0, 0xbf);
			else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
				state = utf8_expect(2, 0x80, 0xbf);
			else if (c == 0xed)
				state = utf8_expect(2, 0x80, 0x9f);
			else if (c == 0xf0)
				state = utf8_expect(3, 0x90, 0xbf);
			else if (c >= 0xf1 && c <= 0xf3)
				state = utf8_expect(3, 0x80, 0xbf);
			else if (c == 0xf4)
				state = utf8_expect(3, 0x80, 0x8f);
			else
				return UTF8_REJECT;
			continue;
		}
		uint32_t remaining = state >> 16, lo = (state >> 8) & 0xff, hi = state & 0xff;
		if (c < lo || c > hi)
			return UTF8_REJECT;
		remaining--;
		state = remaining ? utf8_expect(remaining, 0x80, 0xbf) : UTF8_ACCEPT;
	}
	return state;
}

bool
utf8_valid(const void *p, size_t n)
{
	return utf8_feed(UTF8_ACCEPT, p, n) == UTF8_ACCEPT;
}

size_t
utf8_char_len(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint32_t state = UTF8_ACCEPT;
	for (size_t i = 0; i < n && i < 4; i++) {
		state = utf8_feed(state, s + i, 1);
		if (state == UTF8_ACCEPT)
			return i + 1;
		if (state == UTF8_REJECT)
			return 0;
	}
	return 0;
}
