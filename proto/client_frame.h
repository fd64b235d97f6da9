/*
 * client_frame — the frames gatecast itself sends to a browser, as JSON
 * text: today the error frame {"type":"error","error":code,"message":…},
 * which the gateway (refusals at the door, login, joins it checks) and the
 * built-in app in the worker (bad messages) both send.
 *
 * Here in proto/ because both programs build it and proto is the layer of
 * what gatecast says on the wire (msgpack between its processes, and these
 * few frames to browsers); common/json_out is only the generic writer. It
 * does not send anything nor wrap the text in a WebSocket frame.
 */
#ifndef GATECAST_PROTO_CLIENT_FRAME_H
#define GATECAST_PROTO_CLIENT_FRAME_H

#include "common/buf.h"

/* Appends {"type":"error","error":code,"message":message} to out, both
 * strings (borrowed, NUL-terminated; NULL is written as "") escaped by
 * json_out_str, so any bytes give valid JSON. */
void client_frame_error(struct buf *out, const char *code, const char *message);

#endif
