/*
 * wsc — see wsc.h.
 */
#include "bench/wsc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/sha1.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
base64_20(const unsigned char in[20], char out[29])
{
	size_t o = 0;
	for (size_t i = 0; i < 18; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	unsigned v = (unsigned)in[18] << 16 | (unsigned)in[19] << 8;
	out[o++] = b64[v >> 18 & 63];
	out[o++] = b64[v >> 12 & 63];
	out[o++] = b64[v >> 6 & 63];
	out[o++] = '=';
	out[o] = '\0';
}

void
wsc_accept_for(const char key[24], char accept[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char in[24 + sizeof(guid) - 1], sum[20];
	memcpy(in, key, 24);
	memcpy(in + 24, guid, sizeof(guid) - 1);
	mbedtls_sha1_ret(in, sizeof(in), sum);
	base64_20(sum, accept);
}

int
wsc_request(char *out, size_t cap, const char *host, const char *path, const char key[24])
{
	int n = snprintf(out, cap,
		"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: %.24s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		path, host, key);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* The value of header name in the head [p, end), trimmed; NULL if absent. */
static const char *
header_value(const char *p, const char *end, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *line = memchr(p, '\n', (size_t)(end - p));
	while (line != NULL && line + 1 < end) {
		line++;
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			break;
		if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
			strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		line = eol;
	}
	return NULL;
}

int
wsc_response(const char *buf, size_t len, const char accept[29], int *status)
{
	*status = 0;
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return len > 8192 ? -E2BIG : 0;
	end += 4;
	if (end - buf < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
		return -EPROTO;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (*status != 101)
		return -EPROTO;
	size_t vlen;
	const char *v = header_value(buf, end, "Sec-WebSocket-Accept", &vlen);
	if (v == NULL || vlen != 28 || memcmp(v, accept, 28) != 0)
		return -EPROTO;
	v = header_value(buf, end, "Upgrade", &vlen);
	if (v == NULL || vlen != 9 || strncasecmp(v, "websocket", 9) != 0)
		return -EPROTO;
	return (int)(end - buf);
}

size_t
wsc_frame(uint8_t *out, size_t cap, int opcode, const void *payload, size_t len, uint32_t mask)
{
	if (cap < len + WSC_MAX_HEADER)
		return 0;
	size_t h = 0;
	out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[h++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	uint8_t m[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
		(uint8_t)mask};
	memcpy(out + h, m, 4);
	h += 4;
	const uint8_t *p = payload;
	for (size_t i = 0; i < len; i++)
		out[h + i] = p[i] ^ m[i & 3];
	return h + len;
}

int
wsc_parse(const uint8_t *buf, size_t len, size_t max, struct wsc_frame *f)
{
	if (len < 2)
		return 0;
	if (buf[0] & 0x70 || buf[1] & 0x80)
		return -EPROTO;
	uint64_t plen = buf[1] & 0x7f;
	size_t h = 2;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		h = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		if (buf[2] & 0x80)
			return -EPROTO;
		plen = 0;
		for (int i = 2; i < 10; i++)
			plen = plen << 8 | buf[i];
		h = 10;
	}
	if (plen > max)
		return -E2BIG;
	if (len - h < plen)
		return 0;
	f->opcode = buf[0] & 0x0f;
	f->fin = buf[0] & 0x80;
	f->payload = buf + h;
	f->len = (size_t)plen;
	return (int)(h + plen);
}
