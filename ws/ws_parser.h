/*
 * ws_parser — the server side of RFC 6455 §5 input: frames from a client,
 * checked to the letter, assembled into messages. Pure: bytes in,
 * callbacks out; no sockets, no output (the caller answers pings and
 * closes), so it is unit-tested and fuzzed directly.
 *
 * What it enforces, failing with the close code the caller must send:
 *   1002  RSV bits set (no extension is negotiated), reserved opcodes, an
 *         unmasked frame (§5.1), a control frame that is fragmented or longer
 *         than 125 bytes (§5.5), a 64-bit length with its top bit set
 *         (§5.2), a continuation without a message or a new message inside
 *         one (§5.4), a close body of 1 byte or with an invalid code (§7.4)
 *   1007  invalid UTF-8 in a text message or close reason (§8.1) — found
 *         at the first bad byte, also across frames and reads
 *   1009  a message longer than max_message — found from the frame header,
 *         before any of its payload is buffered
 * After a failure or a received close the parser takes no more input.
 *
 * Memory: nothing is allocated for a message that arrives whole in one
 * feed (it is delivered in place); only fragmented or split messages are
 * assembled in a buffer, at most max_message bytes.
 */
#ifndef GATECAST_WS_WS_PARSER_H
#define GATECAST_WS_WS_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct ws_parser_ops {
	/* A complete text (valid UTF-8) or binary message; data borrowed. */
	void (*on_message)(void *arg, const uint8_t *data, size_t len, bool binary);
	/* A ping; the caller answers with a pong carrying the same payload. */
	void (*on_ping)(void *arg, const uint8_t *data, size_t len);
	/* A pong (solicited or not). */
	void (*on_pong)(void *arg, const uint8_t *data, size_t len);
	/* A valid close: code 0 when the body was empty (RFC: 1005 "no status
	 * received"); reason borrowed, valid UTF-8. */
	void (*on_close)(void *arg, uint16_t code, const uint8_t *reason, size_t len);
};

struct ws_parser {
	/* Lengths fit 32 bits: a data frame or message longer than max_message
	 * (at most 256 MiB, config.c) fails at its header, a control frame
	 * carries at most 125 bytes. */
	uint32_t max_message;
	uint32_t remaining;  /* payload bytes left in the current frame */
	uint32_t frame_off;  /* payload bytes of the current frame already seen */
	uint32_t msg_len;    /* bytes of the data message so far */
	/* Allocated only while needed (an idle connection holds neither): */
	struct buf *msg;     /* a data message being assembled across feeds */
	struct buf *ctrl;    /* a control frame's payload split across feeds */
	uint32_t utf8;       /* UTF-8 state of the text message so far */
	uint16_t failed;     /* the close code once failed; sticky */
	uint8_t hdr[14];
	uint8_t hdr_len;
	uint8_t in_payload;  /* header done, reading the payload */
	uint8_t opcode;      /* of the current frame */
	uint8_t fin;
	uint8_t msg_opcode;  /* 1 text / 2 binary while a message is open, else 0 */
	uint8_t closed;      /* a close frame was received */
	uint8_t delivered;   /* the current message went out in place */
	uint8_t mask[4];
};

void ws_parser_init(struct ws_parser *p, uint64_t max_message);
void ws_parser_fini(struct ws_parser *p);

/* Feeds len bytes (unmasked in place: data is modified). Calls ops for what
 * completes. Returns 0, or the close code (1002, 1007, 1009) to fail the
 * connection with. Once it failed or a close arrived, further input is
 * ignored (and the failure code returned again). */
uint16_t ws_parser_feed(struct ws_parser *p, uint8_t *data, size_t len,
	const struct ws_parser_ops *ops, void *arg);

/* RFC 6455 §7.4: may a peer send this code in a close frame? */
bool ws_parser_close_code_valid(uint16_t code);

#endif
