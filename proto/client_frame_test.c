/*
 * client_frame_test — the error frame reads back as the object it claims
 * to be, whatever bytes its code and message hold.
 */
#include "proto/client_frame.h"

#include <jansson.h>

#include "tests/tap.h"

/* Is the text in b exactly {"type":"error","error":code,"message":message}? */
static int
is_error_frame(const struct buf *b, const char *code, const char *message)
{
	json_t *v = json_loadb(b->p, b->len, 0, NULL);
	int ok = json_is_object(v) && json_object_size(v) == 3 &&
		 strcmp(json_string_value(json_object_get(v, "type")), "error") == 0 &&
		 strcmp(json_string_value(json_object_get(v, "error")), code) == 0 &&
		 strcmp(json_string_value(json_object_get(v, "message")), message) == 0;
	json_decref(v);
	return ok;
}

int
main(void)
{
	struct buf b = BUF_INIT;

	client_frame_error(&b, "no_worker", "no worker available, try again");
	tap_eq_str(b.p, "{\"type\":\"error\",\"error\":\"no_worker\",\"message\":\"no worker available, try again\"}",
		"a plain frame is the exact text the gateway always sent");
	tap_ok(is_error_frame(&b, "no_worker", "no worker available, try again"), "and reads back");

	buf_reset(&b);
	client_frame_error(&b, "bad\"code", "log in first: {\"type\":\"login\",\"token\":…}\n\t\x01\\");
	tap_ok(is_error_frame(&b, "bad\"code", "log in first: {\"type\":\"login\",\"token\":…}\n\t\x01\\"),
		"quotes, backslashes and control characters come out as valid JSON that reads back");
	tap_ok(memchr(b.p, '\n', b.len) == NULL, "a newline in a message is escaped");

	buf_reset(&b);
	client_frame_error(&b, "unknown_type", "unknown message type \"\xe2\x82\"");
	tap_ok(is_error_frame(&b, "unknown_type", "unknown message type \"\xef\xbf\xbd\xef\xbf\xbd\""),
		"a message cut inside a UTF-8 sequence is still valid JSON, with U+FFFD");

	buf_reset(&b);
	client_frame_error(&b, NULL, NULL);
	tap_ok(is_error_frame(&b, "", ""), "NULL code and message are written as empty strings");

	buf_fini(&b);
	return tap_done();
}
