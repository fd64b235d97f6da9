/*
 * ws_out — see ws_out.h.
 */
#include "ws/ws_out.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct ws_out *
ws_out_new(const void *bytes, size_t len)
{
	struct ws_out *o = xmalloc(sizeof *o + len);
	o->refs = 1;
	o->len = (uint32_t)len;
	o->pushed_us = 0;
	if (bytes != NULL && len)
		memcpy(o->data, bytes, len);
	return o;
}

void
ws_out_unref(struct ws_out *o)
{
	if (o != NULL && --o->refs == 0)
		free(o);
}
