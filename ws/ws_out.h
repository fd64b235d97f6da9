/*
 * ws_out — one chunk of bytes queued for a WebSocket-port connection:
 * an encoded WebSocket frame (ws_frame.h), or raw HTTP bytes (a 101, a
 * 100 Continue, a plain response). Reference counted, so one broadcast
 * frame is built once per gateway and queued to every connection without
 * copying. Not a codec: it holds bytes, it does not make them.
 */
#ifndef GATECAST_WS_WS_OUT_H
#define GATECAST_WS_WS_OUT_H

#include <stddef.h>
#include <stdint.h>

struct ws_out {
	uint32_t refs;
	uint32_t len;          /* bytes in data */
	uint64_t pushed_us;    /* wall clock (unix µs) when the push that made
	                        * this frame reached a gateway (proto_op's
	                        * pushed_us); 0 = not from a push. The server
	                        * measures push→write latency from it. 0 after
	                        * ws_out_new and ws_frame_new*. */
	unsigned char data[];
};

/* A chunk of len bytes copied from bytes, or left for the caller to fill
 * when bytes is NULL; refs = 1. Aborts on out-of-memory. */
struct ws_out *ws_out_new(const void *bytes, size_t len);

/* Takes a reference; returns o. */
static inline struct ws_out *
ws_out_ref(struct ws_out *o)
{
	o->refs++;
	return o;
}

/* Drops a reference; frees at zero. NULL is fine. */
void ws_out_unref(struct ws_out *o);

#endif
