/*
 * push_table — the push requests in flight on one gateway: ids, deadlines,
 * and the answer of each. A command's text goes in (push_table_submit:
 * parsed, shown to a filter, given an id and handed to the submit function
 * that routes it to a worker); its answer comes out exactly once, to the
 * done function its consumer gave: by the worker's REPLY
 * (push_table_complete), by push_table_fail (e.g. no worker in time), or by
 * "timeout" once gateway.request_timeout passed (push_table_expire).
 *
 * Consumers are the push port's connections (push_port.c) and the demo's
 * POST /demo/push (gateway.c). A consumer that goes away first cancels: the
 * request goes on (a send may still be delivered) and its answer is
 * dropped.
 *
 * Pure: no sockets, no event loop, no clock (every time is passed in, in
 * clock_ms, so gateway.request_timeout is read afresh by the caller of each
 * submit and a reload applies to the next request). Not here: framings
 * (lines, HTTP) and what a connection does with an answer.
 */
#ifndef GATECAST_PUSH_PUSH_TABLE_H
#define GATECAST_PUSH_PUSH_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/error.h"
#include "proto/msg.h"
#include "push/push_cmd.h"
#include "push/push_reply.h"

struct push_table;

/* Hands a parsed request to the cluster. key routes it (all requests of
 * one push connection share a key, so they reach one worker in order). cmd
 * is borrowed for the call. Returns 0, or a negative errno: the request is
 * then answered at once with *code (set by the callee; PROTO_ERR_NONE
 * reads as PROTO_ERR_INTERNAL) and *message (a static string, or NULL). */
typedef int push_submit_fn(void *arg, uint64_t req, uint64_t key, const struct proto_cmd *cmd,
	enum proto_error *code, const char **message);
/* A consumer's policy: sees the parsed command before it runs. Returns 0 to
 * let it run, or nonzero with *code (PROTO_ERR_NONE reads as
 * PROTO_ERR_FORBIDDEN) and *message (a static string) set: the command is
 * then answered at once with that error. */
typedef int push_filter_fn(void *arg, const struct proto_cmd *cmd, enum proto_error *code,
	const char **message);
/* The answer to request req. rep and what it points to are borrowed for the
 * call. Called from push_table_complete, _fail or _expire, after the
 * request left the table: it may submit, cancel or answer other requests. */
typedef void push_done_fn(void *arg, uint64_t req, const struct push_reply *rep);

/* How a push command that reached a worker (or was refused) ended. */
enum push_result { PUSH_OK, PUSH_PARTIAL, PUSH_ERROR, PUSH_TIMEOUT, PUSH_RESULT__COUNT };

struct push_table_stats {
	uint64_t requests; /* commands submitted, parsed or not */
	uint64_t errors;   /* of them, answered with an error */
	uint64_t timeouts; /* of them, answered "timeout" by push_table_expire */
	uint64_t results[CMD__COUNT][PUSH_RESULT__COUNT]; /* answered, by command and outcome */
};

/* A table of cap (> 0) requests at most; commands are parsed within lim
 * (copied). submit is called with arg. Aborts when out of memory. */
struct push_table *push_table_new(size_t cap, const struct push_limits *lim, push_submit_fn *submit,
	void *arg);
/* Requests still in flight are dropped without their done. NULL is fine. */
void push_table_free(struct push_table *t);
/* A routing key no one else has (for a connection, or one request). */
uint64_t push_table_key(struct push_table *t);

/* One command: text (a JSON object, len bytes, borrowed) is counted and
 * parsed, shown to filter (NULL: none), then handed to the submit function
 * on key. Returns the request id (> 0): done(arg, id, …) follows exactly
 * once, never from within this call, unless push_table_cancel(t, id) comes
 * first. Or 0: the command was answered at once (bad JSON, refused by
 * filter, the table full, the submit function failed): its error reply
 * line is appended to reply, its code stored in *code (may be NULL), and
 * done is never called. filter gets arg too. deadline is when the request
 * is answered "timeout" (push_table_expire), not before the deadlines
 * given earlier but for a shrunk timeout (idring.h). */
uint64_t push_table_submit(struct push_table *t, uint64_t deadline, const char *text, size_t len,
	uint64_t key, push_filter_fn *filter, push_done_fn *done, void *arg, struct buf *reply,
	enum proto_error *code);
/* The consumer of request req went away: its done is not called. No-op for
 * an id that is unknown or answered. */
void push_table_cancel(struct push_table *t, uint64_t req);
/* A REPLY arrived: r->id is the request id (r borrowed). Unknown or
 * answered ids are ignored (the request was already answered "timeout"). */
void push_table_complete(struct push_table *t, const struct proto_result *r);
/* Answers request req with an error now (message NULL: ""). No-op when
 * already answered. */
void push_table_fail(struct push_table *t, uint64_t req, enum proto_error code,
	const char *message);
/* Answers "timeout" every request whose deadline is now or earlier, oldest
 * first up to the first one still in time. Returns how many. */
size_t push_table_expire(struct push_table *t, uint64_t now);
/* Requests waiting for an answer. */
size_t push_table_pending(const struct push_table *t);
const struct push_table_stats *push_table_stats(const struct push_table *t);

#endif
