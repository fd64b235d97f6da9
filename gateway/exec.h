/*
 * exec — carries out a worker's order (PROTO_OP) on this gateway's
 * connections and fills in the result. Sends build their frame once and
 * queue it to every target connection; queries read the index.
 *
 * Client ids in an order that name another gateway are not ours: they count
 * as not found.
 *
 * A join_group marked from_client is a client's own request (the app passes
 * its reply as data): it is subject to the client's token (auth.mode =
 * token: only groups its "groups" claim allows) and gateway.max_groups, and
 * the client gets either the data or an error frame. A join from the push
 * port is the backend's and only bounded by max_groups.
 *
 * Every change to a group's members — a join, a leave, an ungroup, a uid
 * bound to or unbound from a member — is reported to the function given to
 * exec_on_group_change (the gateway's online counts, presence_watch.h).
 *
 * exec does no I/O: it reaches the connections through an ops table
 * (struct exec_ops), so it runs and is tested without sockets.
 */
#ifndef GATECAST_GATEWAY_EXEC_H
#define GATECAST_GATEWAY_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/msg.h"
#include "proto/strvec.h"

struct client;
struct config;
struct conn_index;
struct exec_ctx;
struct ws_out;

/* The members of group (len bytes, borrowed for the call) changed. It must
 * not change the index. */
typedef void exec_group_fn(void *arg, const char *group, size_t len);

/* Why exec closes a connection (the ops map it to a close code). */
enum exec_close {
	EXEC_CLOSE_BY_APP,        /* close_client */
	EXEC_CLOSE_TOO_MANY_TABS, /* the oldest tab of a uid at max_connections_per_uid */
};

/* How exec reaches the connections: exec itself does no I/O. */
struct exec_ops {
	/* Queues f (borrowed: the callee takes its own reference) to cl's
	 * connection. Returns 0, or a negative errno when it was not queued
	 * (closing, output bound passed): it does not count as delivered. */
	int (*send)(void *arg, struct client *cl, struct ws_out *f);
	/* Starts closing cl's connection (cl stays valid: it is freed later,
	 * from the loop). */
	void (*close)(void *arg, struct client *cl, enum exec_close why);
	/* True while cl's connection is open (not closing or closed). */
	bool (*is_open)(void *arg, const struct client *cl);
};

/* What exec counts, for /metrics. */
struct exec_stats {
	uint64_t delivered;       /* frames queued by sends */
	uint64_t logins;          /* connections bound to a uid they did not have */
	uint64_t closed_too_many; /* oldest tab closed for max_connections_per_uid */
};

/* An exec over the connections in ix, reached through ops (ops and arg
 * borrowed for its life, as are ix and cfg, whose gateway.max_groups and
 * gateway.max_connections_per_uid are read at each use; cfg may be NULL
 * only for a test that never joins). self is our member id (the first half
 * of our client ids); token_mode is auth.mode = token (a client's own join
 * needs its token's groups). Never fails. */
struct exec_ctx *exec_new(struct conn_index *ix, const struct config *cfg, uint64_t self,
	bool token_mode, const struct exec_ops *ops, void *arg);
/* NULL is fine. */
void exec_free(struct exec_ctx *x);
/* Reports every change of a group's members to fn(arg, …) from now on
 * (arg borrowed; fn NULL: nobody listens, the default). */
void exec_on_group_change(struct exec_ctx *x, exec_group_fn *fn, void *arg);
struct exec_stats exec_stats(const struct exec_ctx *x);

/* Binds uid to cl; when the uid already has gateway.max_connections_per_uid
 * connections here, the oldest is closed (4008) to make room. Counts a login
 * unless cl was bound to this uid already. */
void exec_bind(struct exec_ctx *x, struct client *cl, const char *uid, size_t len);

/* Executes cmd and writes the result into r. Strings in r point into
 * scratch (an empty strvec the caller owns) and live until it changes;
 * r->strs.v is malloc'ed: free it after encoding. pushed_us (the OP's, 0 when
 * the order did not come from a push) is stamped on the frames of sends and
 * of close_client's final message, so their writes are timed (ws_server.h). */
void exec_op(struct exec_ctx *x, const struct proto_cmd *cmd, uint64_t pushed_us,
	struct proto_result *r, struct strvec *scratch);

#endif
