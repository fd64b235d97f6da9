/*
 * buf_test — appends, printf across the capacity, consume, steal.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/tap.h"

int
main(void)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s", "");
	tap_ok(b.p != NULL && b.len == 0 && b.p[0] == '\0', "an empty printf leaves an empty string");
	buf_printf(&b, "a=%d", 42);
	tap_eq_str(b.p, "a=42", "printf into a fresh buffer");
	/* Exactly at, one under and over the room left: 64 bytes are made first. */
	buf_reset(&b);
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	buf_printf(&b, "%.60s", big);
	size_t cap = b.cap;
	buf_printf(&b, "%.*s", (int)(cap - b.len), big);
	tap_eq_int(b.len, cap, "a printf that fills the room exactly");
	tap_eq_int(b.cap, cap, "  ... needs no growth");
	tap_ok(b.p[b.len] == '\0', "  ... and stays NUL-terminated");
	buf_printf(&b, "%s|%d", big, 7);
	tap_eq_int(b.len, cap + 199 + 2, "a printf beyond the room grows the buffer");
	tap_ok(memcmp(b.p + cap, big, 199) == 0 && strcmp(b.p + cap + 199, "|7") == 0,
		"  ... with the whole text formatted once more, in place");
	buf_append_str(&b, "!");
	tap_ok(b.p[b.len - 1] == '!' && b.p[b.len] == '\0', "appends follow");
	buf_consume(&b, b.len - 3);
	tap_eq_str(b.p, "|7!", "consume keeps the tail");
	size_t n;
	char *s = buf_steal(&b, &n);
	tap_ok(n == 3 && strcmp(s, "|7!") == 0 && b.p == NULL && b.len == 0, "steal hands the bytes over");
	free(s);
	buf_fini(&b);
	return tap_done();
}
