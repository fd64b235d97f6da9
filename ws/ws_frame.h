/*
 * ws_frame — encodes server→client WebSocket frames (RFC 6455 §5.2: FIN
 * set, no mask) into ws_out chunks. Pure; the opcodes are in ws_proto.h.
 */
#ifndef GATECAST_WS_WS_FRAME_H
#define GATECAST_WS_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "ws/ws_out.h"
#include "ws/ws_proto.h"

/* Encodes one final frame with opcode (WS_OP_*) and payload (copied).
 * Returns a chunk with refs = 1; aborts on out-of-memory. */
struct ws_out *ws_frame_new(int opcode, const void *payload, size_t len);

/* A close frame with code and reason (truncated to fit 125 bytes; NULL =
 * none), as ws_frame_new. */
struct ws_out *ws_frame_new_close(uint16_t code, const char *reason);

#endif
