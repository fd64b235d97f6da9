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
 * The same port also serves HTTP (http.listen, push_port_listen_http): each
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
 * push_port_submit lets a caller without a connection here (the demo's
 * POST /demo/push on the WebSocket port) use the same ring: its request's
 * answer goes to a callback instead of a FIFO, and push_port_cancel
 * detaches it when the caller's connection ends first.
 */
#ifndef GATECAST_PUSH_PUSH_PORT_H
#define GATECAST_PUSH_PUSH_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/msg.h"

struct config;
struct event_base;
struct push_port;

#define PUSH_PORT_MAX_INFLIGHT 4096

/* Hands a parsed request to the cluster. key routes it (all requests of
 * one push connection share a key, so they reach one worker in order). cmd
 * is borrowed for the call. Returns 0, or a negative errno: the port then
 * answers the request at once with error_code (set by the callee, a static
 * string) and a message. */
typedef int push_submit_fn(void *arg, uint64_t req, uint64_t key, const struct proto_cmd *cmd,
	const char **error_code, const char **message);

/* GET /metrics: appends Prometheus text (format 0.0.4) to out. */
typedef void push_metrics_fn(void *arg, struct buf *out);
/* GET /readyz: can this gateway serve requests now? */
typedef bool push_ready_fn(void *arg);

/* How a push command that reached a worker (or was refused) ended. */
enum push_result { PUSH_OK, PUSH_PARTIAL, PUSH_ERROR, PUSH_TIMEOUT, PUSH_RESULT__COUNT };

struct push_port_stats {
	uint64_t connections, requests, replies, errors, timeouts, unauthorized;
	uint64_t results[CMD__COUNT][PUSH_RESULT__COUNT]; /* answered, by command and outcome */
};

/* Listens on the bound socket fd (takes ownership). */
struct push_port *push_port_new(struct event_base *base, const struct config *c, int fd,
	push_submit_fn *submit, void *arg);
/* Requests of push_port_submit still waiting are dropped without their
 * done: cancel them first. */
void push_port_free(struct push_port *pp);
/* Also serves HTTP on the bound socket fd (takes ownership). metrics and
 * ready are called with the arg given to push_port_new. */
void push_port_listen_http(struct push_port *pp, int fd, push_metrics_fn *metrics,
	push_ready_fn *ready);
/* Stops accepting new connections (existing ones are answered). */
void push_port_stop_accepting(struct push_port *pp);
/* Requests still waiting for an answer. */
size_t push_port_pending(const struct push_port *pp);
const struct push_port_stats *push_port_stats(const struct push_port *pp);

/* The answer to a command of push_port_submit: line, len is its reply line
 * (newline included; borrowed for the call). */
typedef void push_done_fn(void *arg, const char *line, size_t len);
/* A policy for push_port_submit: sees the parsed command before it runs.
 * Returns 0 to let it run, or nonzero with *error_code (a static string)
 * and *message set: the command is then answered with that error. */
typedef int push_filter_fn(void *arg, const struct proto_cmd *cmd, const char **error_code,
	const char **message);

/* One command from somewhere other than the push and HTTP ports (the demo's
 * POST /demo/push on the WebSocket port). text (a JSON object, len bytes,
 * borrowed) is counted and parsed like a push line, shown to filter (NULL:
 * none), then goes through the same ring, submit callback and
 * gateway.request_timeout, on a routing key of its own. push.secret is not
 * asked for: whoever calls decides who may. Returns the request id (> 0):
 * done(arg, …) follows exactly once, from the event loop and never from
 * within this call, unless push_port_cancel(pp, id) comes first. Or 0: the
 * command was answered at once (bad JSON, refused by filter, overloaded,
 * the submit callback failed): its reply line is appended to now, and done
 * is never called. filter gets arg too. */
uint64_t push_port_submit(struct push_port *pp, const char *text, size_t len,
	push_filter_fn *filter, push_done_fn *done, void *arg, struct buf *now);
/* The consumer of request req (push_port_submit) went away: its done is not
 * called. The request itself goes on (a send may still be delivered) and
 * its answer is dropped. No-op for an id that is unknown or answered. */
void push_port_cancel(struct push_port *pp, uint64_t req);

/* A REPLY arrived: r->id is the request id. Unknown or expired ids are
 * ignored (the request was already answered "timeout"). */
void push_port_complete(struct push_port *pp, const struct proto_result *r);
/* Answers request req with an error now (no-op when already answered). */
void push_port_fail(struct push_port *pp, uint64_t req, const char *code, const char *message);

#endif
