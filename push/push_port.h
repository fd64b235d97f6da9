/*
 * push_port — the internal push port: newline-delimited JSON requests from
 * the application's backend, exactly one reply line per request, in request
 * order, any number pipelined.
 *
 * Each valid line becomes a request with a gateway-unique id handed to the
 * submit callback (which routes it to a worker); the reply comes back through
 * push_port_complete. Every request is answered: by its REPLY, by
 * push_port_fail (e.g. no worker in time), or by "timeout" when
 * gateway.request_timeout passes. With push.secret set, the first line of a
 * connection must be {"type":"auth","secret":"…"} (compared in constant
 * time); anything else is answered "unauthorized" and the connection ends.
 * Lines over gateway.max_line get a
 * "too_large" reply and the connection is closed; any other bad line gets an
 * error reply and the connection stays.
 *
 * Bounds: at most gateway.max_pending requests in flight per gateway
 * ("overloaded" beyond), at most PUSH_PORT_MAX_INFLIGHT per connection (then
 * the port stops reading that connection until replies drain), and at most
 * gateway.max_output bytes of unread replies per connection (then it is
 * closed).
 *
 * The same port also serves HTTP (http.listen, push_http_listen): each
 * HTTP request becomes one entry of its connection's FIFO (several for
 * /api/batch, one per command) and goes through the same ring, timeouts and
 * submit callback; when the entries of a request are all answered, the
 * response is written. Routes: POST /api/<command>, POST /api/batch,
 * web-msg-sender's GET|POST / (type=publish&to=&content=), GET /healthz,
 * /readyz, /metrics. With push.secret set, all but the last three need
 * "Authorization: Bearer <push.secret>". An HTTP connection closes after
 * gateway.idle_timeout without a request, or when a started request is not
 * complete within gateway.handshake_timeout.
 *
 * The requests themselves, their ids, timeouts and answers are the table's
 * (push_table.h), which other consumers use directly (the demo's POST
 * /demo/push on the WebSocket port, push_port_table). The HTTP framing is
 * push_http.h's.
 */
#ifndef GATECAST_PUSH_PUSH_PORT_H
#define GATECAST_PUSH_PUSH_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/msg.h"
#include "push/push_table.h"

struct config;
struct event_base;
struct push_port;

#define PUSH_PORT_MAX_INFLIGHT 4096

struct push_port_stats {
	uint64_t connections, requests, replies, errors, timeouts, unauthorized;
	uint64_t results[CMD__COUNT][PUSH_RESULT__COUNT]; /* answered, by command and outcome */
};

/* Listens for JSON lines on the bound socket fd (takes ownership); its
 * table (gateway.max_pending requests, gateway.request_timeout) hands
 * requests to submit(arg, …). Aborts when out of memory. */
struct push_port *push_port_new(struct event_base *base, const struct config *c, int fd,
	push_submit_fn *submit, void *arg);
/* Requests of other consumers still waiting are dropped without their
 * done: cancel them first. NULL is fine. */
void push_port_free(struct push_port *pp);
/* Stops accepting new connections (existing ones are answered). */
void push_port_stop_accepting(struct push_port *pp);
/* Requests still waiting for an answer. */
size_t push_port_pending(const struct push_port *pp);
/* The port's counts with its table's; valid until the next call. */
const struct push_port_stats *push_port_stats(struct push_port *pp);
/* The port's request table, for consumers without a connection here (the
 * demo's POST /demo/push): borrowed, it lives as long as the port. */
struct push_table *push_port_table(struct push_port *pp);

/* A REPLY arrived: r->id is the request id. Unknown or expired ids are
 * ignored (the request was already answered "timeout"). */
void push_port_complete(struct push_port *pp, const struct proto_result *r);
/* Answers request req with an error now: code is an error's name
 * (proto/error.h; one it does not know is answered "internal"). No-op when
 * already answered. */
void push_port_fail(struct push_port *pp, uint64_t req, const char *code, const char *message);

#endif
