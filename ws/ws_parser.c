/*
 * ws_parser — see ws_parser.h. Header bytes are gathered one by one (a
 * header is at most 14 bytes) and checked as soon as each rule can be
 * decided: the first two bytes settle RSV, opcode, mask and control-frame
 * rules; the length settles 1009 before any payload arrives.
 */
#include "ws/ws_parser.h"

#include <stdlib.h>

#include "common/utf8.h"
#include "common/xmalloc.h"
#include "ws/ws_proto.h"


void
ws_parser_init(struct ws_parser *p, uint64_t max_message)
{
	*p = (struct ws_parser){0};
	p->max_message = max_message > UINT32_MAX ? UINT32_MAX : (uint32_t)max_message;
}

/* The buffer *b, made on first use. */
static struct buf *
ws_parser_buf(struct buf **b)
{
	if (*b == NULL) {
		*b = xmalloc(sizeof **b);
		buf_init(*b);
	}
	return *b;
}

static void
ws_parser_drop(struct buf **b)
{
	if (*b != NULL) {
		buf_fini(*b);
		free(*b);
		*b = NULL;
	}
}

void
ws_parser_fini(struct ws_parser *p)
{
	ws_parser_drop(&p->msg);
	ws_parser_drop(&p->ctrl);
}

bool
ws_parser_close_code_valid(uint16_t code)
{
	/* §7.4.1 defines 1000–1003 and 1007–1011; 1012–1014 were registered
	 * with IANA since; 1004–1006 and 1015 must never be sent; 3000–4999
	 * belong to libraries and applications. */
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
		(code >= 3000 && code <= 4999);
}

static uint16_t
ws_parser_fail(struct ws_parser *p, uint16_t code)
{
	p->failed = code;
	return code;
}

static size_t
ws_parser_header_size(const struct ws_parser *p)
{
	uint8_t len7 = p->hdr[1] & 0x7f;
	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* The rules the first two bytes decide (§5.2, §5.4, §5.5). */
static uint16_t
ws_parser_check_start(const struct ws_parser *p)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1], op = b0 & 0x0f;
	if (b0 & 0x70)
		return WS_CLOSE_PROTOCOL; /* RSV without a negotiated extension */
	if (!(b1 & 0x80))
		return WS_CLOSE_PROTOCOL; /* clients must mask (§5.1) */
	switch (op) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!(b0 & 0x80) || (b1 & 0x7f) > 125)
			return WS_CLOSE_PROTOCOL;
		return 0;
	case WS_OP_CONT:
		return p->msg_opcode == 0 ? WS_CLOSE_PROTOCOL : 0;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		return p->msg_opcode != 0 ? WS_CLOSE_PROTOCOL : 0;
	default:
		return WS_CLOSE_PROTOCOL; /* reserved opcode */
	}
}

static uint16_t
ws_parser_header_done(struct ws_parser *p)
{
	uint8_t len7 = p->hdr[1] & 0x7f;
	uint64_t len = len7;
	size_t at = 2;
	if (len7 == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		at = 4;
	} else if (len7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p->hdr[2 + i];
		if (len >> 63)
			return WS_CLOSE_PROTOCOL;
		at = 10;
	}
	for (int i = 0; i < 4; i++)
		p->mask[i] = p->hdr[at + i];
	p->opcode = p->hdr[0] & 0x0f;
	p->fin = p->hdr[0] >> 7;
	p->frame_off = 0;
	p->hdr_len = 0;
	p->in_payload = 1;
	if (p->opcode & 0x8) {
		p->remaining = (uint32_t)len; /* <= 125: ws_parser_check_start */
		if (p->ctrl != NULL)
			buf_reset(p->ctrl);
		return 0;
	}
	if (p->opcode != WS_OP_CONT) {
		p->msg_opcode = p->opcode;
		p->msg_len = 0;
		p->utf8 = UTF8_ACCEPT;
		p->delivered = 0;
	}
	/* Too big is known from the header: say so before buffering any of it. */
	if (len > p->max_message || (uint64_t)p->msg_len + len > p->max_message)
		return WS_CLOSE_TOO_BIG;
	p->remaining = (uint32_t)len;
	return 0;
}

static uint16_t
ws_parser_payload(struct ws_parser *p, uint8_t *chunk, size_t n,
	const struct ws_parser_ops *ops, void *arg)
{
	for (size_t k = 0; k < n; k++)
		chunk[k] ^= p->mask[(p->frame_off + k) & 3];
	if (p->opcode & 0x8) {
		buf_append(ws_parser_buf(&p->ctrl), chunk, n);
		return 0;
	}
	if (p->msg_opcode == WS_OP_TEXT) {
		p->utf8 = utf8_feed(p->utf8, chunk, n);
		if (p->utf8 == UTF8_REJECT)
			return WS_CLOSE_BAD_DATA; /* at the first bad byte (§8.1) */
	}
	if (p->fin && p->frame_off == 0 && n == p->remaining && p->msg_len == 0) {
		/* A whole single-frame message in this feed: no copy. */
		if (p->msg_opcode == WS_OP_TEXT && p->utf8 != UTF8_ACCEPT)
			return WS_CLOSE_BAD_DATA;
		p->delivered = 1;
		ops->on_message(arg, chunk, n, p->msg_opcode == WS_OP_BINARY);
	} else {
		buf_append(ws_parser_buf(&p->msg), chunk, n);
	}
	p->msg_len += (uint32_t)n;
	return 0;
}

static uint16_t
ws_parser_frame_end(struct ws_parser *p, const struct ws_parser_ops *ops, void *arg)
{
	static const uint8_t empty[1];
	p->in_payload = 0;
	if (p->opcode & 0x8) {
		size_t n = p->ctrl != NULL ? p->ctrl->len : 0;
		const uint8_t *d = n ? (const uint8_t *)p->ctrl->p : empty;
		uint16_t rc = 0;
		if (p->opcode == WS_OP_PING) {
			ops->on_ping(arg, d, n);
		} else if (p->opcode == WS_OP_PONG) {
			ops->on_pong(arg, d, n);
		} else if (n == 1) {
			rc = WS_CLOSE_PROTOCOL; /* §5.5.1: a code is two bytes */
		} else {
			uint16_t code = n ? (uint16_t)(d[0] << 8 | d[1]) : 0;
			if (n && !ws_parser_close_code_valid(code))
				rc = WS_CLOSE_PROTOCOL;
			else if (n > 2 && !utf8_valid(d + 2, n - 2))
				rc = WS_CLOSE_BAD_DATA;
			else {
				p->closed = 1;
				ops->on_close(arg, code, n > 2 ? d + 2 : empty, n > 2 ? n - 2 : 0);
			}
		}
		ws_parser_drop(&p->ctrl);
		return rc;
	}
	if (!p->fin)
		return 0;
	if (p->msg_opcode == WS_OP_TEXT && p->utf8 != UTF8_ACCEPT)
		return WS_CLOSE_BAD_DATA; /* ends inside a sequence */
	if (!p->delivered) {
		size_t n = p->msg != NULL ? p->msg->len : 0;
		ops->on_message(arg, n ? (const uint8_t *)p->msg->p : empty, n,
			p->msg_opcode == WS_OP_BINARY);
	}
	p->msg_opcode = 0;
	p->msg_len = 0;
	ws_parser_drop(&p->msg); /* idle connections hold no message buffer */
	return 0;
}

uint16_t
ws_parser_feed(struct ws_parser *p, uint8_t *data, size_t len, const struct ws_parser_ops *ops,
	void *arg)
{
	size_t i = 0;
	uint16_t rc;
	if (p->failed)
		return p->failed;
	while (i < len && !p->closed) {
		if (!p->in_payload) {
			p->hdr[p->hdr_len++] = data[i++];
			if (p->hdr_len == 2 && (rc = ws_parser_check_start(p)) != 0)
				return ws_parser_fail(p, rc);
			if (p->hdr_len < 2 || p->hdr_len < ws_parser_header_size(p))
				continue;
			if ((rc = ws_parser_header_done(p)) != 0)
				return ws_parser_fail(p, rc);
		} else {
			size_t n = len - i;
			if (n > p->remaining)
				n = (size_t)p->remaining;
			rc = ws_parser_payload(p, data + i, n, ops, arg);
			if (rc != 0)
				return ws_parser_fail(p, rc);
			i += n;
			p->remaining -= (uint32_t)n;
			p->frame_off += (uint32_t)n;
		}
		if (p->in_payload && p->remaining == 0 &&
			(rc = ws_parser_frame_end(p, ops, arg)) != 0)
			return ws_parser_fail(p, rc);
	}
	return 0;
}
