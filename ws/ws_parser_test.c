/*
 * ws_parser_test — RFC 6455 input rules, frame by frame, with byte arrays
 * built by a masking helper (the mask key is fixed so failures print the
 * same bytes every time).
 */
#include <stdlib.h>
#include <string.h>

#include "ws/ws_parser.h"
#include "tests/tap.h"

struct seen {
	int messages, pings, pongs, closes;
	char last[256];
	size_t last_len;
	bool binary;
	uint16_t close_code;
};

static void
t_message(void *arg, const uint8_t *d, size_t n, bool binary)
{
	struct seen *s = arg;
	s->messages++;
	s->last_len = n < sizeof s->last ? n : sizeof s->last;
	memcpy(s->last, d, s->last_len);
	s->binary = binary;
}

static void
t_ping(void *arg, const uint8_t *d, size_t n)
{
	struct seen *s = arg;
	s->pings++;
	s->last_len = n;
	memcpy(s->last, d, n);
}

static void
t_pong(void *arg, const uint8_t *d, size_t n)
{
	((struct seen *)arg)->pongs++;
}

static void
t_close(void *arg, uint16_t code, const uint8_t *r, size_t n)
{
	struct seen *s = arg;
	s->closes++;
	s->close_code = code;
}

static const struct ws_parser_ops ops = {t_message, t_ping, t_pong, t_close};

/* Appends one masked frame: b0 = FIN|RSV|opcode; payload masked with
 * 0x11 0x22 0x33 0x44. len_form forces 7/16/64-bit length encoding. */
static size_t
frame(uint8_t *out, uint8_t b0, const void *payload, size_t n, int len_form)
{
	static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
	size_t h = 0;
	out[h++] = b0;
	if (len_form == 7 || (len_form == 0 && n < 126)) {
		out[h++] = (uint8_t)(0x80 | n);
	} else if (len_form == 16 || (len_form == 0 && n <= 0xffff)) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(out + h, key, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		out[h + i] = ((const uint8_t *)payload)[i] ^ key[i & 3];
	return h + n;
}

static uint16_t
run(const uint8_t *bytes, size_t n, size_t step, struct seen *s, uint64_t max)
{
	struct ws_parser p;
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, bytes, n);
	memset(s, 0, sizeof *s);
	ws_parser_init(&p, max);
	uint16_t rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += step)
		rc = ws_parser_feed(&p, copy + i, n - i < step ? n - i : step, &ops, s);
	ws_parser_fini(&p);
	free(copy);
	return rc;
}

int
main(void)
{
	uint8_t b[70000 + 32];
	struct seen s;
	size_t n;

	n = frame(b, 0x81, "Hello", 5, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "a masked text frame is accepted");
	tap_ok(s.messages == 1 && s.last_len == 5 && memcmp(s.last, "Hello", 5) == 0 && !s.binary,
		"its payload is unmasked and delivered as text");
	tap_eq_int(run(b, n, 1, &s, 1024), 0, "the same frame fed byte by byte is accepted");
	tap_ok(s.messages == 1 && memcmp(s.last, "Hello", 5) == 0, "and delivered once, whole");

	/* RFC 6455 §5.7 example: unmasked "Hello" is a client error. */
	static const uint8_t unmasked[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
	tap_eq_int(run(unmasked, sizeof unmasked, 7, &s, 1024), 1002, "an unmasked frame is 1002");

	n = frame(b, 0x01, "Hel", 3, 0);
	n += frame(b + n, 0x89, "p", 1, 0); /* ping between fragments */
	n += frame(b + n, 0x80, "lo", 2, 0);
	tap_eq_int(run(b, n, 2, &s, 1024), 0, "fragments with a ping between them are accepted");
	tap_ok(s.messages == 1 && s.pings == 1 && s.last_len == 5, "one message and one ping result");

	n = frame(b, 0x80, "x", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "a continuation without a message is 1002");
	n = frame(b, 0x01, "a", 1, 0);
	n += frame(b + n, 0x81, "b", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "a new message inside a fragmented one is 1002");
	n = frame(b, 0xc1, "a", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "RSV1 without an extension is 1002");
	n = frame(b, 0x83, "a", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "reserved data opcode 3 is 1002");
	n = frame(b, 0x8b, "a", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "reserved control opcode 0xb is 1002");
	n = frame(b, 0x09, "a", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "a fragmented ping is 1002");
	memset(b + 200, 'p', 126);
	n = frame(b, 0x89, b + 200, 126, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "a 126-byte ping is 1002");
	n = frame(b, 0x89, b + 200, 125, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "a 125-byte ping is fine");
	tap_ok(s.pings == 1 && s.last_len == 125, "and its payload is handed over for the pong");

	static const uint8_t top_bit[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
	tap_eq_int(run(top_bit, sizeof top_bit, 14, &s, 1024), 1002,
		"a 64-bit length with the top bit set is 1002");
	static const uint8_t huge[] = {0x82, 0xff, 0, 0, 0, 0, 0x06, 0x40, 0, 0, 1, 2, 3, 4};
	tap_eq_int(run(huge, sizeof huge, 14, &s, 65536), 1009,
		"a 100 MB header is 1009 before any payload");
	n = frame(b, 0x02, "0123456789", 10, 0);
	n += frame(b + n, 0x80, b + 200, 65530, 0);
	tap_eq_int(run(b, n, n, &s, 65536), 1009, "too big as a sum of fragments is 1009");
	n = frame(b, 0x82, b + 200, 65536, 0);
	tap_eq_int(run(b, n, 4096, &s, 65536), 0, "exactly max_message is accepted");
	tap_ok(s.messages == 1 && s.binary, "as one binary message");

	n = frame(b, 0x81, "\xce\xba\xe1\xbd\xb9", 5, 64);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "valid UTF-8 with a 64-bit length form is accepted");
	n = frame(b, 0x81, "\xed\xa0\x80", 3, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1007, "a surrogate in text is 1007");
	n = frame(b, 0x01, "\xce", 1, 0);
	n += frame(b + n, 0x80, "\xba", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "a sequence split across fragments is fine");
	n = frame(b, 0x81, "ab\xce", 3, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1007, "text ending inside a sequence is 1007");
	/* Fail fast: first bytes invalid, declared length far larger than sent. */
	uint8_t ff[] = {0x81, 0xfe, 0xea, 0x60, 0, 0, 0, 0, 0xff, 'a'};
	tap_eq_int(run(ff, sizeof ff, sizeof ff, &s, 65536), 1007,
		"invalid UTF-8 fails before the rest of the frame arrives");

	n = frame(b, 0x88, "\x03\xe8" "bye", 5, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "close 1000 with a reason is accepted");
	tap_ok(s.closes == 1 && s.close_code == 1000, "and reported with its code");
	n = frame(b, 0x88, "", 0, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "an empty close is accepted");
	tap_ok(s.closes == 1 && s.close_code == 0, "and reported without a code");
	n = frame(b, 0x88, "\x03", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "a 1-byte close body is 1002");
	n = frame(b, 0x88, "\x03\xed", 2, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 1002, "close code 1005 is 1002");
	n = frame(b, 0x88, "\x03\xf4", 2, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "close code 1012 (IANA registered) is accepted");
	n = frame(b, 0x88, "\x03\xe8\xff\xfe", 4, 0);
	tap_eq_int(run(b, n, 1, &s, 1024), 1007, "a bad close reason fed byte by byte is 1007");
	n = frame(b, 0x88, "\x03\xe8", 2, 0);
	n += frame(b + n, 0x81, "late", 4, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "data after a close is ignored");
	tap_eq_int(s.messages, 0, "no message is delivered after the close");
	n = frame(b, 0x8a, "u", 1, 0);
	tap_eq_int(run(b, n, n, &s, 1024), 0, "an unsolicited pong is accepted");
	tap_eq_int(s.pongs, 1, "and reported");
	tap_ok(!ws_parser_close_code_valid(999) && !ws_parser_close_code_valid(1015) &&
			!ws_parser_close_code_valid(2999) && ws_parser_close_code_valid(4999),
		"close code validity follows RFC 6455 §7.4 and the IANA registry");
	return tap_done();
}
