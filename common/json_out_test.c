/*
 * json_out_test — strings always come out as valid JSON (checked by reading
 * them back with jansson), bad UTF-8 becomes U+FFFD one byte at a time,
 * reals take their shortest form, and values keep their key order.
 */
#include "common/json_out.h"

#include "tests/tap.h"

#define S(s) s, sizeof s - 1

/* json_out_str(s) as a NUL-terminated string in *b. */
static const char *
str(struct buf *b, const char *s, size_t n)
{
	buf_reset(b);
	json_out_str(b, s, n);
	return b->p;
}

/* Does the JSON text in b parse back to the string want (wn bytes)? */
static int
reads_back(const struct buf *b, const char *want, size_t wn)
{
	json_t *v = json_loadb(b->p, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	int ok = json_is_string(v) && json_string_length(v) == wn &&
		 memcmp(json_string_value(v), want, wn) == 0;
	json_decref(v);
	return ok;
}

static const char *
real(struct buf *b, double d)
{
	buf_reset(b);
	json_out_real(b, d);
	return b->p;
}

int
main(void)
{
	struct buf b = BUF_INIT;

	tap_eq_str(str(&b, S("")), "\"\"", "the empty string is two quotes");
	tap_eq_str(str(&b, S("plain text")), "\"plain text\"", "plain ASCII is copied");
	tap_eq_str(str(&b, S("a\"b\\c")), "\"a\\\"b\\\\c\"", "quotes and backslashes are escaped");
	tap_eq_str(str(&b, S("\b\f\n\r\t")), "\"\\b\\f\\n\\r\\t\"", "the five short escapes are used");
	tap_eq_str(str(&b, S("\x01\x1f")), "\"\\u0001\\u001f\"", "other control characters are \\u00xx, lowercase");
	tap_eq_str(str(&b, S("x\0y")), "\"x\\u0000y\"", "a NUL is escaped, not an end");
	tap_eq_str(str(&b, S("/\x7f")), "\"/\x7f\"", "slash and DEL are copied");
	tap_eq_str(str(&b, S("\xce\xba\xf0\x9f\x98\x80")), "\"\xce\xba\xf0\x9f\x98\x80\"",
		"well-formed UTF-8 is copied");
	tap_eq_str(str(&b, S("a\xffz")), "\"a\\ufffdz\"", "a byte that is not UTF-8 becomes \\ufffd");
	tap_eq_str(str(&b, S("\xe2\x82")), "\"\\ufffd\\ufffd\"", "a truncated sequence is replaced byte by byte");
	tap_eq_str(str(&b, S("\xed\xa0\x80")), "\"\\ufffd\\ufffd\\ufffd\"", "a surrogate is not UTF-8");

	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	str(&b, all, 128);
	tap_ok(reads_back(&b, all, 128), "every ASCII byte reads back unchanged");
	str(&b, all, 256);
	json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	tap_ok(json_is_string(v), "all 256 bytes still make valid JSON");
	json_decref(v);
	tap_ok(memchr(b.p, '\n', b.len) == NULL, "the output never holds a raw newline");

	tap_eq_str(real(&b, 0.1), "0.1", "0.1 is written as 0.1, not 17 digits");
	tap_eq_str(real(&b, 2.0), "2.0", "an integral real keeps .0");
	tap_eq_str(real(&b, 1e300), "1e+300", "a large real uses an exponent");
	tap_eq_str(real(&b, 0.1 + 0.2), "0.30000000000000004", "a real needing 17 digits gets them");
	tap_eq_str(real(&b, 0.0 / 0.0), "null", "NaN is null");

	json_t *o = json_loads("{\"z\":1,\"a\":[true,false,null,-2.5,\"\\u0001\"],\"m\":{}}", 0, NULL);
	buf_reset(&b);
	json_out_value(&b, o);
	tap_eq_str(b.p, "{\"z\":1,\"a\":[true,false,null,-2.5,\"\\u0001\"],\"m\":{}}",
		"a value is compact, keys in parsed order");
	json_decref(o);

	buf_fini(&b);
	return tap_done();
}
