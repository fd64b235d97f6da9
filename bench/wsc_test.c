/* wsc_test — the client codec against RFC 6455's own examples. */
#include "bench/wsc.h"
#include "tests/tap.h"

#include <errno.h>

int
main(void)
{
	char accept[29];
	wsc_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept);
	tap_eq_str(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "the accept of §1.3's sample key");

	char req[512];
	int n = wsc_request(req, sizeof(req), "127.0.0.1:7272", "/?uid=7", "dGhlIHNhbXBsZSBub25jZQ==");
	tap_ok(n > 0 && strncmp(req, "GET /?uid=7 HTTP/1.1\r\n", 22) == 0, "the request line names the path");
	tap_eq_int(wsc_request(req, 20, "h", "/", "dGhlIHNhbXBsZSBub25jZQ=="), -ENOSPC, "a short buffer is refused");

	const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
	int st;
	tap_eq_int(wsc_response(ok, sizeof(ok) - 1, accept, &st), sizeof(ok) - 1 - 4,
		"a 101 with the right accept is taken, frames after it are left");
	tap_eq_int(wsc_response(ok, 40, accept, &st), 0, "half a head asks for more");
	const char bad[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		"Sec-WebSocket-Accept: xxxxLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	tap_eq_int(wsc_response(bad, sizeof(bad) - 1, accept, &st), -EPROTO, "a wrong accept is refused");
	const char e401[] = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
	tap_eq_int(wsc_response(e401, sizeof(e401) - 1, accept, &st), -EPROTO, "a 401 is refused");
	tap_eq_int(st, 401, "and its status is told");

	/* §5.7: a masked "Hello" with mask 37 fa 21 3d. */
	uint8_t fr[64];
	size_t fl = wsc_frame(fr, sizeof(fr), WSC_TEXT, "Hello", 5, 0x37fa213d);
	const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	tap_eq_mem(fr, fl, want, sizeof(want), "a masked text frame matches §5.7");
	tap_eq_int(wsc_frame(fr, 10, WSC_TEXT, "Hello", 5, 1), 0, "a frame that does not fit is refused");
	uint8_t big[300];
	fl = wsc_frame(big, sizeof(big), WSC_BINARY, big + 100, 126, 0);
	tap_ok(fl == 126 + 8 && big[1] == (0x80 | 126) && big[2] == 0 && big[3] == 126,
		"126 bytes take the 16-bit length");

	struct wsc_frame f;
	const uint8_t hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o', 0x89};
	tap_eq_int(wsc_parse(hello, sizeof(hello), 1024, &f), 7, "an unmasked frame is parsed");
	tap_ok(f.opcode == WSC_TEXT && f.fin && f.len == 5 && memcmp(f.payload, "Hello", 5) == 0,
		"with its opcode, fin and payload");
	tap_eq_int(wsc_parse(hello, 4, 1024, &f), 0, "a partial frame asks for more");
	tap_eq_int(wsc_parse(want, sizeof(want), 1024, &f), -EPROTO, "a masked server frame is refused");
	const uint8_t long16[] = {0x82, 126, 0x01, 0x00};
	tap_eq_int(wsc_parse(long16, sizeof(long16), 100, &f), -E2BIG, "a frame over max is refused");
	tap_eq_int(wsc_parse(long16, sizeof(long16), 1000, &f), 0, "a 256-byte frame waits for its payload");
	return tap_done();
}
