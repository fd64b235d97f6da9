/*
 * ws_fuzz — libFuzzer target for WebSocket input: the bytes one client sends
 * down one connection, through the real gateway/ws_server.c (the head reader,
 * ws_parser fed from socket reads, pongs and closes, the output queue, the
 * close handshake, the end-of-turn free).
 *
 * Each input is one connection: a socketpair is adopted by a server that
 * lives for the whole process (one event_base, as in the gateway), then the
 * client side sends a fixed valid upgrade request followed by the input —
 * or, when the input itself starts with "GET ", the input alone, so
 * oversized and broken heads reach ws_read_head too. The bytes go in two
 * halves (the loop runs until the first is consumed), so frames and heads
 * arrive split. Everything the server writes is read and dropped. Then the
 * client hangs up and the loop runs until the connection is gone and freed.
 *
 * The application echoes a message whose first byte is even (64 times when
 * that byte is 6 mod 8, to pass max_output and reach the slow-consumer
 * close), and closes the connection from inside on_message when the first
 * byte is 'C'. Limits are small (max_message 1K, max_output 16K) so inputs of
 * fuzzing size reach them.
 *
 * A plain request (an input like "GET /gatecast.js HTTP/1.1\r\nHost: x\r\n\r\n")
 * is answered from the compiled-in files (assets.h; the demo's when the
 * path starts with "/d"), or refused with 429 when it starts with "/x".
 *
 * Aborts — so libFuzzer keeps the input — when a connection outlives its
 * peer's EOF, on_close is not called exactly once per on_open, or
 * on_request_end exactly once per answered request.
 *
 * Not covered here: the accept path, the sweep's timeouts (they need
 * seconds of real time) and shutdown.
 */
#include <errno.h>
#include <event2/event.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/net.h"
#include "gateway/assets.h"
#include "ws/ws_frame.h"
#include "gateway/ws_server.h"
#include "http/http_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loop turns without progress before we give up on one phase. */
#define WS_FUZZ_STALL 200
/* Loop turns after the hang-up before a live connection is a bug. */
#define WS_FUZZ_AFTER_EOF 2000

static const char ws_fuzz_head[] = "GET /ws?uid=fuzz HTTP/1.1\r\n"
				   "Host: 127.0.0.1\r\n"
				   "Upgrade: websocket\r\n"
				   "Connection: Upgrade\r\n"
				   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				   "Sec-WebSocket-Version: 13\r\n"
				   "\r\n";

static struct event_base *ws_fuzz_base;
static struct config ws_fuzz_cfg;
static struct ws_server *ws_fuzz_srv;
static size_t ws_fuzz_opens, ws_fuzz_closes;
static size_t ws_fuzz_requests, ws_fuzz_request_ends;

static int
ws_fuzz_on_upgrade(void *arg, struct ws_conn *c, const struct ws_handshake *req)
{
	/* Refuse some upgrades so the refusal path is fuzzed too. */
	return req->path.n > 1 && req->path.p[1] == 'x' ? 403 : 0;
}

static void
ws_fuzz_on_open(void *arg, struct ws_conn *c, const struct ws_handshake *req)
{
	char uid[64];
	(void)http_query_param(req->query, "uid", uid, sizeof uid); /* as the gateway does */
	ws_set_user(c, &ws_fuzz_opens);
	ws_fuzz_opens++;
}

static void
ws_fuzz_on_message(void *arg, struct ws_conn *c, const void *data, size_t len, bool binary)
{
	const unsigned char *p = data;
	if (ws_user(c) != &ws_fuzz_opens)
		abort();
	if (len == 0)
		return;
	if (p[0] == 'C') {
		ws_close(c, WS_CLOSE_NORMAL, "closed by the application");
		return;
	}
	if (p[0] % 2 != 0)
		return;
	struct ws_out *f = ws_frame_new(binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
	int times = p[0] % 8 == 6 ? 64 : 1;
	for (int i = 0; i < times; i++)
		if (ws_send(c, f) < 0)
			break;
	ws_out_unref(f);
}

static void
ws_fuzz_on_close(void *arg, struct ws_conn *c, uint16_t code)
{
	if (ws_user(c) != &ws_fuzz_opens)
		abort();
	ws_set_user(c, NULL);
	ws_fuzz_closes++;
}

static int
ws_fuzz_on_request(void *arg, struct ws_conn *c, const struct ws_handshake *req, struct buf *out)
{
	if (req->path.n > 1 && req->path.p[1] == 'x')
		return 429;
	assets_respond(req, req->path.n > 1 && req->path.p[1] == 'd', out);
	ws_set_user(c, &ws_fuzz_requests);
	ws_fuzz_requests++;
	return 0;
}

static void
ws_fuzz_on_request_end(void *arg, struct ws_conn *c)
{
	if (ws_user(c) != &ws_fuzz_requests)
		abort();
	ws_set_user(c, NULL);
	ws_fuzz_request_ends++;
}

static const struct ws_ops ws_fuzz_ops = {
	.on_upgrade = ws_fuzz_on_upgrade,
	.on_open = ws_fuzz_on_open,
	.on_message = ws_fuzz_on_message,
	.on_close = ws_fuzz_on_close,
	.on_request = ws_fuzz_on_request,
	.on_request_end = ws_fuzz_on_request_end,
};

static void
ws_fuzz_teardown(void)
{
	ws_server_free(ws_fuzz_srv);
	ws_fuzz_srv = NULL;
	config_fini(&ws_fuzz_cfg);
	event_base_free(ws_fuzz_base);
	ws_fuzz_base = NULL;
}

static void
ws_fuzz_setup(void)
{
	signal(SIGPIPE, SIG_IGN); /* the server writes to hung-up peers */
	log_init("ws_fuzz", LOG_ERROR, NULL);
	ws_fuzz_base = event_base_new();
	if (ws_fuzz_base == NULL)
		abort();
	config_defaults(&ws_fuzz_cfg);
	ws_fuzz_cfg.gateway_max_message = 1024;
	ws_fuzz_cfg.gateway_max_output = 16 * 1024;
	int lfd = net_listen("127.0.0.1:0", 16);
	if (lfd < 0)
		abort();
	ws_fuzz_srv = ws_server_new(ws_fuzz_base, &ws_fuzz_cfg, lfd, &ws_fuzz_ops, NULL);
	atexit(ws_fuzz_teardown);
}

/* Bytes the server has not read yet (AF_UNIX counts them on the sender). */
static int
ws_fuzz_unread(int fd)
{
	int n = 0;
	if (ioctl(fd, SIOCOUTQ, &n) < 0)
		abort();
	return n;
}

/* Writes what the socket takes of [*p, end); reads and drops what the
 * server wrote. Returns whether anything moved; sets *eof on hang-up. */
static bool
ws_fuzz_io(int fd, const uint8_t **p, const uint8_t *end, bool *eof)
{
	bool moved = false;
	while (*p < end) {
		ssize_t w = send(fd, *p, (size_t)(end - *p), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			*p += w;
			moved = true;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			*eof = true; /* EPIPE: the server closed */
		break;
	}
	for (;;) {
		char sink[16384];
		ssize_t r = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
		if (r > 0) {
			moved = true;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			*eof = true;
		break;
	}
	return moved;
}

/* Sends [p, end) and runs the loop until the server has read it all, has
 * closed, or stalls. */
static void
ws_fuzz_deliver(int fd, const uint8_t *p, const uint8_t *end, bool *eof)
{
	int stall = 0, unread = ws_fuzz_unread(fd);
	while (!*eof && stall < WS_FUZZ_STALL) {
		bool moved = ws_fuzz_io(fd, &p, end, eof);
		event_base_loop(ws_fuzz_base, EVLOOP_NONBLOCK);
		int now = ws_fuzz_unread(fd);
		moved = moved || now < unread;
		unread = now;
		if (p == end && unread == 0) {
			/* One more turn lets the server answer the last bytes. */
			event_base_loop(ws_fuzz_base, EVLOOP_NONBLOCK);
			ws_fuzz_io(fd, &p, end, eof);
			return;
		}
		stall = moved ? 0 : stall + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd[2];
	bool eof = false;

	if (ws_fuzz_base == NULL)
		ws_fuzz_setup();
	size_t opens = ws_fuzz_opens;

	/* The connection's whole byte stream: head (unless the input brings
	 * its own) and input. */
	bool raw = size >= 4 && memcmp(data, "GET ", 4) == 0;
	size_t hl = raw ? 0 : sizeof ws_fuzz_head - 1;
	uint8_t *stream = malloc(hl + size + 1);
	if (stream == NULL)
		abort();
	memcpy(stream, ws_fuzz_head, hl);
	if (size)
		memcpy(stream + hl, data, size);
	size_t total = hl + size;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) < 0 || net_nonblock(fd[0]) != 0)
		abort();
	if (ws_server_adopt(ws_fuzz_srv, fd[0]) != 0)
		abort();

	size_t half = hl + size / 2;
	ws_fuzz_deliver(fd[1], stream, stream + half, &eof);
	ws_fuzz_deliver(fd[1], stream + half, stream + total, &eof);
	free(stream);

	close(fd[1]);
	int turns = 0;
	while (ws_server_count(ws_fuzz_srv) > 0 && turns++ < WS_FUZZ_AFTER_EOF)
		event_base_loop(ws_fuzz_base, EVLOOP_NONBLOCK);
	if (ws_server_count(ws_fuzz_srv) != 0) {
		fprintf(stderr, "ws_fuzz: the connection outlived its peer's EOF\n");
		abort();
	}
	/* The dead connection is freed at the end of a loop turn. */
	for (turns = 0; turns < 16; turns++) {
		if (event_base_get_num_events(ws_fuzz_base, EVENT_BASE_COUNT_ACTIVE) == 0)
			break;
		event_base_loop(ws_fuzz_base, EVLOOP_NONBLOCK);
	}

	if (ws_fuzz_opens - opens > 1 || ws_fuzz_closes != ws_fuzz_opens) {
		fprintf(stderr, "ws_fuzz: %zu opens, %zu closes\n", ws_fuzz_opens, ws_fuzz_closes);
		abort();
	}
	if (ws_fuzz_request_ends != ws_fuzz_requests) {
		fprintf(stderr, "ws_fuzz: %zu requests answered, %zu ended\n", ws_fuzz_requests,
			ws_fuzz_request_ends);
		abort();
	}
	return 0;
}
