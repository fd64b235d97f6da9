/*
 * frame — see frame.h.
 */
#include "ws/frame.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct frame *
frame_new(int opcode, const void *payload, size_t len)
{
	unsigned char hdr[10];
	size_t h = 0;
	hdr[h++] = (unsigned char)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		hdr[h++] = (unsigned char)len;
	} else if (len <= 0xffff) {
		hdr[h++] = 126;
		hdr[h++] = (unsigned char)(len >> 8);
		hdr[h++] = (unsigned char)len;
	} else {
		hdr[h++] = 127;
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	struct frame *f = xmalloc(sizeof *f + h + len);
	f->refs = 1;
	f->len = (uint32_t)(h + len);
	f->pushed_us = 0;
	memcpy(f->data, hdr, h);
	if (len)
		memcpy(f->data + h, payload, len);
	return f;
}

struct frame *
frame_new_raw(const void *bytes, size_t len)
{
	struct frame *f = xmalloc(sizeof *f + len);
	f->refs = 1;
	f->len = (uint32_t)len;
	f->pushed_us = 0;
	if (len)
		memcpy(f->data, bytes, len);
	return f;
}

struct frame *
frame_new_close(uint16_t code, const char *reason)
{
	unsigned char p[125];
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > sizeof p - 2)
		rl = sizeof p - 2;
	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	if (rl)
		memcpy(p + 2, reason, rl);
	return frame_new(FRAME_CLOSE, p, 2 + rl);
}

void
frame_unref(struct frame *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}
