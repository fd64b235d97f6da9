/*
 * ws_server — the gateway's WebSocket side: the listener, the HTTP upgrade
 * (heads parsed by http/http1.h, judged by ws/ws_handshake.h), input
 * through ws_parser (framing, fragmentation, control frames — RFC 6455 §5),
 * the close handshake (§7), and an output queue of shared frames per
 * connection, written with one writev per connection per loop turn.
 *
 * No per-connection timers: connections live on lists ordered by their last
 * activity (handshaking, active, pinged, closing) and one sweep walks the
 * heads — ping after ping_interval of silence, close after idle_timeout,
 * drop a head not completed within handshake_timeout (slowloris).
 *
 * Closing is a request: the close handshake runs, the application's on_close
 * is called exactly once (when the connection stops being usable), and the
 * memory is freed later from the loop, never under a caller's feet.
 *
 * A plain HTTP GET or HEAD on the same port (static files, ws_handshake.h)
 * gets one response from on_request and the connection ends: the response
 * is written, our side shut down, and the socket closed when the peer has
 * read it and closed too — all within handshake_timeout of the response,
 * like a handshake (slowloris), and counted among the connections.
 *
 * A POST is read only when the application asks for them (on_post): its
 * head and a Content-Length body of at most WS_MAX_BODY bytes, within
 * handshake_timeout. Its answer may come later (WS_PENDING, then
 * ws_answer): until then the connection waits on the handshake list,
 * restamped, so an answer that never comes ends it at handshake_timeout.
 * Then it ends like any plain request.
 *
 * This module knows nothing of uids, groups or workers.
 */
#ifndef GATECAST_GATEWAY_WS_SERVER_H
#define GATECAST_GATEWAY_WS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws/ws_frame.h"
#include "ws/ws_handshake.h"

struct buf;
struct config;
struct event_base;
struct ws_server;
struct ws_conn;

/* The RFC 6455 close codes are in ws/ws_proto.h; slow readers get
 * WS_CLOSE_POLICY (1008) with reason "slow consumer". */
/* Application codes (RFC 6455 §7.4.2: 4000–4999 are ours). */
#define WS_CLOSE_UNAUTHORIZED 4001   /* bad token, or no login in time */
#define WS_CLOSE_TOO_MANY_TABS 4008  /* gateway.max_connections_per_uid: oldest closed */

/* A POST's body is at most this long; a longer one gets 413. */
#define WS_MAX_BODY 4096
/* on_post: the answer comes later, through ws_answer. */
#define WS_PENDING (-1)

/* A POST, for on_post. Spans point into the request (borrowed for the
 * call); n == 0 when a header is absent. */
struct ws_post {
	struct http_span path, query;
	struct http_span content_type, origin, forwarded_for;
	const char *body;
	size_t body_len;
};

struct ws_ops {
	/* A valid upgrade request, before the 101: return 0 to accept or an
	 * HTTP status (401, 403, 429, 503) to refuse — the client then gets
	 * that response and never becomes a WebSocket. req is borrowed for the
	 * call. Whatever the callee attached with ws_set_user is its own to
	 * free when it refuses. */
	int (*on_upgrade)(void *arg, struct ws_conn *c, const struct ws_handshake *req);
	/* The 101 was queued; the connection is open. req borrowed. */
	void (*on_open)(void *arg, struct ws_conn *c, const struct ws_handshake *req);
	/* A complete text (valid UTF-8) or binary message; data borrowed. */
	void (*on_message)(void *arg, struct ws_conn *c, const void *data, size_t len, bool binary);
	/* Called once when an opened connection ends; c is still valid during the
	 * call, freed afterwards. code is the close code received, or 1006. */
	void (*on_close)(void *arg, struct ws_conn *c, uint16_t code);
	/* A plain HTTP request (no upgrade asked for). Append the complete
	 * response to out and return 0, or return an HTTP status (429, 503)
	 * for the standard refusal. req is borrowed for the call. Whatever the
	 * callee attached with ws_set_user is its own to free in
	 * on_request_end, which follows exactly once when it returned 0. */
	int (*on_request)(void *arg, struct ws_conn *c, const struct ws_handshake *req,
		struct buf *out);
	/* The connection on_request answered has ended; c is still valid. */
	void (*on_request_end)(void *arg, struct ws_conn *c);
	/* A POST (NULL: POSTs get 405 like every method but GET and HEAD),
	 * once its head and body are in. A malformed head, a chunked body or
	 * one over WS_MAX_BODY is answered here with 400, 411, 413, 431 or
	 * 505 and a JSON error body, without on_post. Returns as on_request,
	 * or WS_PENDING: the complete response follows through ws_answer.
	 * on_request_end follows exactly once either way (0 or WS_PENDING);
	 * after it, ws_answer must not be called. req is borrowed. */
	int (*on_post)(void *arg, struct ws_conn *c, const struct ws_post *req, struct buf *out);
};

/* Push→write latency (gatecast_push_write_seconds): for each connection a
 * frame from a push (ws_out.pushed_us != 0) is written to, the time from the
 * push reaching a gateway to the frame's last byte going to the kernel,
 * measured when the writev that completes the frame returns. The start is
 * another process's wall clock when the push came in elsewhere: clock skew
 * between hosts shows up here, and a negative latency counts as 0. Bounds
 * are upper bounds in µs, ascending, from 50 µs to 5 s. */
#define WS_PUSH_WRITE_BUCKETS 16
extern const uint64_t ws_push_write_bounds_us[WS_PUSH_WRITE_BUCKETS];

struct ws_stats {
	uint64_t accepted, opened, closed, refused_handshake, refused_full;
	uint64_t closed_idle, closed_slow, closed_protocol, closed_too_big;
	uint64_t frames_out, bytes_out, messages_in;
	uint64_t bytes_in; /* read from WebSocket sockets, upgrade heads included */
	uint64_t plain_requests; /* plain HTTP requests answered (on_request) */
	/* push_write[i] counts latencies > bound i-1 and <= bound i (NOT
	 * cumulative); push_write[WS_PUSH_WRITE_BUCKETS] those over the last
	 * bound. push_write_count is their total, push_write_sum_us their sum. */
	uint64_t push_write[WS_PUSH_WRITE_BUCKETS + 1];
	uint64_t push_write_count, push_write_sum_us;
};

/* Listens on the bound socket fd (takes ownership). c and ops are borrowed
 * for the life of the server. */
struct ws_server *ws_server_new(struct event_base *base, const struct config *c, int fd,
	const struct ws_ops *ops, void *arg);
/* Closes every connection abruptly and frees. NULL is fine. */
void ws_server_free(struct ws_server *s);
/* Takes a connected, non-blocking socket (ownership passes, even on
 * failure) as if it had been accepted: for tests and fuzzing. Returns 0 or
 * -EMFILE when the server is full. */
int ws_server_adopt(struct ws_server *s, int fd);
/* Stops accepting; starts the close handshake (code) on every connection. */
void ws_server_shutdown(struct ws_server *s, uint16_t code, const char *reason);
/* Open + closing connections. */
size_t ws_server_count(const struct ws_server *s);
const struct ws_stats *ws_server_stats(const struct ws_server *s);

/* Queues f (a reference is taken) to c. Returns 0, -EPIPE when c is closing,
 * or -ENOBUFS when the output bound was passed: then c is being closed as a
 * slow consumer. */
int ws_send(struct ws_conn *c, struct ws_out *f);
/* Starts the close handshake with code and reason (≤ 123 bytes). */
void ws_close(struct ws_conn *c, uint16_t code, const char *reason);

/* The answer to a POST that on_post left pending: data (len bytes, a whole
 * HTTP response; copied) is written, then the connection ends as after
 * on_request. Returns 0, or -EPIPE when c waits for no answer (already
 * answered, or not a pending POST). */
int ws_answer(struct ws_conn *c, const void *data, size_t len);

/* True while the connection is open (not closing or closed). */
bool ws_is_open(const struct ws_conn *c);
/* The application's pointer for this connection. */
void ws_set_user(struct ws_conn *c, void *user);
void *ws_user(const struct ws_conn *c);
/* The peer's IP address as text into out (size n); "" when unknown.
 * Returns out. */
const char *ws_peer_ip(const struct ws_conn *c, char *out, size_t n);

#endif
