/*
 * gather — a worker's requests in flight, each an op sent to some
 * gateways whose RESULTs are folded into one answer: counts added up,
 * strings collected, the first error kept. When every gateway answered (or
 * the deadline passed) gather_reply builds the REPLY: for send_to_uid the
 * uids nobody had (offline = asked − found), for the uid counts the number
 * of distinct uids, and "partial" when some gateways did not answer.
 *
 * Gathers live in an idring (common/idring.h): op ids grow by one and all
 * share worker.query_timeout, so the oldest expires first.
 *
 * Pure: no sockets, no clock, no sending (worker.c sends the ops and the
 * REPLY, and decides what a presence gather's answer becomes).
 */
#ifndef GATECAST_WORKER_GATHER_H
#define GATECAST_WORKER_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/idring.h"
#include "proto/msg.h"
#include "proto/strvec.h"

struct gather {
	struct idring_entry ie; /* ie.id: the op id */
	uint64_t origin;        /* gateway that gets the REPLY */
	uint64_t req;           /* its request id there */
	uint8_t type;           /* enum cmd_type */
	bool presence;          /* an online count, not a push request */
	uint32_t expected, answered;
	int64_t delivered, count;
	bool failed;
	struct buf error, message, session;
	struct strvec found; /* strings from the results */
	struct strvec asked; /* send_to_uid: the uids asked for; presence: the group */
};

struct gather_table {
	struct idring ring;
};

/* Room for cap (> 0) gathers. Aborts when out of memory. */
void gather_table_init(struct gather_table *t, size_t cap);
/* Frees every gather still open, and the table. */
void gather_table_fini(struct gather_table *t);
/* Opens a gather with the next op id (g->ie.id) that expires at deadline
 * (the caller's clock; not before the deadlines given earlier). Returns it
 * zeroed but for its id and deadline, or NULL when cap are open. Valid
 * until gather_free. */
struct gather *gather_new(struct gather_table *t, uint64_t deadline);
/* The open gather of op id op, or NULL (never opened, or freed: a late
 * RESULT). */
struct gather *gather_get(const struct gather_table *t, uint64_t op);
/* Closes g and frees what it holds. */
void gather_free(struct gather_table *t, struct gather *g);
/* Gathers open. */
size_t gather_open(const struct gather_table *t);
/* Is the table full (gather_new would return NULL)? */
bool gather_full(const struct gather_table *t);

/* Called for a gather whose deadline passed: must free it. */
typedef void gather_expire_fn(void *arg, struct gather *g);
/* Calls fn for every open gather whose deadline is <= now, oldest first.
 * Returns how many. */
size_t gather_expire(struct gather_table *t, uint64_t now, gather_expire_fn *fn, void *arg);

/* Folds one gateway's RESULT (borrowed; its strings are copied) into g.
 * Returns true when every expected gateway has answered. */
bool gather_fold(struct gather *g, const struct proto_result *r);
/* Fills *out (zeroed by the caller) with g's REPLY: id = g->req. Its
 * strings point into g, and out->strs.v is allocated (free() it; NULL when
 * empty): both stay valid until g changes or is freed. */
void gather_reply(const struct gather *g, struct proto_result *out);

#endif
