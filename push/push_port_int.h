/*
 * push_port_int — what push_port.c and push_http.c share; included by those
 * two files only. push_port.c owns the port: listening sockets, the ring of
 * requests in flight, connection lifetime and I/O, and the JSON-lines
 * framing. push_http.c is the HTTP framing of a connection: it turns
 * requests read into c->in into entries of the same FIFO, and writes the
 * HTTP form of their answers. The ring's slots stay private to push_port.c.
 */
#ifndef GATECAST_PUSH_PUSH_PORT_INT_H
#define GATECAST_PUSH_PUSH_PORT_INT_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ring.h"
#include "push/push_cmd.h"
#include "push/push_port.h"

struct pp_slot;

/* How an answer is written: a push line as it is, or part of an HTTP
 * response. */
enum pp_frame_kind {
	PP_LINE = 0,    /* the reply line */
	PP_HTTP_RAW,    /* line is a whole HTTP response already */
	PP_HTTP_JSON,   /* POST /api/<command>: the reply as the body */
	PP_HTTP_BATCH,  /* POST /api/batch: one element of the array */
	PP_HTTP_WMS,    /* web-msg-sender's publish: "ok", "offline" or "fail" */
};

struct pp_frame {
	uint8_t kind;
	bool first, last; /* PP_HTTP_BATCH: the request's first/last entry */
	bool keep_alive;
};

/* One entry per request of a connection, in arrival order: either a request
 * in the ring (req != 0) or an answer known at once (line). */
struct pp_entry {
	uint64_t req;
	char *line;
	size_t len;
	struct pp_frame fr;
};

enum pp_conn_kind { PP_KIND_LINES = 0, PP_KIND_HTTP };

struct pp_conn {
	struct push_port *pp;
	struct pp_conn *prev, *next;
	struct event ev;
	int fd;
	bool want_write, paused, close_after_flush, dead;
	bool authed; /* push.secret: sent the right auth line */
	uint8_t kind; /* enum pp_conn_kind */
	bool continued; /* HTTP: sent "100 Continue" for the request being read */
	uint64_t key;
	struct buf in, out;
	struct ring fifo;     /* struct pp_entry, in arrival order */
	struct pp_frame fr;   /* framing of the entries being added */
	struct buf batch;     /* HTTP: the batch response being assembled */
	uint64_t last_active, partial_since; /* HTTP timeouts (clock_ms) */
};

struct push_port {
	struct event_base *base;
	const struct config *cfg;
	push_submit_fn *submit;
	void *arg;
	int lfd, spare_fd, http_fd;
	struct event *accept_ev, *sweep_ev, *reap_ev, *http_accept_ev;
	push_metrics_fn *metrics;
	push_ready_fn *ready;
	uint64_t next_http_check;
	struct pp_conn *conns, *dead;
	struct pp_slot *ring;
	size_t cap;
	uint64_t low, next; /* ids in [low, next) may be in use */
	uint64_t next_key;
	size_t pending;
	struct push_limits limits;
	struct push_port_stats st;
};

/* ---- push_port.c -------------------------------------------------------- */

/* Writes c->out to the socket until it would block (then waits for
 * EV_WRITE). May kill c: check c->dead afterwards. */
void push_port_conn_write(struct pp_conn *c);
/* Moves every answer that is next in order to the output and writes it;
 * kills c when more than gateway.max_output is queued. A connection paused
 * at PUSH_PORT_MAX_INFLIGHT resumes reading once half of that drained, so
 * this may parse more input too. May kill c. */
void push_port_conn_flush(struct pp_conn *c);
/* Closes c's socket and unlinks it; the free happens later, from the loop,
 * so c stays valid (c->dead) while its callbacks are on the stack. Requests
 * of c still in the ring stay there until answered or timed out, and their
 * answers are dropped. No-op when c is already dead. */
void push_port_conn_kill(struct pp_conn *c);
/* One command (text, len: a JSON object; borrowed for the call): counted,
 * parsed, then into the ring and to the submit callback, or answered at
 * once. Adds one FIFO entry framed as c->fr. May kill c (a submit failure
 * is answered, and flushed, at once). */
void push_port_conn_command(struct pp_conn *c, const char *text, size_t len);

/* ---- push_http.c -------------------------------------------------------- */

/* Writes one answer to c->out in an HTTP framing (fr->kind != PP_LINE):
 * text, len is the reply line, or a whole HTTP response for PP_HTTP_RAW. */
void push_http_emit(struct pp_conn *c, const struct pp_frame *fr, const char *text, size_t len);
/* Handles the complete requests in c->in (an HTTP connection): each becomes
 * FIFO entries, or ends the connection (c->close_after_flush) when it is
 * malformed or without keep-alive. Stops at PUSH_PORT_MAX_INFLIGHT entries.
 * Leaves the bytes of an incomplete request in c->in. May kill c. */
void push_http_parse(struct pp_conn *c);
/* The HTTP connections' timeouts (gateway.idle_timeout,
 * gateway.handshake_timeout), called from the port's sweep timer: does
 * nothing unless HTTP is served, and checks at most every 500 ms
 * (PP_HTTP_CHECK_MS). */
void push_http_sweep(struct push_port *pp, uint64_t now);

#endif
