/*
 * exec — carries out a worker's order (PROTO_OP) on this gateway's
 * connections and fills in the result. Sends build their frame once and
 * queue it to every target connection; queries read the index.
 *
 * Client ids in an order that name another gateway are not ours: they count
 * as not found.
 */
#ifndef GATECAST_GATEWAY_EXEC_H
#define GATECAST_GATEWAY_EXEC_H

#include <stdint.h>

#include "proto/msg.h"
#include "proto/strvec.h"

struct conn_index;

struct exec_ctx {
	struct conn_index *ix;
	uint64_t self;   /* our member id (first half of our client ids) */
	uint32_t stamp;  /* grows per send */
	uint64_t delivered_total;
};

/* Executes cmd and writes the result into r. Strings in r point into
 * scratch (an empty strvec the caller owns) and live until it changes;
 * r->strs.v is malloc'ed: free it after encoding. */
void exec_op(struct exec_ctx *x, const struct proto_cmd *cmd, struct proto_result *r,
	struct strvec *scratch);

#endif
