/*
 * client_frame — see client_frame.h.
 */
#include "proto/client_frame.h"

#include <string.h>

#include "common/json_out.h"

static void
client_frame_str(struct buf *out, const char *s)
{
	json_out_str(out, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

void
client_frame_error(struct buf *out, const char *code, const char *message)
{
	buf_append_str(out, "{\"type\":\"error\",\"error\":");
	client_frame_str(out, code);
	buf_append_str(out, ",\"message\":");
	client_frame_str(out, message);
	buf_append_char(out, '}');
}
