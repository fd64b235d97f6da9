/*
 * frame — an encoded server→client WebSocket frame (RFC 6455 §5.2: FIN set,
 * no mask), reference counted so one broadcast frame is built once per
 * gateway and queued to every connection without copying.
 */
#ifndef GATECAST_WS_FRAME_H
#define GATECAST_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct frame {
	uint32_t refs;
	uint32_t len;          /* bytes in data: header + payload */
	uint64_t pushed_us;    /* wall clock (unix µs) when the push that made
	                        * this frame reached a gateway (proto_op's
	                        * pushed_us); 0 = not from a push. ws measures
	                        * push→write latency from it. 0 after frame_new*. */
	unsigned char data[];
};

#define FRAME_TEXT 0x1
#define FRAME_BINARY 0x2
#define FRAME_CLOSE 0x8
#define FRAME_PING 0x9
#define FRAME_PONG 0xa

/* Encodes one final frame with opcode and payload (copied). refs = 1. */
struct frame *frame_new(int opcode, const void *payload, size_t len);
/* A frame holding bytes already encoded (copied). refs = 1. */
struct frame *frame_new_raw(const void *bytes, size_t len);
/* A close frame with code and reason (reason truncated to fit 125 bytes). */
struct frame *frame_new_close(uint16_t code, const char *reason);

static inline struct frame *
frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

/* Drops a reference; frees at zero. NULL is fine. */
void frame_unref(struct frame *f);

#endif
