/*
 * wsc — the client side of RFC 6455, as little as a load generator needs:
 * the upgrade request and the check of its 101 answer (§4.1), masked
 * client frames (§5.3), and the parse of unmasked server frames (§5.2).
 * Pure: bytes in, bytes out; no sockets, no allocation.
 *
 * It does not negotiate extensions or subprotocols, and it does not
 * assemble fragmented messages: each frame is handed over as it is, and
 * the caller decides what a continuation means to it.
 */
#ifndef GATECAST_BENCH_WSC_H
#define GATECAST_BENCH_WSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSC_TEXT 0x1
#define WSC_BINARY 0x2
#define WSC_CLOSE 0x8
#define WSC_PING 0x9
#define WSC_PONG 0xa

/* The largest header of a masked client frame: 2 + 8 + 4. */
#define WSC_MAX_HEADER 14

/* The key this process sends and the Sec-WebSocket-Accept it expects
 * (§4.2.2: base64 of SHA-1 of key + GUID). key is 24 base64 characters
 * (16 random bytes); accept receives 28 characters and a NUL. */
void wsc_accept_for(const char key[24], char accept[29]);

/*
 * Writes a GET upgrade request for path with Host host and key into out.
 * Returns its length, or -ENOSPC when cap is too small. All borrowed.
 */
int wsc_request(char *out, size_t cap, const char *host, const char *path, const char key[24]);

/*
 * Looks at the start of a response. Returns the length of the complete
 * head (through the blank line) when it is a 101 with Upgrade: websocket
 * and the expected Sec-WebSocket-Accept; 0 when the head is not complete
 * yet; -EPROTO for any other status (*status holds it) or a missing or
 * wrong Accept (*status 101); -E2BIG when no blank line came within
 * 8 KiB. Borrowed.
 */
int wsc_response(const char *buf, size_t len, const char accept[29], int *status);

/*
 * Encodes one final frame with opcode and payload, masked with mask, into
 * out. Returns the length, or 0 when cap < len + WSC_MAX_HEADER. Borrowed.
 */
size_t wsc_frame(uint8_t *out, size_t cap, int opcode, const void *payload, size_t len,
	uint32_t mask);

struct wsc_frame {
	uint8_t opcode;
	bool fin;
	const uint8_t *payload;  /* points into the parsed buffer */
	size_t len;
};

/*
 * Parses one server frame at the start of buf. Returns the bytes it takes
 * (> 0) and fills *f; 0 when the frame is not complete yet; -EPROTO for a
 * masked frame, RSV bits or a 64-bit length with its top bit set; -E2BIG
 * for a payload over max. Borrowed.
 */
int wsc_parse(const uint8_t *buf, size_t len, size_t max, struct wsc_frame *f);

#endif
