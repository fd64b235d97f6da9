/*
 * exec — carries out a worker's order (PROTO_OP) on this gateway's
 * connections and fills in the result. Sends build their frame once and
 * queue it to every target connection; queries read the index.
 *
 * Client ids in an order that name another gateway are not ours: they count
 * as not found.
 *
 * A join_group that carries data is a client's own request (the app passes
 * its reply as data): it is subject to the client's token (auth.mode =
 * token: only groups its "groups" claim allows) and gateway.max_groups, and
 * the client gets either data or an error frame. A join from the push port
 * (no data) is the backend's and only bounded by max_groups.
 *
 * Every change to a group's members — a join, a leave, an ungroup, a uid
 * bound to or unbound from a member — is reported through group_changed
 * (the gateway's online counts, presence_watch.h).
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

/* The members of group (len bytes, borrowed for the call) changed. It must
 * not change the index. */
typedef void exec_group_fn(void *arg, const char *group, size_t len);

struct exec_ctx {
	struct conn_index *ix;
	const struct config *cfg;
	bool token_mode; /* auth.mode = token: client joins need the token's groups */
	uint64_t self;   /* our member id (first half of our client ids) */
	uint32_t stamp;  /* grows per send */
	uint64_t delivered_total;
	uint64_t logins;          /* connections bound to a uid they did not have */
	uint64_t closed_too_many; /* oldest tab closed for max_connections_per_uid */
	exec_group_fn *group_changed; /* NULL: nobody listens */
	void *group_arg;
};

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
