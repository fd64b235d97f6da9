/*
 * ws_frame — see ws_frame.h.
 */
#include "ws/ws_frame.h"

#include <string.h>

struct ws_out *
ws_frame_new(int opcode, const void *payload, size_t len)
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
	struct ws_out *o = ws_out_new(NULL, h + len);
	memcpy(o->data, hdr, h);
	if (len)
		memcpy(o->data + h, payload, len);
	return o;
}

struct ws_out *
ws_frame_new_close(uint16_t code, const char *reason)
{
	unsigned char p[125];
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > sizeof p - 2)
		rl = sizeof p - 2;
	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	if (rl)
		memcpy(p + 2, reason, rl);
	return ws_frame_new(WS_OP_CLOSE, p, 2 + rl);
}
