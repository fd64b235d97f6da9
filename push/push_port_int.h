/*
 * push_port_int — what the push port gives its framings; included by
 * push_port.c and the framings (push_http.c) only. push_port.c owns the
 * port: listening sockets, connection lifetime and I/O, and the FIFO of
 * each connection's answers; it also is the JSON-lines framing. A framing
 * (struct pp_framing) turns the bytes read into c->in into entries of the
 * connection's FIFO and writes the answers in its form. The calls go one
 * way: a framing calls the port (push_port_conn_*), the port calls a
 * framing only through the ops it was given with the listening socket.
 */
#ifndef GATECAST_PUSH_PUSH_PORT_INT_H
#define GATECAST_PUSH_PUSH_PORT_INT_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ring.h"
#include "push/push_port.h"
#include "push/push_reply.h"
#include "push/push_table.h"

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

/* One entry per request of a connection, in arrival order: a request still
 * in the table (req != 0), or its answer (req == 0: line, error,
 * delivered). */
struct pp_entry {
	uint64_t req;
	char *line;
	size_t len;
	enum proto_error error;
	int64_t delivered;
	struct pp_frame fr;
};

struct pp_conn;
struct pp_listener;

/* Handles the complete requests in c->in: each becomes FIFO entries, or
 * ends the connection (c->close_after_flush). Stops at
 * PUSH_PORT_MAX_INFLIGHT entries; leaves the bytes of an incomplete request
 * in c->in. May kill c. */
typedef void pp_read_fn(struct pp_conn *c);
/* The peer closed with the c->in.len (> 0) bytes of an incomplete request
 * unread: may add a last entry. */
typedef void pp_eof_fn(struct pp_conn *c);
/* Writes one answer to c->out in the framing's form, for an entry framed
 * as fr; rep borrowed for the call. */
typedef void pp_emit_fn(struct pp_conn *c, const struct pp_frame *fr, const struct push_reply *rep);
/* The port's sweep timer (every 100 ms), for the framing's timeouts on the
 * connections of listener ln: may be NULL. */
typedef void pp_sweep_fn(struct pp_listener *ln, uint64_t now);
/* The port is freed: release the listener's farg. May be NULL. */
typedef void pp_fini_fn(void *farg);

struct pp_framing {
	pp_read_fn *read;
	pp_eof_fn *eof; /* NULL: nothing to say */
	pp_emit_fn *emit;
	pp_sweep_fn *sweep;
	pp_fini_fn *fini;
};

struct pp_listener {
	struct push_port *pp;
	int fd;
	struct event *ev;
	const struct pp_framing *f;
	void *farg; /* the framing's own state */
};

struct pp_conn {
	struct push_port *pp;
	struct pp_listener *ln; /* its framing */
	struct pp_conn *prev, *next;
	struct event ev;
	short armed;    /* the events ev waits for now */
	int fd;
	bool want_write, paused, close_after_flush, dead;
	bool busy, again; /* in push_port_conn_proceed; called again meanwhile */
	bool authed;    /* push.secret: sent the right auth line */
	bool continued; /* HTTP: sent "100 Continue" for the request being read */
	uint64_t key;
	struct buf in, out;
	struct ring fifo;     /* struct pp_entry, in arrival order */
	struct pp_frame fr;   /* framing of the entries being added */
	struct buf batch;     /* HTTP: the batch response being assembled */
	uint64_t last_active, partial_since; /* HTTP timeouts (clock_ms) */
};

#define PP_MAX_LISTENERS 2

struct push_port {
	struct event_base *base;
	const struct config *cfg;
	void *arg;              /* push_port_new's, for the framings' callbacks */
	int spare_fd;
	struct pp_listener ln[PP_MAX_LISTENERS];
	size_t n_ln;
	struct event *sweep_ev, *reap_ev;
	struct pp_conn *conns, *dead;
	struct push_table *table;
	struct push_port_stats st, view; /* the port's own counts; view adds the table's */
};

/* Listens on the bound socket fd (takes ownership) for connections in
 * framing f (borrowed; it must outlive the port), whose state farg is
 * handed to f->fini when the port is freed. At most PP_MAX_LISTENERS per
 * port (aborts beyond). */
void push_port_listen(struct push_port *pp, int fd, const struct pp_framing *f, void *farg);
/* Makes what progress c can: moves the answers that are next in order to
 * the output and writes it, resumes reading a connection paused at
 * PUSH_PORT_MAX_INFLIGHT once half of that drained (readable: also read
 * the socket), closes once a closing connection's answers are out, and
 * then waits for the events that can move it on. Kills c when more than
 * gateway.max_output is queued. Safe to call from within itself (the outer
 * call goes on). May kill c. */
void push_port_conn_proceed(struct pp_conn *c, bool readable);
/* Closes c's socket and unlinks it; the free happens later, from the loop,
 * so c stays valid (c->dead) while its callbacks are on the stack. Requests
 * of c still in the table are cancelled. No-op when c is already dead. */
void push_port_conn_kill(struct pp_conn *c);
/* One command (text, len: a JSON object; borrowed for the call) into the
 * table, or answered at once. Adds one FIFO entry framed as c->fr. */
void push_port_conn_command(struct pp_conn *c, const char *text, size_t len);
/* Adds an answer known at once (line taken, len bytes; error its code)
 * framed as fr. */
void push_port_conn_answer(struct pp_conn *c, const struct pp_frame *fr, char *line, size_t len,
	enum proto_error error);

#endif
